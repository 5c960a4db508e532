"""SQL of author profiles: the bulk reads the recompute starts from, its bulk writes, corrections,
and the per-profile reads the services make.

Bulk reads return plain tuples straight from the driver (no row objects: the recompute reads millions
of authorships); bulk writes go through the driver too (executemany on SQLite, COPY on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Text, cast, delete, func, inspect, select

from paperscope.store import schema
from paperscope.store.authors_schema import (
    author_corrections,
    author_identity_links,
    author_metrics,
    author_pages,
    author_runs,
    author_similar,
    authorship_identities,
)

Row = dict[str, Any]
_CHUNK = 5000


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def has_table(connection: Connection, name: str) -> bool:
    return inspect(connection).has_table(name)


def _fetch(connection: Connection, sql: str) -> list[tuple]:
    """All rows of a bulk read as plain tuples from the driver's own cursor (no row objects)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def db_timestamp(connection: Connection, value: datetime) -> Any:
    """A timestamp as the driver stores it for a DateTime column written by bulk_insert."""
    return _sqlite_value(value) if connection.dialect.name == "sqlite" else value


# --- bulk reads ---------------------------------------------------------------------------------

def load_authors(connection: Connection) -> list[tuple]:
    """(id, name, name_key, orcid, openalex_id, s2_id) of every author row."""
    return _fetch(connection, "SELECT id, name, name_key, orcid, openalex_id, s2_id FROM authors")


def load_authorships(connection: Connection) -> list[tuple]:
    """(paper_id, position, author_id) of every authorship."""
    return _fetch(connection, "SELECT paper_id, position, author_id FROM authorships")


def load_papers(connection: Connection) -> list[tuple]:
    """(id, year, primary_category, cited_by_count, cited_by_source, published) of every paper."""
    return _fetch(connection, "SELECT id, year, primary_category, cited_by_count, cited_by_source, published "
                              "FROM papers")


def load_cross_listed(connection: Connection) -> list[tuple]:
    """(paper id, categories as JSON text) of papers listed in more than one category."""
    p = schema.papers
    text = cast(p.c.categories, Text)
    return [tuple(r) for r in connection.execute(select(p.c.id, text).where(text.like("%,%")))]


def load_edges(connection: Connection) -> list[tuple]:
    """(citing id, cited id) of every edge resolved to a paper in the store (a citing paper may
    cite one paper under two id schemes: callers count distinct pairs)."""
    return _fetch(connection, "SELECT citing_id, cited_id FROM citations WHERE cited_id IS NOT NULL")


def load_citation_counts(connection: Connection) -> list[tuple]:
    """(paper id, source, year, count): citations per year as sources reported them."""
    return _fetch(connection, 'SELECT paper_id, source, year, "count" FROM citation_counts')


def load_paper_scores(connection: Connection) -> list[tuple]:
    """(paper id, novelty percentile, AI Score) where the scores table exists; else nothing."""
    if not has_table(connection, "paper_scores"):
        return []
    return connection.exec_driver_sql(
        "SELECT paper_id, novelty_pct, ai_score FROM paper_scores "
        "WHERE novelty_pct IS NOT NULL OR ai_score IS NOT NULL").fetchall()


def load_multi_source_authors(connection: Connection) -> list[tuple[str, str, list[Row]]]:
    """(paper id, source, authors as that source listed them) for papers seen in 2+ sources."""
    ps = schema.paper_sources
    several = select(ps.c.paper_id).group_by(ps.c.paper_id).having(func.count(func.distinct(ps.c.source)) > 1)
    out: list[tuple[str, str, list[Row]]] = []
    for paper_id, source, record in connection.execute(
        select(ps.c.paper_id, ps.c.source, ps.c.record).where(ps.c.paper_id.in_(several))
        .order_by(ps.c.paper_id, ps.c.source, ps.c.source_key)
    ):
        authors = (record or {}).get("authors") or []
        if authors:
            out.append((paper_id, source, authors))
    return out


def papers_changed_since(connection: Connection, since: datetime) -> list[str]:
    """Papers written since `since`, and the papers they cite (their counts may have changed)."""
    p, c = schema.papers, schema.citations
    fresh = [r[0] for r in connection.execute(select(p.c.id).where(p.c.updated_at > since))]
    cited: set[str] = set()
    for chunk in _chunks(fresh):
        cited.update(r[0] for r in connection.execute(
            select(c.c.cited_id).where(c.c.citing_id.in_(chunk), c.c.cited_id.is_not(None))))
    return sorted(set(fresh) | cited)


# --- bulk writes --------------------------------------------------------------------------------

def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value


def bulk_insert(connection: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple],
                prepared: bool = False) -> int:
    """Insert plain tuples fast: executemany on SQLite, COPY on PostgreSQL. `prepared`: the rows
    already hold JSON as text and timestamps from db_timestamp, so no value is converted."""
    if not rows:
        return 0
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row if prepared else [_pg_value(v) for v in row])
        return len(rows)
    marks = ", ".join("?" for _ in columns)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                           rows if prepared else [tuple(_sqlite_value(v) for v in row) for row in rows])
    finally:
        cursor.close()
    return len(rows)


def replace_identities(connection: Connection, links: list[tuple], overrides: list[tuple]) -> None:
    """The identity tables become exactly these rows (they are derived; corrections are not here)."""
    connection.execute(delete(author_identity_links))
    connection.execute(delete(authorship_identities))
    bulk_insert(connection, "author_identity_links", ["author_id", "identity_id", "rule", "evidence"], links)
    bulk_insert(connection, "authorship_identities",
                ["paper_id", "author_id", "identity_id", "rule", "evidence"], overrides)


METRIC_COLUMNS = [c.name for c in author_metrics.columns]


def replace_metrics(connection: Connection, rows: list[tuple], identity_ids: Sequence[str] | None) -> int:
    """Write metric rows (tuples in METRIC_COLUMNS order). identity_ids None: replace the whole
    table; else replace only those identities' rows."""
    if identity_ids is None:
        connection.execute(delete(author_metrics))
    else:
        for chunk in _chunks(list(identity_ids)):
            connection.execute(delete(author_metrics).where(author_metrics.c.identity_id.in_(chunk)))
    return bulk_insert(connection, "author_metrics", METRIC_COLUMNS, rows, prepared=True)


def replace_similar(connection: Connection, rows: list[tuple]) -> int:
    connection.execute(delete(author_similar))
    columns = ["identity_id", "similar", "method", "computed_at"]
    return bulk_insert(connection, "author_similar", columns, rows)


def start_run(connection: Connection, mode: str, now: datetime) -> int:
    result = connection.execute(author_runs.insert().values(mode=mode, started_at=now, counts={}))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish_run(connection: Connection, run_id: int, counts: dict[str, Any], now: datetime) -> None:
    connection.execute(author_runs.update().where(author_runs.c.id == run_id)
                       .values(finished_at=now, counts=counts))


def last_run(connection: Connection) -> Row | None:
    row = connection.execute(
        select(author_runs).where(author_runs.c.finished_at.is_not(None))
        .order_by(author_runs.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


# --- corrections --------------------------------------------------------------------------------

def add_correction(connection: Connection, kind: str, a: str, b: str | None = None,
                   papers: Sequence[str] = (), note: str | None = None) -> int:
    result = connection.execute(author_corrections.insert().values(
        kind=kind, a=a, b=b, papers=list(papers), note=note, created_at=datetime.now(UTC)))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def list_corrections(connection: Connection) -> list[Row]:
    return [dict(r) for r in connection.execute(
        select(author_corrections).order_by(author_corrections.c.id)).mappings()]


def delete_correction(connection: Connection, correction_id: int) -> bool:
    result = connection.execute(delete(author_corrections).where(author_corrections.c.id == correction_id))
    return bool(result.rowcount)


# --- one profile --------------------------------------------------------------------------------

def find_identities(connection: Connection, ref: str, name_key: str) -> list[str]:
    """Identity ids a user's reference may mean: an identity id, a member author id, or a name."""
    m, links, ai = author_metrics, author_identity_links, authorship_identities
    if connection.execute(select(m.c.identity_id).where(m.c.identity_id == ref)).first():
        return [ref]
    hit = connection.execute(select(links.c.identity_id).where(links.c.author_id == ref)).first()
    if hit:
        return [hit[0]]
    ids = [r[0] for r in connection.execute(
        select(m.c.identity_id).where(m.c.name_key == name_key).order_by(m.c.papers.desc(), m.c.identity_id))]
    if ids:
        return ids
    hit = connection.execute(select(ai.c.identity_id).where(ai.c.identity_id == ref).limit(1)).first()
    return [hit[0]] if hit else []


def get_metrics(connection: Connection, identity_id: str) -> Row | None:
    row = connection.execute(
        select(author_metrics).where(author_metrics.c.identity_id == identity_id)).mappings().first()
    return dict(row) if row else None


def get_metrics_many(connection: Connection, identity_ids: Sequence[str]) -> dict[str, Row]:
    out: dict[str, Row] = {}
    for chunk in _chunks(list(identity_ids)):
        for row in connection.execute(
            select(author_metrics.c.identity_id, author_metrics.c.name, author_metrics.c.field,
                   author_metrics.c.h_index, author_metrics.c.papers)
            .where(author_metrics.c.identity_id.in_(chunk))
        ).mappings():
            out[row["identity_id"]] = dict(row)
    return out


def identity_authorships(connection: Connection, identity_id: str, members: Sequence[str]) -> list[Row]:
    """The authorships of one identity: its members' authorships whose resolved identity is it
    (overrides send some elsewhere), plus authorships an override sends to it."""
    s, ai = schema.authorships, authorship_identities
    rows: dict[tuple[str, str], Row] = {}
    for chunk in _chunks(list(members)):
        for r in connection.execute(select(s).where(s.c.author_id.in_(chunk))).mappings():
            rows[(r["paper_id"], r["author_id"])] = dict(r)
    query = select(ai).where(ai.c.identity_id == identity_id)
    moved = [dict(r) for r in connection.execute(query).mappings()]
    for r in moved:
        found = connection.execute(select(s).where(
            s.c.paper_id == r["paper_id"], s.c.author_id == r["author_id"])).mappings().first()
        if found:
            rows[(r["paper_id"], r["author_id"])] = dict(found)
    resolved = identity_map(connection, list(rows))
    evidence = {(r["paper_id"], r["author_id"]): r for r in moved}
    out = []
    for key, row in rows.items():
        if resolved[key] == identity_id:
            if key in evidence:
                why = evidence[key]
                row = {**row, "identity_rule": why["rule"], "identity_evidence": why["evidence"]}
            out.append(row)
    return out


def identity_map(connection: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The identity of each (paper id, author id) authorship."""
    links, ai = author_identity_links, authorship_identities
    author_ids = sorted({a for _, a in pairs})
    linked: dict[str, str] = {}
    for chunk in _chunks(author_ids):
        linked.update((r[0], r[1]) for r in connection.execute(
            select(links.c.author_id, links.c.identity_id).where(links.c.author_id.in_(chunk))))
    paper_ids = sorted({p for p, _ in pairs})
    moved: dict[tuple[str, str], str] = {}
    for chunk in _chunks(paper_ids):
        moved.update(((r[0], r[1]), r[2]) for r in connection.execute(
            select(ai.c.paper_id, ai.c.author_id, ai.c.identity_id).where(ai.c.paper_id.in_(chunk))))
    return {(p, a): moved.get((p, a)) or linked.get(a) or a for p, a in pairs}


def authorships_of_papers(connection: Connection, paper_ids: Sequence[str]) -> list[Row]:
    s = schema.authorships
    rows: list[Row] = []
    for chunk in _chunks(list(paper_ids)):
        rows.extend(dict(r) for r in connection.execute(
            select(s).where(s.c.paper_id.in_(chunk)).order_by(s.c.paper_id, s.c.position)).mappings())
    return rows


def identity_link_rows(connection: Connection, members: Sequence[str]) -> list[Row]:
    links = author_identity_links
    return [dict(r) for r in connection.execute(
        select(links).where(links.c.author_id.in_(list(members)))).mappings()]


def get_author_reports(connection: Connection, author_ids: Sequence[str]) -> list[Row]:
    t = schema.author_reports
    return [dict(r) for r in connection.execute(
        select(t).where(t.c.author_id.in_(list(author_ids))).order_by(t.c.source, t.c.source_key)).mappings()]


def get_similar(connection: Connection, identity_id: str) -> Row | None:
    row = connection.execute(
        select(author_similar).where(author_similar.c.identity_id == identity_id)).mappings().first()
    return dict(row) if row else None


def authorship_names(connection: Connection, paper_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """(paper id, author id, name) of every authorship of those papers, as plain tuples: what an
    author page's co-author counts read (for an author of 100,000 papers, a third of a million rows,
    where building a mapping per row would cost more than reading them)."""
    s = schema.authorships
    out: list[tuple[str, str, str]] = []
    for chunk in _chunks(list(paper_ids)):
        out.extend((a, b, c) for a, b, c in connection.execute(
            select(s.c.paper_id, s.c.author_id, s.c.name).where(s.c.paper_id.in_(chunk))
            .order_by(s.c.paper_id, s.c.position)))
    return out


def paper_order_rows(connection: Connection, paper_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """(id, year, published, cited_by_count, cited_by_source) of those papers: what orders an author's
    cards by date and by citations."""
    p = schema.papers
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(list(paper_ids)):
        out.extend(tuple(r) for r in connection.execute(
            select(p.c.id, p.c.year, p.c.published, p.c.cited_by_count, p.c.cited_by_source)
            .where(p.c.id.in_(chunk))))
    return out


def paper_rows(connection: Connection, paper_ids: Sequence[str]) -> list[Row]:
    p = schema.papers
    rows: list[Row] = []
    for chunk in _chunks(list(paper_ids)):
        rows.extend(dict(r) for r in connection.execute(select(p).where(p.c.id.in_(chunk))).mappings())
    return rows


def paper_citation_years(connection: Connection, paper_ids: Sequence[str]) -> dict[str, dict[int, int]]:
    """Per paper: in-store citing papers per citing year."""
    c, p = schema.citations, schema.papers
    out: dict[str, dict[int, int]] = {}
    for chunk in _chunks(list(paper_ids)):
        query = (select(c.c.cited_id, p.c.year, func.count(func.distinct(c.c.citing_id)))
                 .join(p, p.c.id == c.c.citing_id)
                 .where(c.c.cited_id.in_(chunk), c.c.cited_id != c.c.citing_id)
                 .group_by(c.c.cited_id, p.c.year))
        for cited, year, n in connection.execute(query):
            if year is not None:
                out.setdefault(cited, {})[int(year)] = int(n)
    return out


def paper_scores_of(connection: Connection, paper_ids: Sequence[str]) -> dict[str, Row]:
    if not has_table(connection, "paper_scores"):
        return {}
    out: dict[str, Row] = {}
    for chunk in _chunks(list(paper_ids)):
        rows = connection.exec_driver_sql(
            "SELECT paper_id, novelty_pct, ai_score FROM paper_scores WHERE paper_id IN ("
            + ", ".join(["?" if connection.dialect.name == "sqlite" else "%s"] * len(chunk)) + ")",
            tuple(chunk)).fetchall()
        out.update({r[0]: {"novelty": r[1], "ai_score": r[2]} for r in rows})
    return out


def paper_orgs(connection: Connection, paper_ids: Sequence[str]) -> dict[str, list[str]]:
    po = schema.paper_organisations
    out: dict[str, list[str]] = {}
    for chunk in _chunks(list(paper_ids)):
        query = select(po.c.paper_id, po.c.org_id).where(po.c.paper_id.in_(chunk))
        for paper, org in connection.execute(query):
            out.setdefault(paper, []).append(org)
    return out


def load_paper_texts(connection: Connection) -> list[tuple[str, str, str | None]]:
    """(id, title, abstract) of every paper, for text-based similarity."""
    return connection.exec_driver_sql("SELECT id, title, abstract FROM papers").fetchall()


def author_identities(connection: Connection, author_ids: Sequence[str]) -> dict[str, str]:
    """The identity of each author id's own authorships (ids without a link are their own)."""
    links = author_identity_links
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(author_ids))):
        found.update((r[0], r[1]) for r in connection.execute(
            select(links.c.author_id, links.c.identity_id).where(links.c.author_id.in_(chunk))))
    return {a: found.get(a, a) for a in author_ids}


# --- the slice an incremental recompute reads -----------------------------------------------------

def _rows_in(connection: Connection, columns: Sequence[Any], column: Any, values: Sequence[str]) -> list[tuple]:
    out: list[tuple] = []
    for chunk in _chunks(sorted(set(values))):
        out.extend(tuple(r) for r in connection.execute(select(*columns).where(column.in_(chunk))))
    return out


def authorships_on(connection: Connection, paper_ids: Sequence[str]) -> list[tuple]:
    s = schema.authorships
    return _rows_in(connection, [s.c.paper_id, s.c.position, s.c.author_id], s.c.paper_id, paper_ids)


def authorships_by(connection: Connection, author_ids: Sequence[str]) -> list[tuple]:
    s = schema.authorships
    return _rows_in(connection, [s.c.paper_id, s.c.position, s.c.author_id], s.c.author_id, author_ids)


def authors_named(connection: Connection, author_ids: Sequence[str]) -> list[tuple]:
    a = schema.authors
    return _rows_in(connection, [a.c.id, a.c.name, a.c.name_key, a.c.orcid, a.c.openalex_id, a.c.s2_id],
                    a.c.id, author_ids)


def papers_by_id(connection: Connection, paper_ids: Sequence[str]) -> list[tuple]:
    p = schema.papers
    return _rows_in(connection, [p.c.id, p.c.year, p.c.primary_category, p.c.cited_by_count,
                                 p.c.cited_by_source, p.c.published], p.c.id, paper_ids)


def edges_to(connection: Connection, paper_ids: Sequence[str]) -> list[tuple]:
    c = schema.citations
    return _rows_in(connection, [c.c.citing_id, c.c.cited_id], c.c.cited_id, paper_ids)


def citation_counts_of(connection: Connection, paper_ids: Sequence[str]) -> list[tuple]:
    t = schema.citation_counts
    return _rows_in(connection, [t.c.paper_id, t.c.source, t.c.year, t.c.count], t.c.paper_id, paper_ids)


def paper_scores_rows(connection: Connection, paper_ids: Sequence[str]) -> list[tuple]:
    found = paper_scores_of(connection, paper_ids)
    return [(p, v["novelty"], v["ai_score"]) for p, v in found.items()]


def count_authorships_by(connection: Connection, author_ids: Sequence[str]) -> int:
    s = schema.authorships
    total = 0
    for chunk in _chunks(sorted(set(author_ids))):
        total += int(connection.execute(
            select(func.count()).select_from(s).where(s.c.author_id.in_(chunk))).scalar_one())
    return total


def count_authorships(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(schema.authorships)).scalar_one())


def author_names_like(connection: Connection, token: str, limit: int = 500) -> list[str]:
    """Identity names containing one folded name token: the candidates of a did-you-mean."""
    m = author_metrics
    return [r[0] for r in connection.execute(
        select(m.c.name).where(m.c.name_key.like(f"%{token}%")).order_by(m.c.papers.desc()).limit(limit))]


def author_exists(connection: Connection, ref: str) -> bool:
    """Whether `ref` is a stored author id or a computed identity id."""
    return bool(connection.execute(select(schema.authors.c.id).where(schema.authors.c.id == ref)).first()
                or connection.execute(select(author_metrics.c.identity_id)
                                      .where(author_metrics.c.identity_id == ref)).first())


# --- the integer snapshot's patches and checks ----------------------------------------------------

def latest_paper_write(connection: Connection) -> datetime | None:
    """The latest papers.updated_at: what a snapshot read now has seen."""
    return connection.execute(select(func.max(schema.papers.c.updated_at))).scalar_one()


def latest_score_write(connection: Connection) -> datetime | None:
    if not has_table(connection, "paper_scores"):
        return None
    return connection.exec_driver_sql("SELECT MAX(computed_at) FROM paper_scores").scalar_one()


def papers_written_since(connection: Connection, since: datetime) -> list[str]:
    p = schema.papers
    return [r[0] for r in connection.execute(select(p.c.id).where(p.c.updated_at > since))]


def scores_written_since(connection: Connection, since: datetime | None) -> list[tuple]:
    """(paper id, novelty percentile, AI Score) of score rows computed after `since` (None: all)."""
    if not has_table(connection, "paper_scores"):
        return []
    from paperscope.store.scores_schema import paper_scores

    query = select(paper_scores.c.paper_id, paper_scores.c.novelty_pct, paper_scores.c.ai_score)
    if since is not None:
        query = query.where(paper_scores.c.computed_at > since)
    return [tuple(r) for r in connection.execute(query)]


def edges_from(connection: Connection, paper_ids: Sequence[str]) -> list[tuple]:
    """(citing id, cited id) of the resolved edges these papers cite."""
    c = schema.citations
    out: list[tuple] = []
    for chunk in _chunks(list(paper_ids)):
        out.extend(tuple(r) for r in connection.execute(
            select(c.c.citing_id, c.c.cited_id).where(c.c.citing_id.in_(chunk), c.c.cited_id.is_not(None))))
    return out


def snapshot_counts(connection: Connection) -> dict[str, int]:
    """The row counts an author snapshot must agree with to stand for the store."""
    def count(sql: str) -> int:
        return int(connection.exec_driver_sql(sql).scalar_one())

    return {
        "papers": count("SELECT COUNT(*) FROM papers"),
        "authors": count("SELECT COUNT(*) FROM authors"),
        "authorships": count("SELECT COUNT(*) FROM authorships"),
        "edges": count("SELECT COUNT(*) FROM citations WHERE cited_id IS NOT NULL"),
        "citation_counts": count("SELECT COUNT(*) FROM citation_counts"),
    }


def get_page_parts(connection: Connection, identity_id: str) -> Row | None:
    """The stored parts of an identity's page (`author_pages`) and the metrics they were built with."""
    row = connection.execute(select(author_pages.c.metrics_at, author_pages.c.parts)
                             .where(author_pages.c.identity_id == identity_id)).mappings().first()
    return dict(row) if row else None


def put_page_parts(connection: Connection, identity_id: str, metrics_at: str, parts: dict[str, Any],
                   now: datetime) -> None:
    connection.execute(delete(author_pages).where(author_pages.c.identity_id == identity_id))
    connection.execute(author_pages.insert().values(identity_id=identity_id, metrics_at=metrics_at, parts=parts,
                                                    computed_at=now))


def stale_prolific_identities(connection: Connection, min_papers: int) -> list[Row]:
    """Identities with at least `min_papers` papers whose stored page parts are missing or were
    built with other metrics (metrics_at): each with its members and metrics' computed_at."""
    m, pg = author_metrics, author_pages
    query = (select(m.c.identity_id, m.c.members, m.c.computed_at, pg.c.metrics_at)
             .select_from(m.outerjoin(pg, pg.c.identity_id == m.c.identity_id))
             .where(m.c.papers >= min_papers).order_by(m.c.papers.desc(), m.c.identity_id))
    return [dict(r) for r in connection.execute(query).mappings()]
