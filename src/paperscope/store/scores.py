"""Reads and writes of the scores: embeddings, per-paper scores, fitted models and their inputs.

Every read is a set query streamed or chunked over the whole store; the analytics receive plain
rows and arrays and never see SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from paperscope.store import schema
from paperscope.store.scores_schema import model_runs, paper_scores
from paperscope.store.writes import upsert

Row = dict[str, Any]
_CHUNK = 5000

NOVELTY_COLUMNS = ("novelty_raw", "novelty_pct", "novelty_evidence", "novelty_model")
AI_COLUMNS = ("ai_score", "ai_linear", "ai_explanation", "ai_model_id")
CATEGORY_COLUMNS = ("predicted_category", "category_confidence", "category_model_id")


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def now() -> datetime:
    return datetime.now(UTC)


# --- texts ---------------------------------------------------------------------------------------


def list_texts(connection: Connection, limit: int | None = None, with_abstract: bool = False) -> list[Row]:
    """Papers' id, title and abstract in id order (for fitting a text model)."""
    p = schema.papers
    query = select(p.c.id, p.c.title, p.c.abstract, p.c.primary_category).order_by(p.c.id)
    if with_abstract:
        query = query.where(p.c.abstract.is_not(None))
    if limit:
        query = query.limit(limit)
    return [dict(r) for r in connection.execute(query).mappings()]


def count_papers(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(schema.papers)).scalar_one())


# --- inputs of the scores -----------------------------------------------------------------------


def list_paper_facts(connection: Connection) -> list[Row]:
    """What the scores need of every paper: dates, category, text sizes, counts known at publication
    and the reported citation count (the AI Score's label, never its feature)."""
    p = schema.papers
    query = select(
        p.c.id,
        p.c.title,
        p.c.published,
        p.c.year,
        p.c.primary_category,
        p.c.venue,
        p.c.journal_ref,
        p.c.has_code,
        p.c.author_count,
        p.c.cited_by_count,
        p.c.cited_by_source,
        func.length(p.c.abstract).label("abstract_chars"),
    ).order_by(p.c.id)
    return [dict(r) for r in connection.execute(query).mappings()]


def list_authorship_pairs(connection: Connection) -> list[tuple[str, str]]:
    """(paper_id, author_id) for every author named by a source (page owners added by a listing are
    left out: they are who saved the page, not always an author)."""
    s = schema.authorships
    query = select(s.c.paper_id, s.c.author_id).where(s.c.origin == "source")
    return [(a, b) for a, b in connection.execute(query)]


def list_resolved_citations(connection: Connection) -> list[tuple[str, str]]:
    """(citing paper id, cited paper id) for every edge whose both ends are in the store."""
    c = schema.citations
    query = select(c.c.citing_id, c.c.cited_id).where(c.c.cited_id.is_not(None))
    return [(a, b) for a, b in connection.execute(query)]


def count_references(connection: Connection) -> dict[str, int]:
    """Number of references each paper lists (resolved or not)."""
    c = schema.citations
    query = select(c.c.citing_id, func.count()).group_by(c.c.citing_id)
    return {paper_id: int(n) for paper_id, n in connection.execute(query)}


def paper_ids_in_source(connection: Connection, source: str) -> set[str]:
    ps = schema.paper_sources
    return {r for (r,) in connection.execute(select(ps.c.paper_id).where(ps.c.source == source).distinct())}


def list_badge_cards(connection: Connection) -> list[Row]:
    """Listing cards that say whether they carry a `Code` badge (code_badge not null)."""
    p = schema.papers
    query = select(p.c.id, p.c.title, p.c.abstract, p.c.code_badge).where(p.c.code_badge.is_not(None))
    return [dict(r) for r in connection.execute(query.order_by(p.c.id)).mappings()]


def list_listing_categories(connection: Connection) -> dict[str, str]:
    """Paper id -> the category tag a listing card shows, for papers a listing tagged."""
    ps = schema.paper_sources
    out: dict[str, str] = {}
    for paper_id, record in connection.execute(select(ps.c.paper_id, ps.c.record).where(ps.c.source == "listing")):
        tag = (record or {}).get("primary_category")
        if tag:
            out[paper_id] = str(tag).upper()
    return out


# --- scores -------------------------------------------------------------------------------------


def write_scores(connection: Connection, rows: list[Row], columns: Iterable[str]) -> int:
    """Set `columns` for these papers (other score columns stay as they are)."""
    columns = list(columns)
    stamped = [{"paper_id": r["paper_id"], "computed_at": now(), **{c: r.get(c) for c in columns}} for r in rows]
    written = 0
    for chunk in _chunks(stamped, 2000):
        written += upsert(connection, paper_scores, chunk, ["paper_id"], [*columns, "computed_at"])
    return written


def clear_scores(connection: Connection, columns: Iterable[str]) -> None:
    """Null these columns everywhere (a stage about to write afresh; no stale value survives)."""
    connection.execute(update(paper_scores).values({c: None for c in columns}))


def get_scores(connection: Connection, paper_ids: list[str]) -> dict[str, Row]:
    s = paper_scores
    out: dict[str, Row] = {}
    for chunk in _chunks(paper_ids):
        for row in connection.execute(select(s).where(s.c.paper_id.in_(chunk))).mappings():
            out[row["paper_id"]] = dict(row)
    return out


def get_titles(connection: Connection, paper_ids: list[str]) -> dict[str, Row]:
    p = schema.papers
    out: dict[str, Row] = {}
    for chunk in _chunks(paper_ids):
        query = select(p.c.id, p.c.title, p.c.published, p.c.year).where(p.c.id.in_(chunk))
        for row in connection.execute(query).mappings():
            out[row["id"]] = dict(row)
    return out


def list_author_paper_scores(connection: Connection, author_ids: list[str]) -> dict[str, list[Row]]:
    """Each author's papers' novelty percentile and AI Score (authors named by a source)."""
    s, sc = schema.authorships, paper_scores
    out: dict[str, list[Row]] = {}
    for chunk in _chunks(author_ids):
        query = (
            select(s.c.author_id, s.c.paper_id, sc.c.novelty_pct, sc.c.ai_score)
            .select_from(s.outerjoin(sc, sc.c.paper_id == s.c.paper_id))
            .where(s.c.author_id.in_(chunk), s.c.origin == "source")
        )
        for row in connection.execute(query).mappings():
            out.setdefault(row["author_id"], []).append(dict(row))
    return out


def score_counts(connection: Connection) -> Row:
    s = paper_scores
    query = select(
        func.count(s.c.novelty_raw),
        func.count(s.c.novelty_pct),
        func.count(s.c.ai_score),
        func.count(s.c.predicted_category),
    )
    novelty_raw, novelty_pct, ai, category = connection.execute(query).one()
    return {
        "novelty_raw": novelty_raw,
        "novelty_pct": novelty_pct,
        "ai_score": ai,
        "predicted_category": category,
    }


# --- fitted models ------------------------------------------------------------------------------


def insert_model_run(
    connection: Connection, kind: str, name: str, version: str, card: Row, artifact: bytes | None = None
) -> int:
    result = connection.execute(
        model_runs.insert().values(
            kind=kind, name=name, version=version, created_at=now(), card=card, artifact=artifact
        )
    )
    return int(result.inserted_primary_key[0])


def latest_model_run(
    connection: Connection, kind: str, name: str | None = None, with_artifact: bool = False
) -> Row | None:
    m = model_runs
    columns = [m.c.id, m.c.kind, m.c.name, m.c.version, m.c.created_at, m.c.card]
    if with_artifact:
        columns.append(m.c.artifact)
    query = select(*columns).where(m.c.kind == kind).order_by(m.c.created_at.desc(), m.c.id.desc()).limit(1)
    if name is not None:
        query = query.where(m.c.name == name)
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def find_model_run(connection: Connection, kind: str, name: str, version: str) -> Row | None:
    """The newest run of `kind`/`name` at `version`, with its artifact."""
    m = model_runs
    query = (select(m).where(m.c.kind == kind, m.c.name == name, m.c.version == version)
             .order_by(m.c.id.desc()).limit(1))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def prune_model_artifacts(connection: Connection, kind: str, keep_id: int) -> None:
    """Drop the fitted state of older runs of `kind` (their cards stay, as history)."""
    m = model_runs
    connection.execute(
        update(m).where(m.c.kind == kind, m.c.id != keep_id, m.c.artifact.is_not(None)).values(artifact=None)
    )
