"""Reads behind search and discovery: what the indexes are built from, the filters and sort keys
applied to index hits, the result cards, the feeds and the observations trending is computed from.

Every read is a set query over a page of papers or a list of ids (chunked below the bound-parameter
limits), the same SQL on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from paperscope.core.categories import short_tag
from paperscope.store import schema
from paperscope.store.queries import PaperFilter, filter_papers
from paperscope.store.scores_schema import paper_scores

Row = dict[str, Any]
_CHUNK = 5000


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class SearchFilter:
    """Filters every search mode applies. `category` is a short tag ("LG") or an arXiv category
    ("cs.LG"); `author` an author id or a name matched on its normalised key."""

    category: str | None = None
    since: date | None = None
    until: date | None = None
    has_code: bool | None = None
    author: str | None = None
    min_score: float | None = None  # minimum AI Score (paper_scores.ai_score)
    paper_ids: tuple[str, ...] = ()  # only these papers (an author identity's, resolved by services)

    def is_empty(self) -> bool:
        return not (
            self.category or self.since or self.until or self.has_code is not None or self.author
            or self.min_score is not None or self.paper_ids
        )

    @property
    def tag(self) -> str | None:
        return short_tag(self.category).upper() if self.category else None  # type: ignore[union-attr]


def _apply(query, f: SearchFilter):  # type: ignore[no-untyped-def]
    shared = PaperFilter(category=f.tag, since=f.since, until=f.until, has_code=f.has_code, author=f.author,
                         ids=f.paper_ids)
    query = filter_papers(query, shared)
    if f.min_score is not None:
        scored = select(paper_scores.c.paper_id).where(paper_scores.c.ai_score >= f.min_score)
        query = query.where(schema.papers.c.id.in_(scored))
    return query


# --- what the indexes are built from ------------------------------------------------------------


def papers_to_index(
    connection: Connection, changed_after: datetime | None, after_id: str | None, limit: int = 5000
) -> list[Row]:
    """A page (id order, after `after_id`) of the papers updated after `changed_after` (all when None):
    the text fields, facets and author names the lexical index holds."""
    p, s = schema.papers, schema.authorships
    query = (
        select(
            p.c.id, p.c.title, p.c.abstract, p.c.primary_category, p.c.categories, p.c.published,
            p.c.has_code, p.c.updated_at,
        )
        .order_by(p.c.id)
        .limit(limit)
    )
    if changed_after is not None:
        query = query.where(p.c.updated_at > changed_after)
    if after_id is not None:
        query = query.where(p.c.id > after_id)
    rows = [dict(r) for r in connection.execute(query).mappings()]
    if rows:
        names: dict[str, list[str]] = {}
        authors = select(s.c.paper_id, s.c.name).where(
            s.c.paper_id.in_([r["id"] for r in rows]), s.c.origin == "source"
        ).order_by(s.c.paper_id, s.c.position)
        for paper_id, name in connection.execute(authors):
            names.setdefault(paper_id, []).append(name)
        for row in rows:
            row["authors"] = names.get(row["id"], [])
    return rows


def latest_paper_update(connection: Connection) -> datetime | None:
    return connection.execute(select(func.max(schema.papers.c.updated_at))).scalar_one()


def count_papers(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(schema.papers)).scalar_one())


def all_paper_ids(connection: Connection) -> set[str]:
    return {pid for (pid,) in connection.execute(select(schema.papers.c.id))}


# --- filters, sort keys and cards ----------------------------------------------------------------


def filter_ids(connection: Connection, ids: list[str], f: SearchFilter) -> set[str]:
    """The ids among `ids` that pass the filter."""
    p = schema.papers
    kept: set[str] = set()
    for chunk in _chunks(ids):
        query = _apply(select(p.c.id).where(p.c.id.in_(chunk)), f)
        kept.update(pid for (pid,) in connection.execute(query))
    return kept


def count_filtered(connection: Connection, f: SearchFilter) -> int:
    p = schema.papers
    return int(connection.execute(_apply(select(func.count()).select_from(p), f)).scalar_one())


def filtered_ids(connection: Connection, f: SearchFilter) -> list[str]:
    p = schema.papers
    return [pid for (pid,) in connection.execute(_apply(select(p.c.id), f))]


def ranking_facts(connection: Connection, ids: list[str]) -> dict[str, Row]:
    """What ranking a result and saying why it matched need (not what its card shows: that is
    store.cards): title, abstract, date, category, code, citations, upvotes, featured day, AI Score
    and the authors' names."""
    p, s, sc = schema.papers, schema.authorships, paper_scores
    cards: dict[str, Row] = {}
    for chunk in _chunks(ids):
        query = select(
            p.c.id, p.c.title, p.c.abstract, p.c.published, p.c.primary_category, p.c.has_code,
            p.c.code_urls, p.c.cited_by_count, p.c.upvotes, p.c.featured_on, p.c.arxiv_id, p.c.doi,
            sc.c.ai_score,
        ).select_from(p.outerjoin(sc, sc.c.paper_id == p.c.id)).where(p.c.id.in_(chunk))
        for row in connection.execute(query).mappings():
            cards[row["id"]] = {**dict(row), "authors": []}
        authors = select(s.c.paper_id, s.c.name).where(
            s.c.paper_id.in_(chunk), s.c.origin == "source"
        ).order_by(s.c.paper_id, s.c.position)
        for paper_id, name in connection.execute(authors):
            if paper_id in cards:
                cards[paper_id]["authors"].append(name)
    return cards


# --- feeds and trending --------------------------------------------------------------------------


def feed_papers(connection: Connection, start: date, end: date, f: SearchFilter) -> list[Row]:
    """Papers whose feed day falls in [start, end]: the day a daily list featured them when a source
    says so, else their publication date. Returns id, feed_day, published, featured_on, upvotes."""
    p = schema.papers
    featured = and_(p.c.featured_on.is_not(None), p.c.featured_on >= start, p.c.featured_on <= end)
    published = and_(p.c.featured_on.is_(None), p.c.published >= start, p.c.published <= end)
    out: list[Row] = []
    for condition in (featured, published):
        query = _apply(
            select(p.c.id, p.c.published, p.c.featured_on, p.c.upvotes, p.c.cited_by_count).where(condition),
            f,
        )
        for row in connection.execute(query).mappings():
            item = dict(row)
            item["feed_day"] = item["featured_on"] or item["published"]
            out.append(item)
    return out


def latest_feed_day(connection: Connection, not_after: date | None = None) -> date | None:
    """The latest featured or publication day in the store (not after `not_after`)."""
    p = schema.papers
    days = []
    for column in (p.c.featured_on, p.c.published):
        query = select(func.max(column))
        if not_after is not None:
            query = query.where(column <= not_after)
        value = connection.execute(query).scalar_one()
        if value is not None:
            days.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
    return max(days) if days else None


def observations_since(
    connection: Connection, since: datetime | None, paper_ids: list[str] | None = None
) -> list[Row]:
    """The whole observation history (paper, source, time, citations, upvotes, with the papers'
    featured and publication days) of the papers observed at or after `since`, or of `paper_ids`,
    in paper, source, time order."""
    o, p = schema.observations, schema.papers
    base = (
        select(
            o.c.paper_id, o.c.source, o.c.observed_at, o.c.dated_by, o.c.cited_by_count, o.c.upvotes,
            p.c.featured_on, p.c.published,
        )
        .select_from(o.join(p, p.c.id == o.c.paper_id))
        .order_by(o.c.paper_id, o.c.source, o.c.observed_at, o.c.id)
    )
    if paper_ids is None and since is not None:
        # The papers first (an index read on observed_at), then their whole histories by paper id.
        recent = select(o.c.paper_id).where(o.c.observed_at >= since)
        paper_ids = sorted({pid for (pid,) in connection.execute(recent)})
    if paper_ids is not None:
        out: list[Row] = []
        for chunk in _chunks(paper_ids):
            out.extend(dict(r) for r in connection.execute(base.where(o.c.paper_id.in_(chunk))).mappings())
        out.sort(key=lambda r: (r["paper_id"], r["source"], r["observed_at"]))
        return out
    return [dict(r) for r in connection.execute(base).mappings()]


def latest_observation(connection: Connection) -> datetime | None:
    return connection.execute(select(func.max(schema.observations.c.observed_at))).scalar_one()
