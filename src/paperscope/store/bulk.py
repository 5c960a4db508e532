"""Statements of the bulk snapshot load: secondary indexes off and on, rows already in the
driver's types, the lines set aside for the record path, and the match keys of stored papers.

A first load of millions of papers is several times faster when the secondary indexes are built
once at the end rather than updated row by row; primary keys and the quarantine's unique index
stay, because inserts rely on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Index, Table, delete, func, select

from paperscope.store import schema

# Tables whose secondary indexes a bulk load builds after its rows are in.
BULK_TABLES: tuple[Table, ...] = (
    schema.papers,
    schema.authors,
    schema.authorships,
    schema.paper_external_ids,
)


def _secondary_indexes() -> list[Index]:
    return [index for table in BULK_TABLES for index in table.indexes if not index.unique]


def _present(connection: Connection) -> set[str]:
    """Names of the indexes that exist, read from the database's catalogue: SQLAlchemy's reflection
    leaves out indexes on expressions (SQLite), which would then be created twice."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = connection.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return {str(name) for (name,) in rows}


def drop_secondary_indexes(connection: Connection) -> int:
    """Drop the bulk tables' secondary indexes that exist; returns how many were dropped."""
    present = _present(connection)
    dropped = 0
    for index in _secondary_indexes():
        if index.name in present:
            index.drop(connection)
            dropped += 1
    return dropped


# Bytes of the store SQLite may map while it builds indexes (capped by its build, 2 GiB by default).
INDEX_BUILD_MMAP = 1 << 34


@contextmanager
def _mapped(connection: Connection) -> Iterator[None]:
    """SQLite reads the store through a memory map for the duration: each index build scans the
    whole table, and read() copies of every page cost about half the build's CPU (measured at
    100,000 papers: 29 µs a line without the map, 16 with it)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA mmap_size").scalar()
    connection.exec_driver_sql(f"PRAGMA mmap_size={INDEX_BUILD_MMAP}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA mmap_size={int(before or 0)}")


def create_secondary_indexes(connection: Connection) -> int:
    """Create the bulk tables' secondary indexes that are missing; returns how many were created."""
    present = _present(connection)
    created = 0
    with _mapped(connection):
        for index in _secondary_indexes():
            if index.name not in present:
                index.create(connection)
                created += 1
    return created


def missing_secondary_indexes(connection: Connection) -> list[str]:
    present = _present(connection)
    return [str(index.name) for index in _secondary_indexes() if index.name not in present]


def insert_tuples(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    ignore_conflicts: Sequence[str] | None = None,
) -> None:
    """One executemany of tuples already in the driver's types (dates as ISO text on SQLite, JSON
    as text). `ignore_conflicts`: the key whose duplicates are skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    preparer = connection.dialect.identifier_preparer
    marker = "%s" if connection.dialect.name == "postgresql" else "?"
    names = ", ".join(preparer.quote(c) for c in columns)
    sql = f"INSERT INTO {preparer.quote(table.name)} ({names}) VALUES ({', '.join([marker] * len(columns))})"
    if ignore_conflicts:
        sql += f" ON CONFLICT ({', '.join(preparer.quote(c) for c in ignore_conflicts)}) DO NOTHING"
    connection.exec_driver_sql(sql, rows)


def insert_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    ignore_conflicts: Sequence[str] | None = None,
) -> None:
    """Rows streamed from an iterator of tuples in the driver's types, without a list of them.

    SQLite: one executemany over the iterator. PostgreSQL: COPY, the fastest way in, except where
    duplicates are to be skipped (COPY has no ON CONFLICT): there an executemany as in `insert_tuples`.
    """
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in columns)
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "postgresql" and not ignore_conflicts:
            with cursor.copy(f"COPY {preparer.quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marker = "%s" if connection.dialect.name == "postgresql" else "?"
        sql = f"INSERT INTO {preparer.quote(table.name)} ({names}) VALUES ({', '.join([marker] * len(columns))})"
        if ignore_conflicts:
            sql += f" ON CONFLICT ({', '.join(preparer.quote(c) for c in ignore_conflicts)}) DO NOTHING"
        batch = rows if connection.dialect.name == "sqlite" else list(rows)
        cursor.executemany(sql, batch)
    finally:
        cursor.close()


def count_papers(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(schema.papers)).scalar_one())


def iter_match_keys(connection: Connection, chunk: int = 50_000) -> Iterator[tuple[str, str]]:
    """(scheme, value) of every key a snapshot line can match a stored paper by."""
    p, x = schema.papers, schema.paper_external_ids
    query = select(p.c.arxiv_id, p.c.doi, p.c.title_key).execution_options(yield_per=chunk)
    for arxiv_id, doi, title_key in connection.execute(query):
        if arxiv_id:
            yield "arxiv_id", arxiv_id
        if doi:
            yield "doi", doi
        if title_key:
            yield "title", title_key
    rows = connection.execute(select(x.c.scheme, x.c.value).execution_options(yield_per=chunk))
    yield from ((scheme, value) for scheme, value in rows)


def add_deferred(connection: Connection, source: str, target: str, rows: list[tuple[int, str, bytes]]) -> None:
    """Lines (seq, position, raw) set aside for the record path; a line already set aside stays."""
    insert_tuples(
        connection,
        schema.ingest_deferred,
        ("source", "target", "seq", "position", "raw"),
        [(source, target, seq, position, raw) for seq, position, raw in rows],
        ignore_conflicts=("source", "target", "seq"),
    )


def take_deferred(connection: Connection, source: str, target: str, limit: int) -> list[tuple[int, str, bytes]]:
    """The first `limit` lines set aside, in input order."""
    d = schema.ingest_deferred
    query = (
        select(d.c.seq, d.c.position, d.c.raw)
        .where(d.c.source == source, d.c.target == target)
        .order_by(d.c.seq)
        .limit(limit)
    )
    return [(int(seq), position, bytes(raw)) for seq, position, raw in connection.execute(query)]


def iter_deferred_raw(connection: Connection, source: str, target: str) -> Iterator[bytes]:
    d = schema.ingest_deferred
    query = select(d.c.raw).where(d.c.source == source, d.c.target == target).execution_options(yield_per=5000)
    for (raw,) in connection.execute(query):
        yield bytes(raw)


def delete_deferred(connection: Connection, source: str, target: str, up_to_seq: int) -> None:
    d = schema.ingest_deferred
    connection.execute(delete(d).where(d.c.source == source, d.c.target == target, d.c.seq <= up_to_seq))
