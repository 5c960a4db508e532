"""Reads the web pages need beyond the paper queries: list windows by date, trending candidates,
a keyword search over titles and abstracts, author lookup by name, per-year citation counts, and
the identity behind each author name on a paper. Every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Float, and_, column, func, or_, select, table
from sqlalchemy.sql import Select

from paperscope.store import schema
from paperscope.store.authors import has_table, identity_map
from paperscope.store.authors_schema import author_metrics
from paperscope.store.queries import PaperFilter, attach_authors, filter_papers

Row = dict[str, Any]
# paper_scores belongs to the scores migration; a store without it simply has no scores.
_scores = table("paper_scores", column("paper_id"), column("ai_score", Float))


def _with_min_score(connection: Connection, query: Select, min_score: float | None) -> Select:
    if min_score is None:
        return query
    if not has_table(connection, "paper_scores"):
        return query.where(False)  # no scores at all: nothing reaches a minimum
    p = schema.papers
    return query.join(_scores, _scores.c.paper_id == p.c.id).where(_scores.c.ai_score >= min_score)


def _keyword_clause(terms: Sequence[str]):  # type: ignore[no-untyped-def]
    p = schema.papers
    clauses = []
    for term in terms:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(or_(p.c.title.ilike(pattern, escape="\\"), p.c.abstract.ilike(pattern, escape="\\")))
    return and_(*clauses)


def keyword_search(
    connection: Connection, terms: Sequence[str], f: PaperFilter, min_score: float | None,
    limit: int, offset: int,
) -> tuple[list[Row], int]:
    """Papers whose title or abstract contains every term (case-insensitive), newest first."""
    p = schema.papers
    base = _with_min_score(connection, filter_papers(select(p), f), min_score)
    counted = _with_min_score(connection, filter_papers(select(func.count()).select_from(p), f), min_score)
    if terms:
        base = base.where(_keyword_clause(terms))
        counted = counted.where(_keyword_clause(terms))
    query = base.order_by(p.c.published.desc().nulls_last(), p.c.id).limit(limit).offset(offset)
    rows = [dict(r) for r in connection.execute(query).mappings()]
    attach_authors(connection, rows)
    return rows, int(connection.execute(counted).scalar_one())


def papers_by_ids(connection: Connection, ids: Sequence[str]) -> list[Row]:
    """Full paper rows (with authorships) in the order of `ids`; unknown ids are left out."""
    if not ids:
        return []
    p = schema.papers
    found = {r["id"]: dict(r) for r in connection.execute(select(p).where(p.c.id.in_(list(ids)))).mappings()}
    rows = [found[i] for i in ids if i in found]
    attach_authors(connection, rows)
    return rows


def find_authors_by_name(connection: Connection, name_key: str, limit: int) -> list[Row]:
    """Profiles whose normalised name equals or starts with `name_key`; exact and prolific first."""
    m = author_metrics
    if not name_key or not has_table(connection, "author_metrics"):
        return []
    # A prefix as a range on the index of name_key (a LIKE cannot use it under every collation):
    # every key that starts with name_key sorts between it and it followed by the highest code point.
    query = (
        select(m.c.identity_id, m.c.name, m.c.field, m.c.papers, m.c.citations, m.c.h_index)
        .where(m.c.name_key >= name_key, m.c.name_key < name_key + "\U0010ffff")
        .order_by((m.c.name_key == name_key).desc(), m.c.papers.desc(), m.c.identity_id)
        .limit(limit)
    )
    return [dict(r) for r in connection.execute(query).mappings()]


def authorship_identities(connection: Connection, authorships: Sequence[Row]) -> dict[tuple[str, str], str]:
    """The profile (identity id) behind each (paper id, author id); empty before any recompute."""
    if not authorships or not has_table(connection, "author_metrics"):
        return {}
    pairs = [(a["paper_id"], a["author_id"]) for a in authorships]
    resolved = identity_map(connection, pairs)
    m = author_metrics
    wanted = sorted(set(resolved.values()))
    known: set[str] = set()
    for start in range(0, len(wanted), 500):
        known.update(r[0] for r in connection.execute(
            select(m.c.identity_id).where(m.c.identity_id.in_(wanted[start:start + 500]))))
    return {pair: ident for pair, ident in resolved.items() if ident in known}


def reported_citation_years(connection: Connection, paper_id: str) -> dict[str, dict[int, int]]:
    """Citations per year as each source reported them for one paper: {source: {year: count}}."""
    c = schema.citation_counts
    out: dict[str, dict[int, int]] = {}
    query = (select(c.c.source, c.c.year, c.c.count).where(c.c.paper_id == paper_id)
             .order_by(c.c.source, c.c.year))
    for source, year, count in connection.execute(query):
        out.setdefault(source, {})[int(year)] = int(count)
    return out
