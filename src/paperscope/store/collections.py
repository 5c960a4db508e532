"""Reads behind the pages of a collection of papers: a category (the card tag), an organisation
(a listing's organisation or an institution named in affiliations) and a venue. Each gives its
papers newest first, a page at a time, their count, and its top authors among its newest papers,
read by id so that a category of half a million papers costs what a small one does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql.elements import ColumnElement

from paperscope.store import schema
from paperscope.store.authors import authorships_of_papers, get_metrics_many, identity_map

Row = dict[str, Any]
KINDS = ("category", "organisation", "venue")
TOP_AUTHORS_SAMPLE = 2000  # the newest papers of a collection its top authors are counted over


def condition(kind: str, key: str) -> ColumnElement[bool]:
    """Which papers belong to the collection `key` of `kind` (a tag, an organisation id, a venue)."""
    p = schema.papers
    if kind == "category":
        return p.c.primary_category == key
    if kind == "organisation":
        po = schema.paper_organisations
        return p.c.id.in_(select(po.c.paper_id).where(po.c.org_id == key))
    if kind == "venue":
        return (schema.venue_prefix == key[:schema.VENUE_PREFIX]) & (p.c.venue == key)
    raise ValueError(f"unknown collection kind {kind!r}: choose one of {', '.join(KINDS)}")


def page_ids(connection: Connection, kind: str, key: str, limit: int, offset: int) -> tuple[list[str], int]:
    """One page of the collection's paper ids, newest first, and how many papers it holds."""
    p = schema.papers
    where = condition(kind, key)
    ids = [r[0] for r in connection.execute(
        select(p.c.id).where(where).order_by(p.c.published.desc().nulls_last(), p.c.id).limit(limit).offset(offset))]
    total = connection.execute(select(func.count()).select_from(p).where(where)).scalar_one()
    return ids, int(total)


def top_authors(connection: Connection, kind: str, key: str, limit: int = 10,
                sample: int = TOP_AUTHORS_SAMPLE) -> tuple[list[Row], int]:
    """The identities with the most papers among the collection's newest `sample` papers, and how
    many papers were counted: (identity id, name, papers there, h-index, field). Reads go by id
    (the papers' authorships, their identities, the profiles), so the cost stays bounded however
    large the collection. A correction that sent an authorship to another identity counts there."""
    p = schema.papers
    ids = [r[0] for r in connection.execute(
        select(p.c.id).where(condition(kind, key)).order_by(p.c.published.desc().nulls_last(), p.c.id).limit(sample))]
    ships = [s for s in authorships_of_papers(connection, ids) if s["origin"] == "source"]
    identity_of = identity_map(connection, [(s["paper_id"], s["author_id"]) for s in ships])
    papers: dict[str, set[str]] = {}
    for pair, identity in identity_of.items():
        papers.setdefault(identity, set()).add(pair[0])
    top = sorted(papers, key=lambda i: (-len(papers[i]), i))[:limit]
    profiles = get_metrics_many(connection, top)
    return [{"identity_id": i, "papers": len(papers[i]), "name": (profiles.get(i) or {}).get("name"),
             "h_index": (profiles.get(i) or {}).get("h_index"), "field": (profiles.get(i) or {}).get("field")}
            for i in top], len(ids)


def organisation(connection: Connection, ref: str) -> Row | None:
    """The organisation `ref` names: its id, else its name (case folded)."""
    o = schema.organisations
    row = connection.execute(select(o).where(o.c.id == ref)).mappings().first()
    if row is None:
        row = connection.execute(select(o).where(func.lower(o.c.name) == ref.lower())
                                 .order_by(o.c.id).limit(1)).mappings().first()
    return dict(row) if row else None


def venue(connection: Connection, ref: str) -> str | None:
    """The venue as stored that `ref` names (exactly, else case folded)."""
    p = schema.papers
    if connection.execute(select(p.c.id).where(condition("venue", ref)).limit(1)).first():
        return ref
    found = connection.execute(select(p.c.venue).where(func.lower(p.c.venue) == ref.lower())
                               .order_by(p.c.venue).limit(1)).first()
    return found[0] if found else None


def similar_names(connection: Connection, kind: str, prefix: str, limit: int = 5) -> list[str]:
    """Organisation or venue names starting like `prefix`, for a did-you-mean."""
    o, p = schema.organisations, schema.papers
    column = o.c.name if kind == "organisation" else p.c.venue
    like = prefix[:3].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = select(column).where(func.lower(column).like(like, escape="\\")).distinct().order_by(column).limit(limit)
    return [r[0] for r in connection.execute(query)]
