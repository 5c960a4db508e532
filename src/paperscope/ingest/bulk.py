"""The bulk snapshot load: a first import of the arXiv metadata snapshot into an empty store.

The record path (ingest/batch.py) matches every record against the store and merges it field by
field; for an empty store and a snapshot whose lines are mostly distinct papers, nearly all of that
work finds nothing. This path takes the common line straight to the rows it becomes:

- one process parses while the calling process writes (a queue of whole batches between them);
- a batch of lines becomes column arrays (ingest/columnar.py: Arrow kernels over the whole batch,
  no PaperRecord); a line the columnar lane does not take (non-ASCII text, a field of an odd JSON
  type or shape) goes through `fast_rows`, the per-line lane, which uses the source parser's own
  field helpers and the record path's normalisation functions; a test holds all three equal;
- the writer streams each table's columns into one executemany (SQLite) or COPY (PostgreSQL);
- matching is vectorised: every key a line could be matched by (arXiv id, DOI, title key, other
  ids) is hashed to 64 bits, and a line whose keys meet an earlier line's (or a stored paper's) is
  set aside, as is any line that needs cleaning, fails a check or does not parse. Set-aside lines
  go through the record path at the end, in input order, so merges and quarantine reasons are
  exactly the record path's. A hash collision only sets a line aside: it never merges two papers;
- the secondary indexes are dropped first and built once after the last batch;
- one transaction per batch holds its rows, the lines it set aside and the run's cursor, so a run
  killed at any instant resumes at the last committed line (`paperscope build` or a rerun).

It only starts on a store without papers (or to finish its own interrupted run); any other load
takes the record path, which is the one that knows how to merge into existing papers.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import queue
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Engine

from paperscope.core.categories import short_tag
from paperscope.core.codelinks import extract_code_urls
from paperscope.core.ids import InvalidId, author_id_for, normalise_person_name, normalise_title, parse_arxiv_id
from paperscope.core.records import Malformed, Origin, PaperRecord
from paperscope.ingest.batch import _external_ids, write_batch
from paperscope.ingest.columnar import PerLine, Rows, columnar_rows, last_spelling
from paperscope.ingest.normalise import EARLIEST_YEAR, paper_row
from paperscope.ingest.pipeline import RunSummary, run_ingest
from paperscope.ingest.repeats import Earlier, RepeatGuard
from paperscope.sources import arxiv_snapshot
from paperscope.sources.arxiv_snapshot import (  # the parser's own field helpers: both paths parse alike
    _authors,
    _BadRecord,
    _collapse,
    _doi,
    _versions,
    open_snapshot,
    parse_snapshot_line,
)
from paperscope.store import bulk as store_bulk
from paperscope.store import reads, runs, schema, writes

SOURCE = arxiv_snapshot.SOURCE
BULK_BATCH = 20_000  # lines per transaction: large enough that commits cost little, small enough for memory
QUEUE_DEPTH = 3  # parsed batches waiting for the writer at most (bounds memory)
SEQ_SHIFT = 32  # seq = file index << 32 | line number: input order across files
PAPER_COLUMNS = tuple(c.name for c in schema.papers.columns)
AUTHOR_COLUMNS = ("id", "name", "name_key", "orcid", "openalex_id", "s2_id", "created_at")
SHIP_COLUMNS = ("paper_id", "position", "author_id", "name", "affiliations", "origin")
SOURCE_COLUMNS = ("paper_id", "source", "source_key", "record_hash", "first_seen", "run_id", "record")
EXTERNAL_COLUMNS = ("scheme", "value", "paper_id")
CODE_COLUMNS = ("paper_id", "url", "origin")

Progress = Callable[[int, int, int], None]  # (lines read, bytes read, bytes in all files)


# --- one line to rows ----------------------------------------------------------------------------


def _stamp(dialect: str) -> Callable[[Any], Any]:
    """Dates and datetimes as the dialect stores them (SQLAlchemy's SQLite text formats)."""
    if dialect == "sqlite":
        def convert(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, datetime):
                return value.strftime("%Y-%m-%d %H:%M:%S.%f")
            return value.isoformat()
        return convert
    return lambda value: value


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@lru_cache(maxsize=4096)
def _categories_json(text: str) -> str:
    """A category list as JSON: a few hundred distinct lists recur across millions of lines."""
    return _dumps(text.split())


@lru_cache(maxsize=512)
def _field_sources_json(present: tuple[str, ...]) -> str:
    """field_sources as JSON for the fields a line has: one shared string per combination, which
    also lets pickle send it once per batch."""
    return _dumps(dict.fromkeys(present, SOURCE))


@lru_cache(maxsize=1 << 18)
def _author(name: str) -> tuple[str, str, str] | None:
    """(author id, name as stored, name key) of a name as the parser gives it; None: no letters.
    Cached: prolific authors recur on thousands of lines."""
    try:
        author_id = author_id_for(name)
    except InvalidId:
        return None
    clean = " ".join(name.split())
    return author_id, clean, normalise_person_name(clean)


@dataclass(slots=True)
class _Fast:
    """One line's rows, ready for the driver, and the keys it could be matched by."""

    paper: tuple[Any, ...]
    authors: list[tuple[Any, ...]]
    ships: list[tuple[Any, ...]]
    source_row: tuple[Any, ...]
    external: list[tuple[str, str, str]]
    code: list[tuple[str, str, str]]
    keys: list[str]


def _printable(*texts: str | None) -> bool:
    """All texts printable: nothing for the cleaning step to change, no whitespace but spaces."""
    return all(t is None or t.isprintable() for t in texts)


def fast_rows(line: bytes, today: date, now: Any, stamp: Callable[[Any], Any]) -> _Fast | None:
    """The rows the record path would write for this line on a store without it, or None when the
    line must take the record path (it does not parse, fails a check, or needs cleaning).

    Mirrors `parse_snapshot_record` (sources), `validate`, `paper_row`, `provenance_record`
    (ingest/normalise) and the author rows of ingest/batch; a test holds the two paths equal.
    `now` is the batch's clock already in the driver's type (one conversion per batch, not per row).
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    raw_id = obj.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip() or not raw_id.isprintable():
        return None
    try:
        arxiv_id, id_version = parse_arxiv_id(raw_id)
        version, published, updated = _versions(obj)
    except (InvalidId, _BadRecord):
        return None
    title = _collapse(obj.get("title"))
    abstract = _collapse(obj.get("abstract"))
    comments = _collapse(obj.get("comments"))
    journal_ref = _collapse(obj.get("journal-ref"))
    report_no = _collapse(obj.get("report-no"))
    license_ = obj.get("license")
    license_text = (license_.strip() or None) if isinstance(license_, str) else None
    categories_text = obj.get("categories")
    categories = categories_text.split() if isinstance(categories_text, str) else []
    doi, doi_unparsed = _doi(obj.get("doi"))
    if title is None or not _printable(
        title, abstract, comments, journal_ref, report_no, license_text, doi, doi_unparsed,
        categories_text if isinstance(categories_text, str) else None,
    ):
        return None
    latest = date(today.year + 1, 12, 31)
    earliest = date(EARLIEST_YEAR, 1, 1)
    for day in (published, updated):
        if day is not None and not (earliest <= day <= latest):
            return None
    if published and updated and updated < published:
        return None
    authors = _authors(obj)
    if not _printable(*(a.name for a in authors)):
        return None

    arxiv_version = (version if version is not None else id_version) or None
    paper_id = f"arXiv:{arxiv_id}"
    title_key = normalise_title(title)
    year = published.year if published else None
    primary = short_tag(categories[0]) if categories else None
    links = {"abs": f"https://arxiv.org/abs/{arxiv_id}", "pdf": f"https://arxiv.org/pdf/{arxiv_id}"}
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    other_ids: dict[str, str] = {}
    if report_no:
        other_ids["report_no"] = report_no
    if doi_unparsed:
        other_ids["doi_unparsed"] = doi_unparsed
    code_urls = extract_code_urls(abstract, comments)
    has_code = bool(code_urls)
    listed = len(authors)
    values: dict[str, Any] = {
        "arxiv_id": arxiv_id, "arxiv_version": arxiv_version, "doi": doi, "title": title,
        "title_key": title_key, "abstract": abstract, "published": published, "updated": updated,
        "year": year, "primary_category": primary, "categories": categories, "comments": comments,
        "journal_ref": journal_ref, "license": license_text, "code_urls": code_urls, "has_code": has_code,
    }  # fmt: skip
    present = tuple([k for k, v in values.items() if v] + [f"links.{key}" for key in links])
    paper = (
        paper_id, arxiv_id, arxiv_version, doi, None, None, title, title_key, abstract,
        stamp(published), stamp(updated), year, primary,
        _categories_json(categories_text) if categories else "[]", comments, journal_ref,
        license_text, None, _dumps(links), listed if listed else None, False,
        SOURCE if listed else None, "[]", _dumps(code_urls), None, has_code, None, None, None, None,
        "[]", None, _field_sources_json(present), now, now,
    )  # fmt: skip

    said: dict[str, Any] = {"title": title, "arxiv_id": arxiv_id}
    if arxiv_version is not None:
        said["arxiv_version"] = arxiv_version
    if doi:
        said["doi"] = doi
    if other_ids:
        said["other_ids"] = other_ids
    if published:
        said["published"] = published.isoformat()
    if updated:
        said["updated"] = updated.isoformat()
    if categories:
        said["primary_category"] = categories[0]
        said["categories"] = categories
    if comments:
        said["comments"] = comments
    if journal_ref:
        said["journal_ref"] = journal_ref
    if license_text:
        said["license"] = license_text
    said["links"] = links
    if authors:
        said["authors"] = [{"name": a.name} for a in authors]
    said_json = orjson.dumps(said, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(said_json, digest_size=16).hexdigest()
    source_row = (paper_id, SOURCE, raw_id, digest, now, None, said_json.decode())

    author_rows: list[tuple[Any, ...]] = []
    ships: list[tuple[Any, ...]] = []
    for author in authors:
        known = _author(author.name)
        if known is None:
            continue
        author_id, name, name_key = known
        author_rows.append((author_id, name, name_key, None, None, None, now))
        ships.append((paper_id, len(ships), author_id, name, "[]", "source"))

    keys = ["arxiv_id\x1f" + arxiv_id]
    if doi:
        keys.append("doi\x1f" + doi)
    if title_key:
        keys.append("title\x1f" + title_key)
    for scheme, value in other_ids.items():
        keys.append(f"{scheme}\x1f{value}")
    return _Fast(
        paper, author_rows, ships, source_row,
        [(scheme, value, paper_id) for scheme, value in other_ids.items()],
        [(paper_id, url, "text") for url in code_urls],
        keys,
    )  # fmt: skip


def record_keys(record: PaperRecord | Malformed) -> list[str]:
    """The keys the record path matches this record by (empty for a line that did not parse)."""
    if isinstance(record, Malformed):
        return []
    row = paper_row(record)
    keys = [f"{scheme}\x1f{row[scheme]}" for scheme in ("arxiv_id", "doi", "openalex_id", "s2_id") if row[scheme]]
    if row["title_key"]:
        keys.append("title\x1f" + row["title_key"])
    keys.extend(f"{scheme}\x1f{value}" for scheme, value in _external_ids(record))
    return keys


def line_keys(line: bytes) -> list[str]:
    """Keys of a set-aside line, through the record path's own functions. A line that will be
    quarantined may still name keys: setting aside the lines that share them is merely cautious."""
    return record_keys(parse_snapshot_line(line, ""))


# --- vectorised matching ------------------------------------------------------------------------


def hash_keys(keys: Iterable[str]) -> np.ndarray:
    """64-bit hashes of match keys (blake2b, the same in every process and run)."""
    digests = b"".join(
        hashlib.blake2b(k.encode("utf-8", "surrogatepass"), digest_size=8).digest() for k in keys
    )
    return np.frombuffer(digests, dtype="<u8").copy()


class SeenKeys:
    """Hashes of every key seen so far, as sorted arrays: 8 bytes a key, membership by binary search."""

    def __init__(self, initial: np.ndarray | None = None) -> None:
        self.base = np.sort(initial) if initial is not None else np.empty(0, dtype="<u8")
        self.recent: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.base) + sum(len(a) for a in self.recent)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for array in (self.base, *self.recent):
            if len(array):
                at = np.minimum(np.searchsorted(array, hashes), len(array) - 1)
                found |= array[at] == hashes
        return found

    def add(self, hashes: np.ndarray) -> None:
        self.recent.append(np.sort(hashes))
        if sum(len(a) for a in self.recent) > max(len(self.base) // 4, 1 << 16):
            self.base = np.sort(np.concatenate([self.base, *self.recent]))
            self.recent = []


def colliding(owners: np.ndarray, hashes: np.ndarray, seen: SeenKeys) -> set[int]:
    """Owners (line indices, ascending in `owners`' order) of keys met before: among the seen keys,
    or earlier in this batch."""
    if not len(hashes):
        return set()
    hit = seen.contains(hashes)
    order = np.argsort(hashes, kind="stable")  # stable: equal keys stay in line order
    ordered = hashes[order]
    repeat = np.zeros(len(hashes), dtype=bool)
    repeat[order[1:]] = ordered[1:] == ordered[:-1]
    return set(np.unique(owners[hit | repeat]).tolist())


# --- the parsing process ------------------------------------------------------------------------


@dataclass
class ParsedBatch:
    """What the writer stores in one transaction: each table's rows as columns (columnar.Rows)."""

    papers: Rows
    authors: Rows  # one row per author id: the last spelling in the batch
    ships: Rows
    sources: Rows
    external: Rows
    code: Rows
    deferred: list[tuple[int, str, bytes]] = field(default_factory=list)  # (seq, position, raw line)
    lines: int = 0
    bytes_read: int = 0
    cursor: str = ""
    columnar: int = 0  # lines the columnar lane took


def _batches(
    files: Sequence[str], first_file: int, skip: int, batch_size: int, dialect: str, seen: SeenKeys,
    run_id: int | None = None,
) -> Iterator[ParsedBatch]:
    stamp = _stamp(dialect)
    bytes_read = 0
    for index in range(first_file, len(files)):
        name = files[index]
        numbers: list[int] = []
        pending: list[bytes] = []
        last_line = skip
        with open_snapshot(name) as handle:
            for line_no, line in enumerate(islice(handle, skip, None), start=skip + 1):
                bytes_read += len(line)
                if not line.strip():
                    continue
                if len(pending) >= batch_size:
                    yield _finish(pending, numbers, index, name, last_line, bytes_read, seen, stamp, dialect, run_id)
                    numbers, pending = [], []
                numbers.append(line_no)
                pending.append(line)
                last_line = line_no
        if pending:
            yield _finish(pending, numbers, index, name, last_line, bytes_read, seen, stamp, dialect, run_id)
        skip = 0


def _finish(
    pending: list[bytes], numbers: list[int], file_index: int, name: str, last_line: int, bytes_read: int,
    seen: SeenKeys, stamp: Callable[[Any], Any], dialect: str, run_id: int | None,
) -> ParsedBatch:
    """One batch's rows (columnar lane, then per-line lane), less the lines whose keys meet an
    earlier line's or a stored paper's: those are set aside for the record path."""
    now = datetime.now(UTC)
    clock = stamp(now)
    today = now.date()
    per_line = PerLine(lambda line: fast_rows(line, today, clock, stamp), line_keys)
    lane = columnar_rows(pending, today, clock, run_id, per_line, dates_as_text=dialect == "sqlite")
    # Keys in line order, so of two lines sharing a key the earlier one stays in the fast lane.
    order = np.argsort(lane.owners, kind="stable")
    owners = lane.owners[order]
    hashes = hash_keys(lane.keys)[order] if len(order) else np.empty(0, dtype="<u8")
    aside_lines = colliding(owners, hashes, seen)
    seen.add(hashes)
    aside = np.zeros(len(pending), dtype=bool)
    aside[list(aside_lines)] = True
    aside[lane.declined] = True
    deferred = [((file_index << SEQ_SHIFT) | numbers[i], f"{name}:{numbers[i]}", pending[i])
                for i in np.flatnonzero(aside).tolist()]
    return ParsedBatch(
        papers=lane.papers.without(aside).sorted_by(0),  # in primary-key order
        authors=last_spelling(lane.authors.without(aside)),
        ships=lane.ships.without(aside).sorted_by(0),
        sources=lane.sources.without(aside).sorted_by(0),
        external=lane.external.without(aside),
        code=lane.code.without(aside),
        deferred=deferred,
        lines=len(pending),
        bytes_read=bytes_read,
        cursor=f"{name}:{last_line}",
        columnar=lane.columnar,
    )


def _parse_process(
    files: Sequence[str], first_file: int, skip: int, batch_size: int, dialect: str, seen: SeenKeys,
    run_id: int, out: Any, parent: int,
) -> None:
    """Child process body: parse every batch and hand it over; gives up when the parent is gone."""

    def put(item: object) -> None:
        while True:
            try:
                out.put(item, timeout=1.0)
                return
            except queue.Full:
                if os.getppid() != parent:  # the writer was killed: nobody will read this
                    os._exit(1)

    # Parsing makes no reference cycles; the collector's scans of the growing batch only cost time.
    gc.disable()
    try:
        for batch in _batches(files, first_file, skip, batch_size, dialect, seen, run_id):
            put(("batch", batch))
        put(("end", None))
    except BaseException:
        put(("error", traceback.format_exc()))


# --- the writer ---------------------------------------------------------------------------------


def _resolve(cursor: str | None, files: Sequence[str]) -> tuple[int, int]:
    if not cursor:
        return 0, 0
    name, _, count = cursor.rpartition(":")
    for index, path in enumerate(files):
        if path == name:
            return index, int(count)
    raise ValueError(f"cursor {cursor!r} names none of the files being read")


def _write(connection: Any, batch: ParsedBatch, target: str) -> None:
    store_bulk.insert_rows(connection, schema.papers, PAPER_COLUMNS, batch.papers.iter_rows())
    store_bulk.insert_rows(connection, schema.authors, AUTHOR_COLUMNS, batch.authors.iter_rows(),
                           ignore_conflicts=("id",))
    store_bulk.insert_rows(connection, schema.authorships, SHIP_COLUMNS, batch.ships.iter_rows())
    store_bulk.insert_rows(connection, schema.paper_sources, SOURCE_COLUMNS, batch.sources.iter_rows())
    store_bulk.insert_rows(connection, schema.paper_external_ids, EXTERNAL_COLUMNS, batch.external.iter_rows())
    store_bulk.insert_rows(connection, schema.code_links, CODE_COLUMNS, batch.code.iter_rows())
    store_bulk.add_deferred(connection, SOURCE, target, batch.deferred)


def _seen_at_start(engine: Engine, target: str) -> SeenKeys:
    """Keys of the papers already stored and of the lines already set aside (a resumed run)."""
    with engine.connect() as connection:
        stored = hash_keys(f"{scheme}\x1f{value}" for scheme, value in store_bulk.iter_match_keys(connection))
        aside = hash_keys(
            key for raw in store_bulk.iter_deferred_raw(connection, SOURCE, target) for key in line_keys(raw)
        )
    return SeenKeys(np.concatenate([stored, aside]))


def snapshot_target(files: Sequence[Path]) -> str:
    """The run target of these files: the same string the record path's snapshot ingest uses."""
    return "files:" + "|".join(str(p.resolve()) for p in files)


def can_bulk_load(engine: Engine, target: str) -> bool:
    """An empty store, or this target's own bulk load to finish."""
    with engine.connect() as connection:
        unfinished = runs.find_unfinished_run(connection, SOURCE, target)
        if unfinished is not None and (unfinished["counts"] or {}).get("bulk_load"):
            return True
        return store_bulk.count_papers(connection) == 0


def bulk_load(
    engine: Engine,
    files: Sequence[Path],
    *,
    batch_size: int = BULK_BATCH,
    progress: Progress | None = None,
) -> RunSummary:
    """Load snapshot files into an empty store (or finish this load after a kill); see the module doc."""
    names = [str(Path(p).resolve()) for p in files]  # a resume from another folder finds them
    target = snapshot_target(files)
    if not can_bulk_load(engine, target):
        raise ValueError("the bulk load starts only on a store without papers: use the record path")
    total_bytes = sum(os.path.getsize(p) for p in names)
    with engine.begin() as connection:
        unfinished = runs.find_unfinished_run(connection, SOURCE, target)
        cursor = unfinished["cursor"] if unfinished else None
        if unfinished:
            runs.finish_run(connection, unfinished["id"], "superseded", dict(unfinished["counts"] or {}))
        run_id = runs.start_run(connection, SOURCE, target, cursor)
        store_bulk.drop_secondary_indexes(connection)
    summary = RunSummary(run_id, SOURCE, target, resumed_from=cursor)
    summary.counts["bulk_load"] = 1
    try:
        first_file, skip = _resolve(cursor, names)
        # On a resume past the last line this reads to the end and finds nothing left to parse.
        cursor = _load_lines(engine, names, first_file, skip, batch_size, target, summary, total_bytes,
                             progress) or cursor
        with engine.begin() as connection:
            summary.counts["indexes_built"] = store_bulk.create_secondary_indexes(connection)
        _write_set_aside(engine, target, summary, batch_size, cursor)
        with engine.begin() as connection:
            summary.counts["citations_resolved"] = writes.resolve_citation_targets(connection)
            runs.finish_run(connection, run_id, "done", dict(summary.counts))
    except BaseException as exc:
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"
        with engine.begin() as connection:
            runs.finish_run(connection, run_id, "failed", dict(summary.counts), summary.error)
        raise
    summary.status = "done"
    return summary


def _load_lines(
    engine: Engine, names: list[str], first_file: int, skip: int, batch_size: int, target: str,
    summary: RunSummary, total_bytes: int, progress: Progress | None,
) -> str | None:
    """Parse in a child process, write here; returns the cursor after the last batch written."""
    cursor = None
    seen = _seen_at_start(engine, target)
    context = multiprocessing.get_context("fork")
    handover = context.Queue(maxsize=QUEUE_DEPTH)
    parser = context.Process(
        target=_parse_process,
        args=(names, first_file, skip, batch_size, engine.dialect.name, seen, summary.run_id, handover,
              os.getpid()),
        daemon=True,
        name="paperscope-snapshot-parser",
    )
    parser.start()
    lines = 0
    collecting = gc.isenabled()
    gc.disable()  # unpickled batches are acyclic: no collector passes over them
    try:
        while True:
            try:
                kind, item = handover.get(timeout=5.0)
            except queue.Empty:
                if not parser.is_alive():
                    raise RuntimeError(f"the snapshot parser stopped (exit code {parser.exitcode})") from None
                continue
            if kind == "end":
                break
            if kind == "error":
                raise RuntimeError(f"parsing the snapshot failed:\n{item}")
            batch: ParsedBatch = item
            with engine.begin() as connection:
                _write(connection, batch, target)
                summary.counts.update(
                    records=batch.lines, papers_new=len(batch.papers), set_aside=len(batch.deferred),
                    columnar=batch.columnar,
                )
                runs.record_progress(connection, summary.run_id, dict(summary.counts), batch.cursor)
            lines += batch.lines
            cursor = batch.cursor
            if progress:
                progress(lines, batch.bytes_read, total_bytes)
    finally:
        if collecting:
            gc.enable()
        if parser.is_alive():
            parser.terminate()
        parser.join(timeout=10)
    return cursor


def _written_firsts(connection: Any, run_ids: set[int]) -> Earlier:
    """The repeat guard's view of the lines this load wrote by the fast path: a set-aside line
    whose id one of them had repeats it (compared as ingest/repeats.py says)."""

    def earlier(records: list[PaperRecord]) -> list[tuple[int | str, str, str | None] | None]:
        found: list[tuple[int | str, str, str | None] | None] = []
        for record in records:
            papers = reads.get_papers_matching(connection, arxiv_ids={record.arxiv_id} - {None})
            by_id = {p["id"]: p for p in papers}
            versions = [
                v for v in reads.get_source_versions(connection, list(by_id), SOURCE, record.source_key)
                if v["run_id"] in run_ids
            ]
            if not versions:
                found.append(None)
                continue
            paper = by_id[versions[0]["paper_id"]]
            mine = (paper["field_sources"] or {}).get("abstract") == SOURCE
            found.append(("an earlier line", versions[0]["record_hash"], paper["abstract"] if mine else None))
        return found

    return earlier


def _write_set_aside(
    engine: Engine, target: str, summary: RunSummary, batch_size: int, cursor: str | None
) -> None:
    """The set-aside lines through the record path, in input order; each chunk deletes its lines
    in the transaction that writes them, so this step resumes too. Repeats of an id inside one
    file follow the record path's rule (ingest/repeats.py), whichever path wrote the first."""
    guard = RepeatGuard()
    while True:
        with engine.begin() as connection:
            chunk = store_bulk.take_deferred(connection, SOURCE, target, batch_size)
            if not chunk:
                return
            records = []
            for seq, position, raw in chunk:
                record = parse_snapshot_line(raw, "")
                if isinstance(record, Malformed):
                    record.position = position
                else:
                    record.origin = Origin(position.rpartition(":")[0], seq & ((1 << SEQ_SHIFT) - 1), record.source_key)
                records.append(record)
            run_ids = set(runs.list_run_ids(connection, SOURCE, target))
            counts = write_batch(
                connection, records, summary.run_id, repeats=guard, earlier=_written_firsts(connection, run_ids)
            )
            counts["records"] = 0  # counted when their lines were read
            summary.counts.update(counts)
            store_bulk.delete_deferred(connection, SOURCE, target, chunk[-1][0])
            runs.record_progress(connection, summary.run_id, dict(summary.counts), cursor)


def load_snapshot(
    engine: Engine,
    files: Sequence[Path],
    *,
    batch_size: int = BULK_BATCH,
    record_batch_size: int = 5000,
    progress: Progress | None = None,
) -> RunSummary:
    """Ingest snapshot files: the bulk load on an empty store, the record path otherwise."""
    target = snapshot_target(files)
    if can_bulk_load(engine, target):
        return bulk_load(engine, files, batch_size=batch_size, progress=progress)
    names = [str(Path(p).resolve()) for p in files]  # a resume from another folder finds them
    total_bytes = sum(os.path.getsize(p) for p in names)
    lines = 0

    def on_batch(batch: Any, counts: Counter[str]) -> None:
        nonlocal lines
        lines += counts["records"]
        if progress:
            done = _cursor_bytes(batch.cursor, names) if batch.cursor else total_bytes
            progress(lines, done, total_bytes)

    return run_ingest(
        engine, SOURCE, target,
        lambda cursor: arxiv_snapshot.read_files(names, batch_size=record_batch_size, cursor=cursor),
        on_batch=on_batch,
    )  # fmt: skip


def _cursor_bytes(cursor: str, names: Sequence[str]) -> int:
    """Bytes of the files before the cursor's file: a coarse position for the progress bar."""
    name = cursor.rpartition(":")[0]
    done = 0
    for path in names:
        if path == name:
            break
        done += os.path.getsize(path)
    return done
