"""Bulk writes: every statement takes a list of rows and runs as one executemany.

Upserts are `INSERT ... ON CONFLICT` on both backends (the dialects share the API), so a batch of
5,000 records is a handful of round trips, not 5,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Column, Connection, Date, DateTime, Table, delete, update
from sqlalchemy.dialects import postgresql, sqlite

from paperscope.store import schema

Row = dict[str, Any]


def _dedupe(rows: Iterable[Row], key: Sequence[str]) -> list[Row]:
    # PostgreSQL refuses to touch one row twice in a statement; the last row for a key wins.
    getter = itemgetter(*key)
    return list({getter(row): row for row in rows}.values())


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_date(value: Any) -> str | None:
    return None if value is None else value.isoformat()


@lru_cache(maxsize=64)
def _sqlite_datetime(value: Any) -> str | None:
    # The format SQLAlchemy's SQLite DateTime type writes and reads back. Cached: a batch stamps
    # all its rows with the same instant.
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _converter(column: Column, dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(column.type, JSON):
        return _json_text
    if dialect == "sqlite" and isinstance(column.type, DateTime):
        return _sqlite_datetime
    if dialect == "sqlite" and isinstance(column.type, Date):
        return _sqlite_date
    return None


@lru_cache(maxsize=256)
def _statement(
    dialect: str, table: Table, columns: tuple[str, ...], key: tuple[str, ...], update: tuple[str, ...] | None
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """The SQL text of a bulk upsert and the per-column value converters, built once per shape."""
    quote = (postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()).identifier_preparer.quote
    marker = "%s" if dialect == "postgresql" else "?"
    names = ", ".join(quote(c) for c in columns)
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([marker] * len(columns))})"
    if update is not None:
        target = ", ".join(quote(k) for k in key)
        if update:
            assignments = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    converters = tuple(_converter(table.c[c], dialect) for c in columns)
    return sql, converters


def bulk_insert(
    connection: Connection,
    table: Table,
    rows: list[Row],
    key: Sequence[str] = (),
    update_columns: Sequence[str] | None = None,
) -> None:
    """One executemany of plain tuples through the driver: SQLAlchemy's per-row parameter
    processing costs more than the insert itself at snapshot scale. `update_columns` None means a
    plain INSERT; [] means ON CONFLICT DO NOTHING."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, converters = _statement(
        connection.dialect.name,
        table,
        columns,
        tuple(key),
        None if update_columns is None else tuple(update_columns),
    )
    # Column by column: map() over a column is much cheaper than a generator per row.
    cells = [[row[c] for row in rows] for c in columns]
    for i, convert in enumerate(converters):
        if convert is not None:
            cells[i] = list(map(convert, cells[i]))
    connection.exec_driver_sql(sql, list(zip(*cells, strict=True)))


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
    columns = update_columns if update_columns is not None else [c for c in batch[0] if c not in key]
    bulk_insert(connection, table, batch, key, columns)
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
    bulk_insert(connection, table, _dedupe(rows, ["paper_id", "position"]))


def insert_paper_sources(connection: Connection, rows: list[Row]) -> int:
    """New versions of what sources said; a version already stored is left as first seen."""
    return insert_ignore(
        connection, schema.paper_sources, rows, ["paper_id", "source", "source_key", "record_hash"]
    )


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
    bulk_insert(connection, schema.observations, rows)
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
        x.select()
        .with_only_columns(x.c.paper_id)
        .where(x.c.scheme == c.c.cited_scheme, x.c.value == c.c.cited_value)
        .limit(1)
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
