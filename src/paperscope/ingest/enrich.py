"""Enrichment: asking OpenAlex and Semantic Scholar about papers the store already holds.

A paper imported from a listing or a daily list often has no citation count, no references and no
OpenAlex or S2 id, so its authors' h-index and citations read 0. For each such paper and each of
the two sources this looks the paper up by its ids first, in batches (OpenAlex
`filter=doi:a|b|…` and `ids.openalex`, an arXiv paper by its DataCite DOI; S2 `POST /paper/batch`
with `ARXIV:`, `DOI:` or a paperId), then, for the papers no id found, by title one at a time,
accepting only a work whose normalised title is the paper's (and whose year is within one of it).

What comes back goes through the ordinary ingest path (`run_ingest`), so it is merged field by
field with the stored field sources, its raw record kept in paper_sources, its counts observed with
the source's date, its references written as citation edges. Answers that describe no paper we
asked about are dropped, never stored as new papers. The author list of a paper that has one is
kept: enrichment adds counts, references and ids, not authors.

Every lookup, found or not, is recorded per paper and source (store.enrichment) after its batch is
written, so a rerun skips what was done and a killed run resumes with the papers it had not reached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from paperscope.core.ids import normalise_title
from paperscope.core.records import Batch, PaperRecord, Record, set_input
from paperscope.ingest.pipeline import run_ingest
from paperscope.sources import openalex, semantic_scholar
from paperscope.sources.http import PoliteClient
from paperscope.store import enrichment

SOURCES = ("openalex", "s2")
TARGET = "enrich"  # the ingest runs' target: one resumable run per source
YEAR_TOLERANCE = 1
Row = dict[str, Any]
Progress = Callable[[str, int, int], None]  # source, papers done, papers to do


@dataclass
class SourceSummary:
    """What one source's lookups did."""

    asked: int = 0  # papers looked up this run
    skipped: int = 0  # papers looked up before (kept from an earlier or killed run)
    found: Counter[str] = field(default_factory=Counter)  # matched_by -> papers
    not_found: int = 0
    requests: int = 0
    ingest: Counter[str] = field(default_factory=Counter)  # the ingest run's counts

    def as_dict(self) -> dict[str, Any]:
        return {"asked": self.asked, "skipped": self.skipped, "found": dict(self.found),
                "not_found": self.not_found, "requests": self.requests, "ingest": dict(self.ingest)}


@dataclass
class EnrichSummary:
    papers: int = 0  # papers selected
    sources: dict[str, SourceSummary] = field(default_factory=dict)

    @property
    def papers_updated(self) -> int:
        return sum(s.ingest["papers_updated"] for s in self.sources.values())

    def as_dict(self) -> dict[str, Any]:
        return {"papers": self.papers, "papers_updated": self.papers_updated,
                "sources": {k: v.as_dict() for k, v in self.sources.items()}}


@dataclass
class _Targets:
    """The papers of one chunk, indexed by every key an answer may carry."""

    rows: list[Row]
    by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    by_title: dict[str, list[Row]] = field(default_factory=dict)
    found: dict[str, str] = field(default_factory=dict)  # paper id -> matched_by

    def __post_init__(self) -> None:
        for row in self.rows:
            for scheme in ("openalex_id", "s2_id", "doi", "arxiv_id"):
                if row.get(scheme):
                    self.by_key.setdefault((scheme, str(row[scheme]).lower()), row["id"])
            if row.get("title_key"):
                self.by_title.setdefault(row["title_key"], []).append(row)

    def match(self, record: PaperRecord) -> tuple[str, str] | None:
        """(paper id, how) for the paper this answer describes, if we asked about it."""
        for scheme, how in (("openalex_id", "openalex"), ("s2_id", "s2"), ("doi", "doi"), ("arxiv_id", "arxiv")):
            value = getattr(record, scheme)
            if value and (scheme, str(value).lower()) in self.by_key:
                return self.by_key[(scheme, str(value).lower())], how
        return self.match_title(record)

    def match_title(self, record: PaperRecord) -> tuple[str, str] | None:
        if not record.title:
            return None
        for row in self.by_title.get(normalise_title(record.title), []):
            if record.year is None or row["year"] is None or abs(record.year - row["year"]) <= YEAR_TOLERANCE:
                return row["id"], "title"
        return None


def _keep(records: Sequence[Record], targets: _Targets, by_id: dict[str, Row],
          title_only: bool = False) -> list[Record]:
    """The answers about papers we asked for, with the stored author list left alone."""
    kept: list[Record] = []
    for record in records:
        if not isinstance(record, PaperRecord):
            continue  # author profiles embedded in answers, broken entries: not what was asked
        hit = targets.match_title(record) if title_only else targets.match(record)
        if hit is None:
            continue
        paper_id, how = hit
        targets.found.setdefault(paper_id, how)
        if by_id[paper_id].get("authors_source"):
            record.authors = []
            record.author_count = None
            record.authors_truncated = False
        if how == "title":
            # A title match is trusted for the paper only: make sure the ingest lands it there
            # even when the stored paper's year is off by more than the matcher allows.
            record.year = record.year if by_id[paper_id]["year"] is None else by_id[paper_id]["year"]
        kept.append(record)
    return kept


def _openalex_id_batches(client: PoliteClient, rows: list[Row], mailto: str | None,
                         base_url: str) -> Iterator[Batch]:
    with_openalex = [r["openalex_id"] for r in rows if r["openalex_id"]]
    dois = [r["doi"] if r["doi"] else openalex.arxiv_doi(r["arxiv_id"])
            for r in rows if not r["openalex_id"] and (r["doi"] or r["arxiv_id"])]
    yield from openalex.lookup_openalex_works(client, dois=dois, openalex_ids=with_openalex, mailto=mailto,
                                              base_url=base_url)


def _s2_key(row: Row) -> str | None:
    if row["s2_id"]:
        return str(row["s2_id"])
    if row["arxiv_id"]:
        return f"ARXIV:{row['arxiv_id']}"
    if row["doi"]:
        return f"DOI:{row['doi']}"
    return None


def _s2_id_batches(client: PoliteClient, rows: list[Row], base_url: str) -> Iterator[Batch]:
    ids = [key for key in map(_s2_key, rows) if key]
    if ids:
        yield from semantic_scholar.fetch_s2_papers_batch(client, ids, fields=semantic_scholar.ENRICH_FIELDS,
                                                          base_url=base_url)


def _title_lookup(source: str, client: PoliteClient, title: str, mailto: str | None,
                  base_url: str) -> list[Record]:
    if source == "openalex":
        return openalex.search_openalex_title(client, title, mailto=mailto, base_url=base_url)
    return semantic_scholar.match_s2_title(client, title, fields=semantic_scholar.ENRICH_FIELDS, base_url=base_url)


def enrich_source(
    engine: Engine,
    source: str,
    client: PoliteClient,
    paper_ids: Sequence[str],
    *,
    again: bool = False,
    by_title: bool = True,
    chunk: int = 50,
    mailto: str | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
) -> SourceSummary:
    """Look `paper_ids` up in `source` ("openalex" or "s2") and merge what is found.

    Papers with a recorded lookup in this source are skipped unless `again`. Raises SourceError
    when the source fails; the lookups recorded up to then stand, so the same call resumes.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown enrichment source {source!r}: choose one of {', '.join(SOURCES)}")
    base = base_url or (openalex.BASE_URL if source == "openalex" else semantic_scholar.BASE_URL)
    summary = SourceSummary()
    with engine.connect() as connection:
        done = set() if again else set(enrichment.looked_up(connection, paper_ids, source))
        todo = [pid for pid in paper_ids if pid not in done]
        rows = enrichment.target_rows(connection, todo)
    summary.skipped = len(paper_ids) - len(todo)
    by_id = {row["id"]: row for row in rows}
    counted = Counter[str]()

    def batches(_cursor: str | None) -> Iterator[Batch]:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            targets = _Targets(part)
            id_batches = (_openalex_id_batches(client, part, mailto, base) if source == "openalex"
                          else _s2_id_batches(client, part, base))
            for batch in id_batches:
                summary.requests += 1
                # One response is one input for the repeat rule (ingest/repeats.py): the label
                # names the part too, as every part's id batches count from 0.
                label = f"{source} {batch.label} of papers {start}-{start + len(part) - 1}"
                kept = [set_input(r, label) for r in _keep(batch.records, targets, by_id)]
                yield Batch(kept, cursor=None, label=label)
            if by_title:
                for row in part:
                    if row["id"] in targets.found or not row["title"]:
                        continue
                    summary.requests += 1
                    answers = _title_lookup(source, client, row["title"], mailto, base)
                    single = _Targets([row])
                    kept = _keep(answers, single, by_id, title_only=True)
                    targets.found.update(single.found)
                    yield Batch(kept, cursor=None, label=f"{source} title of {row['id']}")
            # Reached only once every batch above is written (run_ingest writes each before it
            # asks for the next): the record of these lookups never runs ahead of their results.
            now = datetime.now(UTC)
            looked = [{"paper_id": r["id"], "source": source, "looked_up_at": now,
                       "outcome": "found" if r["id"] in targets.found else "not_found",
                       "matched_by": targets.found.get(r["id"])} for r in part]
            with engine.begin() as connection:
                enrichment.record_lookups(connection, looked)
            summary.asked += len(part)
            summary.found.update(targets.found.values())
            summary.not_found += len(part) - len(targets.found)
            if progress:
                progress(source, summary.asked, len(rows))

    if rows:
        counted.update(run_ingest(engine, source, TARGET, batches).counts)
    summary.ingest = counted
    return summary


def select_papers(engine: Engine, *, paper_ids: Sequence[str] = (), author_paper_ids: Sequence[str] = (),
                  missing: bool = False, since: datetime | None = None, limit: int | None = None) -> list[str]:
    """The papers to enrich: those named, an author's, those lacking counts, references or ids,
    or those stored since `since`. Raises ValueError naming paper ids the store does not hold."""
    with engine.connect() as connection:
        chosen: list[str] = []
        if paper_ids:
            known = enrichment.existing_papers(connection, paper_ids)
            unknown = [p for p in paper_ids if p not in known]
            if unknown:
                raise ValueError(f"no paper with id {', '.join(map(repr, unknown[:5]))} in the store"
                                 + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""))
            chosen.extend(paper_ids)
        chosen.extend(author_paper_ids)
        if since is not None:
            chosen.extend(enrichment.papers_created_since(connection, since))
        if missing:
            chosen.extend(enrichment.papers_lacking(connection, limit))
    return list(dict.fromkeys(chosen))[:limit] if limit else list(dict.fromkeys(chosen))

