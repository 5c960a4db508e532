"""Reads for the services: paper lists with filters, streamed exports, counts, quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, or_, select

from paperscope.core.ids import normalise_person_name
from paperscope.store import schema

Row = dict[str, Any]


@dataclass(frozen=True)
class PaperFilter:
    category: str | None = None  # short tag, e.g. "LG"
    since: date | None = None
    until: date | None = None
    has_code: bool | None = None
    author: str | None = None  # author id, or a name matched on its normalised key
    source: str | None = None
    ids: tuple[str, ...] = ()


def filter_papers(query, f: PaperFilter):  # type: ignore[no-untyped-def]
    """`query` over papers narrowed by the filter (shared by listings, exports and search)."""
    p = schema.papers
    if f.category:
        query = query.where(p.c.primary_category == f.category.upper())
    if f.since:
        query = query.where(p.c.published >= f.since)
    if f.until:
        query = query.where(p.c.published <= f.until)
    if f.has_code is not None:
        query = query.where(p.c.has_code.is_(f.has_code))
    if f.ids:
        query = query.where(p.c.id.in_(f.ids))
    if f.author:
        a, s = schema.authors, schema.authorships
        matching = select(s.c.paper_id).join(a, a.c.id == s.c.author_id).where(
            or_(a.c.id == f.author, a.c.name_key == normalise_person_name(f.author))
        )
        query = query.where(p.c.id.in_(matching))
    if f.source:
        ps = schema.paper_sources
        query = query.where(p.c.id.in_(select(ps.c.paper_id).where(ps.c.source == f.source)))
    return query


def list_papers(
    connection: Connection, f: PaperFilter, limit: int = 50, offset: int = 0, order: str = "newest"
) -> list[Row]:
    p = schema.papers
    ordering = {
        "newest": (p.c.published.desc().nulls_last(), p.c.id),
        "oldest": (p.c.published.asc().nulls_last(), p.c.id),
        "citations": (p.c.cited_by_count.desc().nulls_last(), p.c.id),
        "upvotes": (p.c.upvotes.desc().nulls_last(), p.c.id),
    }[order]
    query = filter_papers(select(p), f).order_by(*ordering).limit(limit).offset(offset)
    rows = [dict(r) for r in connection.execute(query).mappings()]
    attach_authors(connection, rows)
    return rows


def count_papers(connection: Connection, f: PaperFilter) -> int:
    p = schema.papers
    return int(connection.execute(filter_papers(select(func.count()).select_from(p), f)).scalar_one())


def attach_authors(connection: Connection, rows: list[Row]) -> None:
    """Adds `authorships` (ordered) and `external_ids` to each paper row, two queries in all."""
    if not rows:
        return
    ids = [r["id"] for r in rows]
    s, x = schema.authorships, schema.paper_external_ids
    ships: dict[str, list[Row]] = {}
    for r in connection.execute(
        select(s).where(s.c.paper_id.in_(ids)).order_by(s.c.paper_id, s.c.position)
    ).mappings():
        ships.setdefault(r["paper_id"], []).append(dict(r))
    external: dict[str, dict[str, str]] = {}
    for r in connection.execute(select(x).where(x.c.paper_id.in_(ids))).mappings():
        external.setdefault(r["paper_id"], {})[r["scheme"]] = r["value"]
    for row in rows:
        row["authorships"] = ships.get(row["id"], [])
        row["external_ids"] = external.get(row["id"], {})


def iter_papers(connection: Connection, f: PaperFilter, chunk: int = 2000) -> Iterator[Row]:
    """Every matching paper in id order, streamed in keyset-paged chunks (bounded memory)."""
    p = schema.papers
    last: str | None = None
    while True:
        query = filter_papers(select(p), f).order_by(p.c.id).limit(chunk)
        if last is not None:
            query = query.where(p.c.id > last)
        rows = [dict(r) for r in connection.execute(query).mappings()]
        if not rows:
            return
        attach_authors(connection, rows)
        yield from rows
        last = rows[-1]["id"]


def find_paper(connection: Connection, ref: str) -> Row | None:
    """A paper by paperscope id, or by arXiv id / DOI / OpenAlex / S2 id in any usual spelling."""
    p = schema.papers
    ref = ref.strip()
    candidates = [p.c.id == ref]
    lowered = ref.lower()
    for prefix, column in (("arxiv:", p.c.arxiv_id), ("doi:", p.c.doi), ("openalex:", p.c.openalex_id),
                           ("s2:", p.c.s2_id)):
        if lowered.startswith(prefix):
            value = ref[len(prefix):]
            candidates.append(column == (value.lower() if prefix == "doi:" else value))
    candidates += [p.c.arxiv_id == ref, p.c.doi == lowered, p.c.openalex_id == ref, p.c.s2_id == ref]
    row = connection.execute(select(p).where(or_(*candidates)).limit(1)).mappings().first()
    if row is None:
        return None
    result = [dict(row)]
    attach_authors(connection, result)
    return result[0]


def table_counts(connection: Connection) -> dict[str, int]:
    counts = {}
    for table in schema.metadata.sorted_tables:
        counts[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    return counts


def papers_by_source(connection: Connection) -> dict[str, int]:
    ps = schema.paper_sources
    query = select(ps.c.source, func.count(func.distinct(ps.c.paper_id))).group_by(ps.c.source)
    return {source: int(n) for source, n in connection.execute(query)}


def papers_by_category(connection: Connection, limit: int = 15) -> list[tuple[str | None, int]]:
    p = schema.papers
    query = (
        select(p.c.primary_category, func.count()).group_by(p.c.primary_category)
        .order_by(func.count().desc()).limit(limit)
    )
    return [(c, int(n)) for c, n in connection.execute(query)]


def list_quarantine(connection: Connection, source: str | None = None, limit: int = 100) -> list[Row]:
    q = schema.quarantine
    query = select(q).order_by(q.c.id.desc()).limit(limit)
    if source:
        query = query.where(q.c.source == source)
    return [dict(r) for r in connection.execute(query).mappings()]


def has_category(connection: Connection, tag: str) -> bool:
    p = schema.papers
    return connection.execute(select(p.c.id).where(p.c.primary_category == tag).limit(1)).first() is not None


def stored_categories(connection: Connection) -> set[str]:
    """Every primary category tag the papers carry."""
    p = schema.papers
    return {r[0] for r in connection.execute(select(p.c.primary_category).distinct()) if r[0]}


def paper_source_records(connection: Connection, paper_id: str) -> list[Row]:
    """Every version of what each source said about one paper, oldest first."""
    ps = schema.paper_sources
    query = (select(ps.c.source, ps.c.source_key, ps.c.first_seen, ps.c.run_id, ps.c.record)
             .where(ps.c.paper_id == paper_id).order_by(ps.c.first_seen, ps.c.source, ps.c.source_key))
    return [dict(r) for r in connection.execute(query).mappings()]
