"""The arXiv metadata snapshot: Kaggle's `arxiv-metadata-oai-snapshot.json`, one JSON object a line.

The snapshot is a download (millions of lines, several GB), so there is no `fetch_` function here:
users point `read_files` at the file, plain or gzip-compressed (told apart by the gzip magic bytes,
never by the file name). Reading streams line by line in bounded memory and yields `Batch`es of
`batch_size` records, each with a cursor that lets ingest resume after a kill.

Cursor format: ``"<path>:<n>"`` where ``<path>`` is the file exactly as given to `read_files` and
``<n>`` is the number of lines of that file already consumed (the 0-based index of the next line to
read). A batch at the end of a file carries ``"<next path>:0"``, and the last batch of the last file
carries None. `read_files(paths, cursor=...)` picks up there; a bare number is accepted as a cursor
into the first file, and is the same as `start_line`. Malformed positions are ``"<path>:<line>"``
with 1-based line numbers, so cursor ``"f:200"`` resumes at the line a human calls 201.

This is the hot path of a full import (about 2.7M lines), so the per-line work is kept small:
orjson, dates split by hand rather than by strptime or regex, no per-line regex compile.
"""

from __future__ import annotations

import gc
import gzip
import os
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from typing import IO

import orjson

from paperscope.core.ids import InvalidId, normalise_doi, parse_arxiv_id
from paperscope.core.records import AuthorRecord, Batch, Malformed, Origin, PaperRecord
from paperscope.sources.recovery import DEFAULT_MAX_LINE_BYTES, OversizedLine, bounded_lines

SOURCE = "arxiv_snapshot"
GZIP_MAGIC = b"\x1f\x8b"
RAW_LIMIT = 2000

_MONTHS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
    "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip

PathLike = str | os.PathLike[str]


class _BadRecord(ValueError):
    """A field that makes the whole record unusable; becomes a Malformed with this message."""


def open_snapshot(path: PathLike) -> IO[bytes]:
    """Open a snapshot file for binary reading, decompressing when it starts with the gzip magic."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb", buffering=1 << 20)


def iter_snapshot_lines(
    path: PathLike, start_line: int = 0, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | OversizedLine]]:
    """(1-based line number, raw UTF-8 line bytes) for every line of `path` after the first
    `start_line`; a line longer than `max_line_bytes` comes as an OversizedLine, never read whole.
    A BOM is dropped and a UTF-16 or UTF-32 file decoded (sources/recovery.py)."""
    with open_snapshot(path) as handle:
        lines = bounded_lines(handle, max_line_bytes)
        yield from enumerate(islice(lines, start_line, None), start=start_line + 1)


def parse_version_date(text: str) -> date:
    """Date of a version stamp like "Mon, 2 Apr 2007 19:18:42 GMT". Raises ValueError otherwise."""
    parts = text.split()
    if len(parts) < 4 or parts[2] not in _MONTHS:
        raise ValueError(f"not a version date: {text!r}")
    return date(int(parts[3]), _MONTHS[parts[2]], int(parts[1]))


def _collapse(value: object) -> str | None:
    """Whitespace runs (the snapshot's hard line breaks and indents) to one space; LaTeX kept."""
    if not isinstance(value, str):
        return None
    # Most values only need their line breaks turned into spaces; split/join costs 4x more.
    text = value.strip().replace("\n", " ")
    if "  " in text or "\t" in text or "\r" in text:
        text = " ".join(text.split())
    return text or None


def _author_name(parts: object) -> str | None:
    """[last, first, suffix, ...] -> "First Last Suffix", the way the paper prints it."""
    if type(parts) is list and len(parts) == 3:
        last, first, suffix = parts
        if type(last) is str and type(first) is str and type(suffix) is str:
            name = f"{first} {last} {suffix}".strip() if suffix else f"{first} {last}".strip()
            return (" ".join(name.split()) if "  " in name else name) or None
    if not isinstance(parts, list) or not parts:
        return None
    ordered = [parts[1] if len(parts) > 1 else "", parts[0], *parts[2:]]
    return " ".join(p.strip() for p in ordered if isinstance(p, str) and p.strip()) or None


def _authors(obj: dict) -> list[AuthorRecord]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = [_author_name(parts) for parts in parsed]
    else:
        # Only when authors_parsed is missing: the free-text list, "A, B and C".
        text = _collapse(obj.get("authors")) or ""
        names = [n.strip() for n in text.replace(" and ", ", ").split(",")]
    return [AuthorRecord(name=n) for n in names if n]


def _doi(raw: object) -> tuple[str | None, str | None]:
    """(normalised first DOI, raw text when it could not be normalised)."""
    if not isinstance(raw, str) or not raw.strip():
        return None, None
    first = raw.split()[0].rstrip(",;")
    try:
        return normalise_doi(first), None
    except InvalidId:
        return None, raw.strip()


def _versions(obj: dict) -> tuple[int | None, date | None, date | None]:
    """(last version number, date of v1, date of the last change): update_date, else last version."""
    versions = obj.get("versions")
    update = obj.get("update_date")
    try:
        updated = date.fromisoformat(update) if isinstance(update, str) and update else None
    except ValueError as exc:
        raise _BadRecord(f"impossible update_date {update!r}") from exc
    if not isinstance(versions, list) or not versions:
        return None, None, updated
    try:
        first, last = versions[0], versions[-1]
        label = last.get("version")
        number = int(label.lstrip("v")) if label else None
        published = parse_version_date(first["created"]) if first.get("created") else None
        if updated is None and last.get("created"):
            updated = parse_version_date(last["created"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise _BadRecord(f"bad versions entry: {exc}") from exc
    return number, published, updated


def parse_snapshot_record(obj: object, position: str, raw: str | None = None) -> PaperRecord | Malformed:
    """One decoded snapshot object -> PaperRecord, or Malformed saying what was wrong."""
    if not isinstance(obj, dict):
        return Malformed(SOURCE, position, "line is not a JSON object", raw)
    raw_id = obj.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        return Malformed(SOURCE, position, "missing id", raw)
    try:
        arxiv_id, id_version = parse_arxiv_id(raw_id)
    except InvalidId as exc:
        return Malformed(SOURCE, position, str(exc), raw)
    title = _collapse(obj.get("title"))
    if title is None:
        return Malformed(SOURCE, position, f"{arxiv_id}: missing title", raw)
    try:
        version, published, updated = _versions(obj)
    except _BadRecord as exc:
        return Malformed(SOURCE, position, f"{arxiv_id}: {exc}", raw)

    categories = obj.get("categories")
    category_list = categories.split() if isinstance(categories, str) else []
    doi, doi_unparsed = _doi(obj.get("doi"))
    other_ids: dict[str, str] = {}
    report_no = _collapse(obj.get("report-no"))
    if report_no:
        other_ids["report_no"] = report_no
    if doi_unparsed:
        other_ids["doi_unparsed"] = doi_unparsed
    links = {"abs": f"https://arxiv.org/abs/{arxiv_id}", "pdf": f"https://arxiv.org/pdf/{arxiv_id}"}
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    license_ = obj.get("license")
    return PaperRecord(
        source=SOURCE,
        source_key=raw_id,
        title=title,
        abstract=_collapse(obj.get("abstract")),
        arxiv_id=arxiv_id,
        arxiv_version=version if version is not None else id_version,
        doi=doi,
        other_ids=other_ids,
        published=published,
        updated=updated,
        primary_category=category_list[0] if category_list else None,
        categories=category_list,
        comments=_collapse(obj.get("comments")),
        journal_ref=_collapse(obj.get("journal-ref")),
        license=(license_.strip() or None) if isinstance(license_, str) else None,
        links=links,
        authors=_authors(obj),
    )


def _raw(line: bytes | str) -> str:
    if isinstance(line, bytes):
        return line[:RAW_LIMIT].rstrip(b"\r\n").decode("utf-8", "replace")
    return line[:RAW_LIMIT].rstrip("\r\n")


def parse_snapshot_line(line: bytes | str, position: str) -> PaperRecord | Malformed:
    """One snapshot line -> PaperRecord, or Malformed (broken JSON, no title, bad id or date)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Malformed(SOURCE, position, f"invalid JSON: {exc}", _raw(line))
    record = parse_snapshot_record(obj, position)
    if isinstance(record, Malformed):
        record.raw = _raw(line)
    return record


def _pause_collector() -> bool:
    """Pause the cyclic garbage collector; returns whether it was running.

    Parsing creates no reference cycles (refcounting frees everything), but the millions of small
    objects it allocates keep triggering collections that rescan the growing batch; pausing them
    doubles throughput. read_files restores the collector before it hands over each batch, so the
    consumer always runs with the collector as it had it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    return was_enabled


def _resolve_cursor(cursor: str, paths: list[PathLike]) -> tuple[int, int]:
    """(index into paths, lines to skip) for a cursor written by read_files."""
    if cursor.isdigit():
        return 0, int(cursor)
    name, sep, count = cursor.rpartition(":")
    if not sep or not count.isdigit():
        raise ValueError(f"not a snapshot cursor (want '<path>:<lines read>'): {cursor!r}")
    for index, path in enumerate(paths):
        if os.fspath(path) == name:
            return index, int(count)
    raise ValueError(f"cursor {cursor!r} names none of the files being read")


def read_files(
    paths: PathLike | Iterable[PathLike],
    *,
    batch_size: int = 5000,
    start_line: int = 0,
    cursor: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Batch]:
    """Stream snapshot files as Batches of PaperRecord/Malformed; see the module doc for cursors.

    `start_line` skips that many lines of the first file; `cursor` (from an earlier Batch) wins
    over it. Blank lines are skipped without a record. Memory stays bounded by `batch_size` and
    `max_line_bytes` (a longer line is quarantined with its length, without being read whole).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path_list = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    first_file, skip = _resolve_cursor(cursor, path_list) if cursor else (0, start_line)
    for index in range(first_file, len(path_list)):
        name = os.fspath(path_list[index])
        end_cursor = f"{os.fspath(path_list[index + 1])}:0" if index + 1 < len(path_list) else None
        records: list[PaperRecord | Malformed] = []
        first_line = last_line = skip
        collecting = _pause_collector()
        try:
            # A full batch waits until the next record shows that more follow, so the very last
            # batch carries the end-of-file cursor rather than one that resumes into nothing.
            for line_no, line in iter_snapshot_lines(name, start_line=skip, max_line_bytes=max_line_bytes):
                if type(line) is OversizedLine:
                    line = Malformed(SOURCE, f"{name}:{line_no}", line.reason(max_line_bytes))
                elif not line.strip():
                    continue
                if len(records) >= batch_size:
                    label = f"{name} lines {first_line + 1}-{last_line}"
                    batch = Batch(records, f"{name}:{last_line}", label)
                    records, first_line = [], line_no - 1
                    if collecting:
                        gc.enable()
                    yield batch
                    collecting = _pause_collector()
                if type(line) is Malformed:
                    record = line
                else:
                    record = parse_snapshot_line(line, "")
                    if type(record) is Malformed:  # the position string only when it is needed
                        record.position = f"{name}:{line_no}"
                    else:
                        record.origin = Origin(name, line_no, record.source_key)
                records.append(record)
                last_line = line_no
        finally:
            if collecting:
                gc.enable()
        if records:
            yield Batch(records, end_cursor, f"{name} lines {first_line + 1}-{last_line}")
        skip = 0
