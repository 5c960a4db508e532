"""The record of enrichment lookups: which paper was looked up in which source, when, and how.

`paperscope enrich` asks OpenAlex and Semantic Scholar about papers that lack citation counts,
references or ids. Each answer (found, or not found) is kept here per paper and source, so a rerun
skips what was already looked up and a killed run resumes where it stopped. What a lookup found is
merged into the papers by the ordinary ingest path, with its field sources and provenance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    ForeignKey,
    String,
    Table,
    and_,
    exists,
    func,
    or_,
    select,
)

from paperscope.store import schema, writes
from paperscope.store.schema import metadata

Row = dict[str, Any]
_CHUNK = 500

enrichment_lookups = Table(
    "enrichment_lookups",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("source", String(32), primary_key=True),  # openalex | s2
    Column("looked_up_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False),  # found | not_found
    Column("matched_by", String(16)),  # doi | arxiv | openalex | s2 | title, when found
)

TARGET_COLUMNS = ("id", "arxiv_id", "doi", "openalex_id", "s2_id", "title", "title_key", "year",
                  "cited_by_count", "author_count", "authors_source")


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _lacking() -> Any:
    """Papers without a citation count, an OpenAlex or S2 id, or any reference."""
    p, c = schema.papers, schema.citations
    return or_(
        p.c.cited_by_count.is_(None),
        p.c.openalex_id.is_(None),
        p.c.s2_id.is_(None),
        ~exists().where(c.c.citing_id == p.c.id),
    )


def papers_lacking(connection: Connection, limit: int | None = None) -> list[str]:
    """Ids of papers lacking counts, references or ids, oldest first (stable for resuming)."""
    p = schema.papers
    query = select(p.c.id).where(_lacking()).order_by(p.c.created_at, p.c.id)
    if limit:
        query = query.limit(limit)
    return [r[0] for r in connection.execute(query)]


def papers_created_since(connection: Connection, since: datetime) -> list[str]:
    """Ids of papers first stored at or after `since` (the day's new papers)."""
    p = schema.papers
    query = select(p.c.id).where(p.c.created_at >= since).order_by(p.c.created_at, p.c.id)
    return [r[0] for r in connection.execute(query)]


def papers_of_authors(connection: Connection, author_ids: Sequence[str]) -> list[str]:
    s = schema.authorships
    out: list[str] = []
    for chunk in _chunks(list(author_ids)):
        out.extend(r[0] for r in connection.execute(select(s.c.paper_id).where(s.c.author_id.in_(chunk))))
    return sorted(set(out))


def existing_papers(connection: Connection, paper_ids: Sequence[str]) -> set[str]:
    p = schema.papers
    found: set[str] = set()
    for chunk in _chunks(list(paper_ids)):
        found.update(r[0] for r in connection.execute(select(p.c.id).where(p.c.id.in_(chunk))))
    return found


def target_rows(connection: Connection, paper_ids: Sequence[str]) -> list[Row]:
    """What a lookup needs to know of each paper: its ids, title, year and what it lacks."""
    p, c = schema.papers, schema.citations
    has_refs = exists().where(c.c.citing_id == p.c.id).label("has_references")
    columns = [p.c[name] for name in TARGET_COLUMNS]
    by_id: dict[str, Row] = {}
    for chunk in _chunks(list(paper_ids)):
        for row in connection.execute(select(*columns, has_refs).where(p.c.id.in_(chunk))).mappings():
            by_id[row["id"]] = dict(row)
    return [by_id[pid] for pid in paper_ids if pid in by_id]


def looked_up(connection: Connection, paper_ids: Sequence[str], source: str,
              since: datetime | None = None) -> dict[str, Row]:
    """The stored lookup of each paper in `source` (made at or after `since` when given)."""
    t = enrichment_lookups
    out: dict[str, Row] = {}
    for chunk in _chunks(list(paper_ids)):
        conditions = [t.c.source == source, t.c.paper_id.in_(chunk)]
        if since is not None:
            conditions.append(t.c.looked_up_at >= since)
        for row in connection.execute(select(t).where(and_(*conditions))).mappings():
            out[row["paper_id"]] = dict(row)
    return out


def record_lookups(connection: Connection, rows: list[Row]) -> int:
    """Upsert one row per (paper, source): the newest lookup replaces the older one."""
    return writes.upsert(connection, enrichment_lookups, rows, ["paper_id", "source"])


def lookup_counts(connection: Connection) -> dict[str, dict[str, int]]:
    """source -> outcome -> papers, for the status line of `paperscope enrich`."""
    t = enrichment_lookups
    out: dict[str, dict[str, int]] = {}
    query = select(t.c.source, t.c.outcome, func.count()).group_by(t.c.source, t.c.outcome)
    for source, outcome, count in connection.execute(query):
        out.setdefault(source, {})[outcome] = count
    return out
