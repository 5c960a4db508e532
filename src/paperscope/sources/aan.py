"""The ACL Anthology Network (AAN) release: paper metadata plus a citation edge list.

Two files, read as a user downloaded them:

- ``acl-metadata.txt``: blocks of ``id = {...}``, ``author = {Last, First; Last, First}``,
  ``title = {...}``, ``venue = {...}``, ``year = {...}`` separated by blank lines. The release is
  mostly cp1252 (curly quotes as bytes 0x92-0x94), but a few lines are UTF-8 and some carry HTML
  entities (``Pl&uuml;ss``). Each line is decoded on its own: valid UTF-8 as UTF-8; a line with a
  damaged UTF-8 sequence (``\\xe2\\x80?``, a byte lost upstream) as UTF-8 with U+FFFD for the
  damage; anything else as cp1252 (latin-1 for the five bytes cp1252 leaves undefined). Entities
  are then unescaped. There are no abstracts and no dates, only a year.
- ``acl-citations.txt``: one ``citing , cited`` edge a line.

A repeated id in the metadata file is left to ingest's one rule for repeats inside a file
(ingest/repeats.py): counted when exact, quarantined when it differs.

Every edge is accounted for. `read_files` attaches edges to their citing paper as
``references=[("aan", cited), ...]``, whether or not the cited paper has metadata (ingest resolves
those it can). A paper cannot cite itself, so self-loops are left out of references and counted.
Edges whose *citing* paper has no metadata record (the two files come from different releases)
cannot ride on a record, so each such citing id becomes one `Malformed` whose ``raw`` holds all its
edge lines verbatim; ingest quarantines them and nothing is dropped. `read_citation_edges` yields
the raw edge list for callers that store edges directly, and an `AanSummary` passed to
`read_files` is filled with the counts.

Batches carry no cursor: references need the whole edge file, and the whole release (18k papers)
re-reads in seconds, so a restarted import simply starts over (ingest is idempotent).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paperscope.core.records import AuthorRecord, Batch, Malformed, PaperRecord, set_origin
from paperscope.sources.recovery import DEFAULT_MAX_LINE_BYTES, OversizedLine, bounded_lines

SOURCE = "aan"
METADATA_FILE = "acl-metadata.txt"
CITATIONS_FILE = "acl-citations.txt"
_FIELDS = frozenset({"id", "author", "title", "venue", "year"})
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_DAMAGED_UTF8 = b"\xe2\x80"

PathLike = str | os.PathLike[str]


@dataclass(slots=True)
class AanSummary:
    """What one read of the release found; filled in by read_files as it goes."""

    records: int = 0
    malformed_records: int = 0
    edges: int = 0  # well-formed edge lines in the citation file
    edges_attached: int = 0  # became a reference of a paper with metadata
    cited_without_metadata: int = 0  # of those attached, cited paper absent from the metadata
    self_citations: int = 0  # citing == cited: counted, not attached
    duplicate_edges: int = 0  # repeated lines: counted, attached once
    malformed_edges: int = 0  # lines that are not "citing , cited"
    dangling_citing_papers: int = 0  # citing ids with no metadata record (one Malformed each)
    dangling_edges: int = 0  # the edges of those papers, kept in the Malformed raw text
    dangling_ids: list[str] = field(default_factory=list)
    repeated_records: int = 0  # metadata records whose id an earlier record had (see ingest/repeats.py)


def decode_line(raw: bytes) -> str:
    """One line of the release as text (see the module doc for the encoding rules)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if _DAMAGED_UTF8 in raw:
            text = raw.decode("utf-8", "replace")
        else:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    return text


def author_name(text: str) -> str:
    """"Last, First" -> "First Last"; a name without a comma ("IsoQuest Inc.") stays as it is."""
    last, sep, first = text.partition(",")
    if not sep:
        return " ".join(text.split())
    return " ".join(f"{first} {last}".split())


def _lines(path: PathLike, max_line_bytes: int) -> Iterator[tuple[int, str | OversizedLine]]:
    """(line number, decoded line) of a release file; its encoding told once (sources/recovery.py:
    a BOM dropped, UTF-16/32 decoded), each line then as the module doc says; a line longer than
    `max_line_bytes` comes as an OversizedLine, never read whole."""
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(bounded_lines(handle, max_line_bytes), start=1):
            yield line_no, raw if isinstance(raw, OversizedLine) else decode_line(raw.rstrip(b"\r\n"))


def iter_metadata_blocks(
    path: PathLike, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, list[tuple[int, str | OversizedLine]]]]:
    """(line number of the block's first line, [(line number, decoded line), ...]) per block."""
    block: list[tuple[int, str | OversizedLine]] = []
    for line_no, text in _lines(path, max_line_bytes):
        if isinstance(text, OversizedLine) or text.strip():
            block.append((line_no, text))
        elif block:
            yield block[0][0], block
            block = []
    if block:
        yield block[0][0], block


def parse_metadata_block(
    lines: list[tuple[int, str | OversizedLine]], position: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> PaperRecord | Malformed:
    """One metadata block -> PaperRecord (references empty), or Malformed saying what was wrong."""
    raw = "\n".join(text if isinstance(text, str) else f"<{text.size:,} bytes>" for _, text in lines)
    for line_no, text in lines:
        if isinstance(text, OversizedLine):
            return Malformed(SOURCE, position, f"line {line_no}: {text.reason(max_line_bytes)}", raw[:2000])
    fields: dict[str, str] = {}
    for line_no, text in lines:
        assert isinstance(text, str)
        key, sep, rest = text.partition(" = {")
        key = key.strip()
        if not sep or not rest.endswith("}") or key not in _FIELDS:
            reason = f"line {line_no} is not 'field = {{value}}': {text[:80]!r}"
            return Malformed(SOURCE, position, reason, raw)
        if key in fields:
            return Malformed(SOURCE, position, f"field {key!r} twice in one record", raw)
        fields[key] = rest[:-1].strip()
    aan_id = fields.get("id")
    if not aan_id:
        return Malformed(SOURCE, position, "record without an id", raw)
    title = " ".join(fields.get("title", "").split())
    if not title:
        return Malformed(SOURCE, position, f"{aan_id}: missing title", raw)
    year_text = fields.get("year", "")
    year = None
    if year_text:
        if not (year_text.isdigit() and 1900 <= int(year_text) <= 2100):
            return Malformed(SOURCE, position, f"{aan_id}: impossible year {year_text!r}", raw)
        year = int(year_text)
    names = [author_name(part) for part in fields.get("author", "").split(";")]
    return PaperRecord(
        source=SOURCE,
        source_key=aan_id,
        title=title,
        other_ids={"aan": aan_id},
        year=year,
        venue=" ".join(fields.get("venue", "").split()) or None,
        authors=[AuthorRecord(name=name) for name in names if name],
        links={"landing": f"https://aclanthology.org/{aan_id}"},
    )


def _iter_edge_lines(
    path: PathLike, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[tuple[int, str, str] | Malformed]:
    for line_no, text in _lines(path, max_line_bytes):
        if isinstance(text, OversizedLine):
            yield Malformed(SOURCE, f"{path}:{line_no}", text.reason(max_line_bytes))
            continue
        if not text.strip():
            continue
        citing, sep, cited = text.partition(",")
        citing, cited = citing.strip(), cited.strip()
        if not sep or not citing or not cited or "," in cited:
            yield Malformed(SOURCE, f"{path}:{line_no}", "not a 'citing , cited' edge", text[:2000])
        else:
            yield line_no, citing, cited


def read_citation_edges(path: PathLike) -> Iterator[tuple[str, str]]:
    """Every (citing, cited) edge of the citation file, in file order, self-loops included.

    Raises ValueError naming path:line for a line that is not an edge (read_files quarantines
    those instead).
    """
    for item in _iter_edge_lines(path):
        if isinstance(item, Malformed):
            raise ValueError(f"{item.position}: {item.reason}: {item.raw!r}")
        yield item[1], item[2]


def read_files(
    metadata_path: PathLike,
    citations_path: PathLike | None = None,
    *,
    batch_size: int = 5000,
    summary: AanSummary | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Batch]:
    """Stream the release as Batches of PaperRecord/Malformed (cursor always None, see module doc);
    a line longer than `max_line_bytes` is quarantined (with its record) without being read whole.

    The metadata file is streamed; the edge list is held as a dict of citing id -> edges (about
    8 MB for the 95k-edge release) because a paper's references come from all over the file.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    summary = summary if summary is not None else AanSummary()
    edges: dict[str, list[tuple[int, str]]] = {}
    bad_edges: list[Malformed] = []
    if citations_path is not None:
        for item in _iter_edge_lines(citations_path, max_line_bytes):
            if isinstance(item, Malformed):
                bad_edges.append(item)
                summary.malformed_edges += 1
                continue
            line_no, citing, cited = item
            edges.setdefault(citing, []).append((line_no, cited))
            summary.edges += 1

    seen: dict[str, int] = {}  # aan id -> line of its record
    attached: list[str] = []  # cited ids, to count those without metadata at the end
    label = os.fspath(metadata_path)
    records: list[PaperRecord | Malformed] = list(bad_edges)
    for line_no, block in iter_metadata_blocks(metadata_path, max_line_bytes):
        record = parse_metadata_block(block, f"{label}:{line_no}", max_line_bytes)
        if isinstance(record, PaperRecord):
            set_origin(record, label, line_no)
            if record.source_key in seen:
                # A repeated id: ingest's repeat rule decides (an exact repeat is counted, a
                # different one quarantined); it carries the same edges, counted once.
                record.references = _references(record.source_key, edges.get(record.source_key, ()), AanSummary())
                summary.repeated_records += 1
            else:
                seen[record.source_key] = line_no
                record.references = _references(record.source_key, edges.get(record.source_key, ()), summary)
                attached.extend(value for _, value in record.references)
        if isinstance(record, Malformed):
            summary.malformed_records += 1
        else:
            summary.records += 1
        records.append(record)
        if len(records) >= batch_size:
            yield Batch(records, None, f"{label} to line {line_no}")
            records = []

    summary.cited_without_metadata = sum(1 for cited in attached if cited not in seen)
    cite_label = os.fspath(citations_path) if citations_path is not None else ""
    for citing, citing_edges in edges.items():
        if citing in seen:
            continue
        summary.dangling_citing_papers += 1
        summary.dangling_edges += len(citing_edges)
        summary.dangling_ids.append(citing)
        records.append(
            Malformed(
                SOURCE,
                f"{cite_label}:{citing_edges[0][0]}",
                f"citing paper {citing} has no usable metadata record;"
                f" its {len(citing_edges)} citation edge(s) are kept here",
                "\n".join(f"{citing} , {cited}" for _, cited in citing_edges),
            )
        )
        if len(records) >= batch_size:
            yield Batch(records, None, f"{cite_label} edges without metadata")
            records = []
    if records:
        yield Batch(records, None, f"{label} (end)")


def _references(
    citing: str, citing_edges: Iterable[tuple[int, str]], summary: AanSummary
) -> list[tuple[str, str]]:
    references: list[tuple[str, str]] = []
    known: set[str] = set()
    for _, cited in citing_edges:
        if cited == citing:
            summary.self_citations += 1
        elif cited in known:
            summary.duplicate_edges += 1
        else:
            known.add(cited)
            references.append(("aan", cited))
    summary.edges_attached += len(references)
    return references


def read_folder(
    folder: PathLike,
    *,
    batch_size: int = 5000,
    summary: AanSummary | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Batch]:
    """read_files on a release folder holding acl-metadata.txt and (optionally) acl-citations.txt."""
    base = Path(folder)
    metadata = base / METADATA_FILE
    if not metadata.is_file():
        raise FileNotFoundError(f"{metadata}: no AAN metadata file in {base}")
    citations = base / CITATIONS_FILE
    yield from read_files(
        metadata,
        citations if citations.is_file() else None,
        batch_size=batch_size,
        summary=summary,
        max_line_bytes=max_line_bytes,
    )
