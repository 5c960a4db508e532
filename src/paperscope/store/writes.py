"""Bulk writes: every statement takes a list of rows and runs as one executemany.

Upserts are `INSERT ... ON CONFLICT` on both backends (the dialects share the API), so a batch of
5,000 records is a handful of round trips, not 5,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from paperscope.store import schema

Row = dict[str, Any]


def _insert(connection: Connection, table: Table):  # type: ignore[no-untyped-def]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _dedupe(rows: Iterable[Row], key: Sequence[str]) -> list[Row]:
    # PostgreSQL refuses to touch one row twice in a statement; the last row for a key wins.
    unique: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        unique[tuple(row[k] for k in key)] = row
    return list(unique.values())


def upsert(
    connection: Connection,
    table: Table,
    rows: Iterable[Row],
    key: Sequence[str],
    update_columns: Sequence[str] | None = None,
) -> int:
    """Insert rows, updating `update_columns` (default: all non-key) where the key exists."""
    batch = _dedupe(rows, key)
    if not batch:
        return 0
    stmt = _insert(connection, table)
    columns = update_columns if update_columns is not None else [c for c in batch[0] if c not in key]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    connection.execute(stmt, batch)
    return len(batch)


def insert_ignore(connection: Connection, table: Table, rows: Iterable[Row], key: Sequence[str]) -> int:
    return upsert(connection, table, rows, key, update_columns=[])


def upsert_papers(connection: Connection, rows: list[Row]) -> int:
    # created_at stays as first written.
    columns = [c.name for c in schema.papers.columns if c.name not in ("id", "created_at")]
    return upsert(connection, schema.papers, rows, ["id"], columns)


def upsert_authors(connection: Connection, rows: list[Row]) -> int:
    # An author row is written once; later sources add ids through identity work, not here.
    return insert_ignore(connection, schema.authors, rows, ["id"])


def replace_authorships(connection: Connection, paper_ids: list[str], rows: list[Row]) -> None:
    """The author list of these papers becomes exactly `rows` (order = position)."""
    table = schema.authorships
    for chunk in _chunks(paper_ids, 5000):
        connection.execute(delete(table).where(table.c.paper_id.in_(chunk)))
    if rows:
        connection.execute(table.insert(), _dedupe(rows, ["paper_id", "position"]))


def insert_paper_sources(connection: Connection, rows: list[Row]) -> int:
    """New versions of what sources said; a version already stored is left as first seen."""
    return insert_ignore(connection, schema.paper_sources, rows, ["paper_id", "source", "source_key", "record_hash"])


def upsert_external_ids(connection: Connection, rows: list[Row]) -> int:
    return upsert(connection, schema.paper_external_ids, rows, ["scheme", "value"], ["paper_id"])


def upsert_code_links(connection: Connection, rows: list[Row]) -> int:
    return insert_ignore(connection, schema.code_links, rows, ["paper_id", "url"])


def upsert_organisations(connection: Connection, orgs: list[Row], links: list[Row]) -> None:
    insert_ignore(connection, schema.organisations, orgs, ["id"])
    insert_ignore(connection, schema.paper_organisations, links, ["paper_id", "org_id"])


def upsert_citations(connection: Connection, rows: list[Row]) -> int:
    return insert_ignore(connection, schema.citations, rows, ["citing_id", "cited_scheme", "cited_value"])


def upsert_citation_counts(connection: Connection, rows: list[Row]) -> int:
    return upsert(connection, schema.citation_counts, rows, ["paper_id", "source", "year"], ["count"])


def insert_observations(connection: Connection, rows: list[Row]) -> int:
    if rows:
        connection.execute(schema.observations.insert(), rows)
    return len(rows)


def upsert_author_reports(connection: Connection, rows: list[Row]) -> int:
    return upsert(connection, schema.author_reports, rows, ["source", "source_key"])


def add_quarantine(connection: Connection, rows: list[Row]) -> int:
    """Quarantine bad records; the same (source, position) twice keeps one entry, newest reason."""
    return upsert(connection, schema.quarantine, rows, ["source", "position"], ["reason", "raw", "run_id"])


def resolve_citation_targets(connection: Connection) -> int:
    """Point edges at papers now in the store (set-based: one UPDATE per id scheme)."""
    c, p, x = schema.citations, schema.papers, schema.paper_external_ids
    by_column = {"openalex": p.c.openalex_id, "s2": p.c.s2_id, "arxiv": p.c.arxiv_id, "doi": p.c.doi}
    resolved = 0
    for scheme, column in by_column.items():
        target = p.select().with_only_columns(p.c.id).where(column == c.c.cited_value).limit(1)
        result = connection.execute(
            update(c)
            .where(c.c.cited_scheme == scheme, c.c.cited_id.is_(None))
            .values(cited_id=target.scalar_subquery())
        )
        resolved += result.rowcount or 0
    other = (
        x.select().with_only_columns(x.c.paper_id)
        .where(x.c.scheme == c.c.cited_scheme, x.c.value == c.c.cited_value).limit(1)
    )
    result = connection.execute(
        update(c)
        .where(c.c.cited_id.is_(None))  # other schemes, and second ids of a work (see ingest)
        .values(cited_id=other.scalar_subquery())
    )
    return resolved + (result.rowcount or 0)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
