"""Reading damaged or oddly encoded source files without losing the entries that are still good.

A response file is decoded once, as a whole: a byte-order mark is accepted (and dropped), UTF-16
and UTF-32 (with a BOM, or told by their zero bytes) are decoded to UTF-8, so no entry is lost to
an encoding and no line gets a quarantine row of its own for it.

When a JSON response does not parse as a whole, `salvage_json_array` splits the array of entries
that the format keeps them in (OpenAlex `results`, Semantic Scholar `data`, a Hugging Face list)
and parses each entry alone: the good ones come through, each broken one becomes a `Damaged`
placeholder with its index, byte offset and the parser's message, which the source turns into a
quarantine row. A damaged XML response is read by lxml's recovering parser for its header (totals,
resumption token) and element by element for its entries (`parse_xml_elements`): every entry that
parses on its own is kept, the others are quarantined with their byte offset and the error.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class EncodingProblem(ValueError):
    """A whole file in an encoding that cannot be read: one clear error, not one per line."""


def detect_encoding(head: bytes) -> tuple[str, int]:
    """(encoding, BOM length) of a file from its first bytes; UTF-8 unless a BOM or zero bytes say otherwise.

    JSON and XML start with an ASCII character, so UTF-16/32 without a BOM show themselves by where
    the zero bytes fall in the first four.
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    if len(head) >= 4:
        if head[1:4] == b"\0\0\0":
            return "utf-32-le", 0
        if head[:3] == b"\0\0\0":
            return "utf-32-be", 0
        if head[0] and not head[1] and head[2] and not head[3]:
            return "utf-16-le", 0
        if not head[0] and head[1] and not head[2] and head[3]:
            return "utf-16-be", 0
    return "utf-8", 0


def as_utf8(data: bytes, name: str = "input") -> bytes:
    """`data` as UTF-8 bytes without a BOM; raises EncodingProblem naming the file and encoding."""
    encoding, skip = detect_encoding(data[:4])
    if encoding == "utf-8":
        return data[skip:] if skip else data
    try:
        return data[skip:].decode(encoding).encode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise EncodingProblem(f"{name}: looks like {encoding} but does not decode as it ({exc})") from exc


@dataclass(frozen=True, slots=True)
class Damaged:
    """An entry of a damaged response that could not be parsed on its own."""

    index: int
    offset: int  # byte offset of the entry in the file
    reason: str
    raw: str

    def where(self, label: str, key: str | None) -> str:
        path = f"{key}[{self.index}]" if key else f"[{self.index}]"
        return f"{label}:{path} (byte {self.offset})"


# The bytes that can change the structure outside a string, and those that end or escape inside one.
_STRUCTURE = re.compile(rb'["\[\]{},]')
_IN_STRING = re.compile(rb'["\\]')


def _array_start(data: bytes, key: str | None) -> int | None:
    if key is None:
        stripped = data.lstrip()
        return len(data) - len(stripped) if stripped[:1] == b"[" else None
    match = re.search(rb'"' + re.escape(key.encode()) + rb'"\s*:\s*\[', data)
    return match.end() - 1 if match else None


def json_array_spans(data: bytes, key: str | None = None) -> list[tuple[int, int, bool]] | None:
    """(start, end, finished) byte spans of the entries of the JSON array at top level (`key`
    None) or under `"key": [`, found by scanning brackets and strings, not by parsing; None when no
    such array is found. An array cut short ends with an unfinished span."""
    start = _array_start(data, key)
    if start is None:
        return None
    spans: list[tuple[int, int, bool]] = []
    depth = 0
    pos = start + 1
    item_start = pos

    def close(end: int, finished: bool = True) -> None:
        chunk = data[item_start:end]
        if chunk.strip():
            spans.append((item_start + len(chunk) - len(chunk.lstrip()), end, finished))

    while True:
        match = _STRUCTURE.search(data, pos)
        if match is None:
            break
        char = match.group()
        pos = match.end()
        if char == b'"':
            while True:  # to the end of the string, past escaped characters
                inner = _IN_STRING.search(data, pos)
                if inner is None:
                    pos = len(data)
                    break
                pos = inner.end() + (1 if inner.group() == b"\\" else 0)
                if inner.group() == b'"':
                    break
            continue
        if char in b"[{":
            depth += 1
        elif char in b"]}":
            if depth == 0:  # the end of the array
                close(match.start())
                return spans
            depth -= 1
        elif depth == 0:  # a comma between entries
            close(match.start())
            item_start = pos
    close(len(data), finished=False)
    return spans


def salvage_json_array(data: bytes, key: str | None = None) -> list[Any | Damaged] | None:
    """The entries of the JSON array at top level (`key` None) or under `"key": [`, each parsed
    alone; None when no such array is found. Broken entries come back as `Damaged`, and an array
    cut short ends with one for its unfinished entry."""
    spans = json_array_spans(data, key)
    if spans is None:
        return None
    return _parse_spans(data, spans)


def load_json_salvaging(data: bytes | str, label: str, keys: tuple[str | None, ...] = (None,)) -> Any:
    """A decoded JSON response; when the whole does not parse, the first list found under one of
    `keys` (None: a top-level array) keeps every entry that parses on its own, as `{key: entries}`
    (or the bare list). Raises ValueError (EncodingProblem is one) naming what was wrong; each
    source turns it into its own BadRecord."""
    raw = as_utf8(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data, label)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        for key in keys:
            entries = salvage_json_array(raw, key)
            if entries:
                return entries if key is None else {key: entries}
        raise ValueError(f"invalid JSON: {exc}") from exc


def _parse_spans(data: bytes, spans: list[tuple[int, int, bool]], first_index: int = 0) -> list[Any | Damaged]:
    items: list[Any | Damaged] = []
    for index, (begin, end, finished) in enumerate(spans, start=first_index):
        chunk = data[begin:end]
        if not finished:
            items.append(Damaged(index, begin, "response cut short inside this entry", _raw(chunk)))
            continue
        try:
            items.append(orjson.loads(chunk))
        except orjson.JSONDecodeError as exc:
            items.append(Damaged(index, begin, f"invalid JSON: {exc}", _raw(chunk)))
    return items


def _raw(chunk: bytes) -> str:
    return chunk[:2000].decode("utf-8", "replace")


_ROOT_START = re.compile(rb"<(?![?!])[^>]*>")


def _element_bounds(name: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    prefix = rb"<(?:[\w.-]+:)?"
    return re.compile(prefix + name + rb"[\s>/]"), re.compile(rb"</(?:[\w.-]+:)?" + name + rb"\s*>")


def split_xml_elements(data: bytes, local_name: str) -> list[tuple[int, bytes, bool]]:
    """(byte offset, bytes, closed) of every `<local_name>` element of a document, found by its tags
    rather than by parsing, so one damaged element leaves the others whole. An element whose
    closing tag is missing runs to the next opening tag (or the end) and has closed=False."""
    start_tag, end_tag = _element_bounds(local_name.encode())
    out: list[tuple[int, bytes, bool]] = []
    pos = 0
    while True:
        start = start_tag.search(data, pos)
        if start is None:
            return out
        following = start_tag.search(data, start.end())
        end = end_tag.search(data, start.end())
        if end is not None and (following is None or end.end() <= following.start()):
            out.append((start.start(), data[start.start():end.end()], True))
            pos = end.end()
        else:
            stop = following.start() if following is not None else len(data)
            out.append((start.start(), data[start.start():stop], False))
            pos = stop


def parse_xml_elements(
    data: bytes, local_name: str, parser_options: dict[str, Any]
) -> tuple[Any, list[XmlPiece]]:
    """A damaged XML document read element by element: (the document's root as lxml's recovering
    parser saw it, or None; and for each `<local_name>` element, (offset, element or None, error)).

    Each element is parsed strictly on its own, inside a copy of the root's start tag so that its
    namespaces resolve: the ones that parse are kept whole, the others carry the parser's message.
    """
    from lxml import etree  # lxml is the sources' XML parser; imported here to keep this module light

    recovered = etree.fromstring(data, etree.XMLParser(recover=True, **parser_options))
    if recovered is not None:
        shell = etree.tostring(etree.Element(recovered.tag, nsmap=recovered.nsmap))
        opening, closing = shell[:-2] + b">", b"</" + shell[1:].split(None, 1)[0].rstrip(b"/>") + b">"
    else:
        match = _ROOT_START.search(data)
        opening = match.group() if match else b"<root>"
        name = re.match(rb"<([^\s>/]+)", opening)
        closing = b"</" + (name.group(1) if name else b"root") + b">"
    strict = etree.XMLParser(**parser_options)
    found: list[XmlPiece] = []
    for offset, chunk, closed in split_xml_elements(data, local_name):
        if not closed:
            found.append(XmlPiece(offset, None, f"<{local_name}> element cut short (no closing tag)", _raw(chunk)))
            continue
        try:
            wrapper = etree.fromstring(opening + chunk + closing, strict)
        except etree.XMLSyntaxError as exc:
            found.append(XmlPiece(offset, None, f"damaged XML: {exc}", _raw(chunk)))
            continue
        element = next(iter(wrapper), None)
        found.append(XmlPiece(offset, element, None if element is not None else "empty element", _raw(chunk)))
    return recovered, found


@dataclass(frozen=True, slots=True)
class XmlPiece:
    """One element of a damaged XML document: parsed (`element`), or not (`error` says why)."""

    offset: int
    element: Any
    error: str | None
    raw: str


# --------------------------------------------------------------------------- bounded line reading

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024  # settings: max_line_bytes


@dataclass(frozen=True, slots=True)
class OversizedLine:
    """A line longer than the limit: skipped without being held in memory; `size` is its length."""

    size: int

    def reason(self, limit: int) -> str:
        return f"line of {self.size:,} bytes is longer than the limit of {limit:,} bytes (max_line_bytes)"


def bounded_lines(handle: IO[bytes], limit: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[bytes | OversizedLine]:
    """The lines of a binary file, as UTF-8, never holding more than `limit` bytes of one line.

    The whole file's encoding is told once from its first bytes: a UTF-8 BOM is dropped, UTF-16 and
    UTF-32 are decoded. A longer line is read past in chunks and comes out as an OversizedLine.
    """
    peek = getattr(handle, "peek", None)
    head = peek(4)[:4] if peek else b""
    encoding, bom = detect_encoding(head)
    if bom:
        handle.read(bom)
    if encoding == "utf-8":
        readline = handle.readline
    else:
        text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")

        def readline(size: int = -1) -> bytes:
            return text.readline(size).encode("utf-8", "surrogatepass")

    while True:
        line = readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while True:
            more = readline(1 << 20)
            size += len(more)
            if not more or more.endswith(b"\n"):
                break
        yield OversizedLine(size)
