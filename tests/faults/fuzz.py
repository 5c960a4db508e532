"""A seeded fuzzer over the recorded source responses: each mutation of a real file is read by its
importer, and the outcome is judged against the unmutated file.

A mutation damages a byte range of the file (or the whole file: a BOM, UTF-16, an XML entity
header). An entry of the original file whose bytes the mutation did not touch is *keepable*: a
per-entry parse can still read it, so it must come through (same source key). Every record that
does not come through must be accounted for by a quarantined record with a position and a
reason, and no mutation may raise. The test run (tests/faults/test_mutations.py) tries a few
mutations of each kind; bench/faults.py tries hundreds.
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import islice
from pathlib import Path

from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources import aan, arxiv_api, arxiv_oai, arxiv_snapshot, hf_daily, listing, openalex, semantic_scholar
from paperscope.sources.recovery import json_array_spans, split_xml_elements

MAX_LINE = 64 * 1024  # the snapshot line limit the fuzzer reads with (a "huge field" passes it)


def _source_key(record: PaperRecord) -> str:
    return record.source_key


@dataclass(frozen=True)
class Target:
    """One recorded file and how to read it and find its entries' byte spans."""

    source: str
    path: Path
    read: Callable[[Path], list]
    spans: Callable[[bytes], list[tuple[int, int]]]  # (start, end) of each entry, in file order
    # What names an entry across files: its source key, or (a listing card, whose source key is its
    # place in a file of that name) the title it shows.
    key: Callable[[PaperRecord], str] = _source_key


def _xml_spans(name: str) -> Callable[[bytes], list[tuple[int, int]]]:
    return lambda data: [(o, o + len(chunk)) for o, chunk, _ in split_xml_elements(data, name)]


def _json_spans(key: str | None) -> Callable[[bytes], list[tuple[int, int]]]:
    return lambda data: [(begin, end) for begin, end, _ in json_array_spans(data, key) or []]


def _line_spans(data: bytes) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in data.splitlines(keepends=True):
        if line.strip():
            out.append((pos, pos + len(line)))
        pos += len(line)
    return out


def _records(batches: Iterator) -> list:
    return [r for batch in batches for r in batch.records]


def _block_spans(data: bytes) -> list[tuple[int, int]]:
    """AAN metadata: records are blocks of lines separated by blank lines."""
    out, pos, start = [], 0, None
    for line in data.splitlines(keepends=True):
        if line.strip():
            start = pos if start is None else start
        elif start is not None:
            out.append((start, pos))
            start = None
        pos += len(line)
    if start is not None:
        out.append((start, pos))
    return out


PAPERS_SAVED, AUTHOR_PAGE_SAVED = date(2025, 11, 12), date(2026, 11, 25)  # as DESIGN.md dates them


def _listing_read(as_of: date) -> Callable[[Path], list]:
    return lambda path: _records(listing.read_files([path], as_of=as_of))


def _listing_spans(data: bytes) -> list[tuple[int, int]]:
    """A listing's entries run from the line each starts on to the next one's: the places its
    parser gives the unmutated page's cards."""
    text = data.decode("utf-8")
    page = listing.parse_listing(text, source_name="page", as_of=PAPERS_SAVED)  # dates do not move lines
    starts = [r.origin.place for r in page.records if isinstance(r, PaperRecord)]
    offsets = [0]
    for line in data.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    bounds = [offsets[line - 1] for line in starts] + [len(data)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _title(record: PaperRecord) -> str:
    return record.title or ""


def targets(fixtures: Path) -> list[Target]:
    """The recorded files the fuzzer mutates: one or two per importer with many entries each (the
    saved listing pages sit beside the fixtures, in ../shared/listings)."""
    fx = fixtures
    listings = fixtures.parent / "listings"
    return [
        Target("arxiv_snapshot", next((fx / "arxiv_kaggle_snapshot").rglob("*.jsonl")),
               lambda p: _records(arxiv_snapshot.read_files(p, batch_size=500, max_line_bytes=MAX_LINE)),
               _line_spans),
        Target("arxiv_api", fx / "arxiv_api/atom_xml/q_testing_s0_m100_cfe7536492ca.xml",
               lambda p: _records(arxiv_api.read_files([p])), _xml_spans("entry")),
        Target("arxiv_oai", fx / "arxiv_oai/inspirehep_hepcrawl/sample_arxiv_record.xml",
               lambda p: _records(arxiv_oai.read_files([p])), _xml_spans("record")),
        Target("openalex", fx / "openalex/anapaulagomes_peneira/works_list_page1_per200.json",
               lambda p: _records(openalex.read_files([p])), _json_spans("results")),
        Target("s2", fx / "semantic_scholar/lucas-m-lopes_sotawhat/semantic_scholar_transformer.json",
               lambda p: _records(semantic_scholar.read_files([p])), _json_spans("data")),
        Target("hf", next(p for p in sorted((fx / "hf_daily_papers").rglob("*.json")) if p.stat().st_size > 20_000),
               lambda p: _records(hf_daily.read_files([p])), _json_spans(None)),
        Target("aan", fx / "citation_graph/aan_acl_anthology_network/acl-metadata.txt",
               lambda p: _records(aan.read_files(p, max_line_bytes=MAX_LINE)), _block_spans),
        Target("listing", listings / "hf-papers-search.txt", _listing_read(PAPERS_SAVED), _listing_spans, _title),
        Target("listing", listings / "author-li-shen.txt", _listing_read(AUTHOR_PAGE_SAVED), _listing_spans, _title),
    ]


# --- mutations: (new bytes, damaged range or None for the whole file) ----------------------------

Mutation = tuple[bytes, tuple[int, int] | None]


def truncate(data: bytes, rng: random.Random) -> Mutation:
    cut = rng.randrange(len(data) // 10, len(data))
    return data[:cut], (cut, len(data))


STRUCTURE = frozenset(b'"\\{}[],<>&')


def flip_byte(data: bytes, rng: random.Random) -> Mutation:
    """One bit of one byte. A byte that makes or breaks the format's structure (a quote, a bracket,
    a tag's angle) moves every entry boundary after it: all later entries count as damaged then,
    and need only be accounted for by a quarantined record, not kept."""
    at = rng.randrange(len(data))
    flipped = data[at] ^ (1 << rng.randrange(8))
    structural = data[at] in STRUCTURE or flipped in STRUCTURE
    return data[:at] + bytes([flipped]) + data[at + 1:], (at, len(data) if structural else at + 1)


def _in_string(data: bytes, rng: random.Random) -> int:
    """An offset just after an opening quote or a tag's end: inside a text value."""
    for _ in range(50):
        at = rng.randrange(len(data))
        mark = data.find(b'": "', at)
        if mark > 0:
            return mark + 4
        mark = data.find(b"<title>", at)
        if mark > 0:
            return mark + 7
    return len(data) // 2


def insert_nul(data: bytes, rng: random.Random) -> Mutation:
    at = _in_string(data, rng)
    nul = b"\\u0000" if data.lstrip()[:1] in (b"{", b"[") else b"&#0;"
    if b"<" in data[:100]:
        nul = b"\x00"
    return data[:at] + nul + data[at:], (at, at + 1)


def huge_field(data: bytes, rng: random.Random) -> Mutation:
    at = _in_string(data, rng)
    return data[:at] + b"x" * (MAX_LINE * 2) + data[at:], (at, at + 1)


def bad_encoding(data: bytes, rng: random.Random) -> Mutation:
    at = _in_string(data, rng)
    return data[:at] + b"\xff\xfe\xc3" + data[at:], (at, at + 1)


def missing_field(data: bytes, rng: random.Random) -> Mutation:
    for key in (b'"title"', b"<title>", b'"id"'):
        starts = [m.start() for m in islice(re.finditer(re.escape(key), data), 200)]
        if starts:
            at = rng.choice(starts)
            renamed = key.replace(b"title", b"tilte").replace(b'"id"', b'"di"')
            return data[:at] + renamed + data[at + len(key):], (at, at + len(key))
    return data, None


def nested_json(data: bytes, rng: random.Random) -> Mutation:
    """A field nested 5,000 deep (past any JSON parser's depth limit) added to one object."""
    opens = [m.start() for m in islice(re.finditer(rb'\{"', data), 500)]
    if not opens:
        return data, None
    at = rng.choice(opens) + 1
    deep = b'"deep": ' + b"[" * 5000 + b"]" * 5000 + b", "
    return data[:at] + deep + data[at:], (at, at + 1)


def bom(data: bytes, rng: random.Random) -> Mutation:
    return b"\xef\xbb\xbf" + data, None


def utf16(data: bytes, rng: random.Random) -> Mutation:
    return data.decode("utf-8", "replace").encode("utf-16"), None


ENTITY_HEADER = (b'<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                 b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
                 b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY x SYSTEM "file:///etc/passwd">]>')


def xml_entities(data: bytes, rng: random.Random) -> Mutation:
    """A billion-laughs and an external-entity header, each entity used in a title."""
    if not data.lstrip().startswith(b"<"):
        return data, None
    end = data.find(b"?>") + 2 if data.lstrip().startswith(b"<?xml") else 0
    body = data[end:]
    at = body.find(b"<title>")
    if at > 0:
        body = body[:at + 7] + b"&e;&x;" + body[at + 7:]
    return data[:end] + ENTITY_HEADER + body, (end + at, end + at + 20) if at > 0 else None


MUTATIONS: dict[str, Callable[[bytes, random.Random], Mutation]] = {
    "truncate": truncate, "flip": flip_byte, "nul": insert_nul, "huge": huge_field, "encoding": bad_encoding,
    "missing": missing_field, "nested": nested_json, "bom": bom, "utf16": utf16, "entities": xml_entities,
}


@dataclass
class Outcome:
    target: str
    mutation: str
    seed: int
    traceback: str | None = None
    lost: list[str] = field(default_factory=list)  # keepable keys that did not come through
    unaccounted: int = 0  # original records neither kept nor matched by a quarantined record
    quarantined: int = 0
    bad_reasons: int = 0  # quarantined records without a position or a reason
    leaked: bool = False  # an external entity's content or an expanded entity reached a record

    @property
    def survived(self) -> bool:
        return not (self.traceback or self.lost or self.unaccounted or self.bad_reasons or self.leaked)


def _keys(records: list, key: Callable[[PaperRecord], str] = _source_key) -> list[str]:
    return [key(r) for r in records if isinstance(r, PaperRecord)]


@lru_cache(maxsize=32)
def _baseline(target: Target) -> tuple[list, list[tuple[int, int]]]:
    """The unmutated file's records and entry spans, found once per target (the AAN release is 4 MB)."""
    return target.read(target.path), target.spans(target.path.read_bytes())


def run_one(target: Target, name: str, seed: int, folder: Path) -> Outcome:
    """Mutate `target` with mutation `name` under `seed`, read it, judge the result."""
    outcome = Outcome(target.source, name, seed)
    original = target.path.read_bytes()
    baseline, spans = _baseline(target)
    base_keys = _keys(baseline, target.key)
    mutated, damaged = MUTATIONS[name](original, random.Random(seed))
    path = folder / f"{target.source}-{name}-{seed}{target.path.suffix}"
    path.write_bytes(mutated)
    try:
        records = target.read(path)
    except BaseException:  # noqa: BLE001 - a traceback is exactly what is being counted
        outcome.traceback = traceback.format_exc()
        return outcome
    finally:
        path.unlink()
    kept = set(_keys(records, target.key))
    bad = [r for r in records if isinstance(r, Malformed)]
    outcome.quarantined = len(bad)
    outcome.bad_reasons = sum(1 for r in bad if not (r.position and r.reason))
    text = " ".join(f"{getattr(r, 'title', '')} {getattr(r, 'abstract', '')}" for r in records
                    if isinstance(r, PaperRecord))
    outcome.leaked = "root:" in text or "aaaaaaaaaaaaaaaaaaaa" in text
    present = list(base_keys)
    if len(spans) == len(base_keys):  # entries and records line up: judge entry by entry
        if name == "truncate" and damaged is not None:  # entries after the cut are not in the file
            present = [k for k, (start, _) in zip(base_keys, spans, strict=True) if start < damaged[0]]
        still_there = set(present)
        for key, (start, end) in zip(base_keys, spans, strict=True):
            touched = damaged is not None and start < damaged[1] and damaged[0] < end
            if not touched and key in still_there and key not in kept:
                outcome.lost.append(key)
    missing = [k for k in present if k not in kept]
    if target.key is not _source_key:
        # Keyed by what it shows (a listing card's title): a damaged entry that came through with
        # its damage is there under another key; it accounts for one missing entry.
        missing = missing[: max(0, len(missing) - len(kept - set(base_keys)))]
    if damaged is not None and damaged[1] == len(original) and name != "truncate":
        # Structure broken from here to the end: one quarantined region may hold several entries.
        outcome.unaccounted = len(missing) if missing and not bad else 0
    else:
        outcome.unaccounted = max(0, len(missing) - len(bad)) if missing else 0
    return outcome


def sweep(fixtures: Path, folder: Path, per_kind: int, seed: int = 0) -> list[Outcome]:
    """`per_kind` mutations of each kind over every target."""
    outcomes = []
    for target in targets(fixtures):
        for name in MUTATIONS:
            for n in range(per_kind):
                outcomes.append(run_one(target, name, seed * 1000 + n, folder))
    return outcomes
