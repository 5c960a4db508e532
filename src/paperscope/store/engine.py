"""Engines for both backends: for bulk work (the CLI), or for serving pages (`open_engine(url,
threads=N)`), with SQLite in WAL mode either way.

A serving engine's pool holds one connection per request thread and as many again (a request that
holds two at once), so a thread never waits for a connection. Its SQLite connections each keep a
small page cache and share the operating system's file cache: memory stays flat in the number of
connections. A bulk engine (one writer at a time) keeps a large page cache instead."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


BULK_CACHE_KIB = 200_000  # one writer's page cache for bulk work
SERVING_CACHE_KIB = 2_000  # each serving connection's own cache: the OS file cache is shared


def pool_options(threads: int | None) -> dict[str, int]:
    """The pool of an engine serving `threads` request threads (SQLAlchemy's default when None)."""
    return {} if threads is None else {"pool_size": threads, "max_overflow": threads}


def open_engine(database_url: str, threads: int | None = None, read_only: bool = False) -> Engine:
    """An engine for the URL; creates the SQLite file's folder. Does not migrate (see migrate).
    `threads`: the engine serves that many request threads (pool and cache sized for it).
    `read_only`: its connections refuse to write (SQLite `query_only`, PostgreSQL read-only
    transactions): the engine of the pages that only read."""
    url = make_url(database_url)
    pool = pool_options(threads)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads, **pool)
        cache_kib = BULK_CACHE_KIB if threads is None else SERVING_CACHE_KIB

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # WAL lets readers (the web app) run during ingest; NORMAL sync is durable at commit
            # boundaries in WAL mode, which is what a killed ingest needs to stay consistent.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
            cursor.execute("PRAGMA temp_store=MEMORY")
            if read_only:
                cursor.execute("PRAGMA query_only=1")
            cursor.close()

        return engine
    connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
    return create_engine(
        url, json_serializer=_json_dumps, json_deserializer=orjson.loads, pool_pre_ping=True,
        connect_args=connect_args, **pool
    )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


WAL_INDEX_HEADER = 48  # SQLite's wal-index header: change counter, last frame, salts, checksums


def write_stamp(engine: Engine) -> tuple[str, float | None]:
    """A token that changes whenever anything is committed to the store, and when (epoch seconds,
    None when the backend cannot say). Cheap enough to ask on every request: SQLite, the sizes and
    modification times of the database file and its write-ahead log, and the header of the WAL
    index (its change counter moves with every commit, even two within one clock tick of the file
    times); PostgreSQL, the write-ahead log position (every commit on the server advances it; a
    replica reports the position it has replayed)."""
    if is_sqlite(engine):
        database = engine.url.database
        if not database or database == ":memory:":
            return "memory", None
        parts, changed = [], 0.0
        for path in (database, database + "-wal"):
            try:
                st = Path(path).stat()
            except FileNotFoundError:
                parts.append("-")
                continue
            parts.append(f"{st.st_ino}.{st.st_size}.{st.st_mtime_ns}")
            changed = max(changed, st.st_mtime)
        try:
            with open(database + "-shm", "rb") as shm:
                parts.append(shm.read(WAL_INDEX_HEADER).hex())
        except FileNotFoundError:
            parts.append("-")
        return ":".join(parts), changed or None
    with engine.connect() as connection:
        lsn = connection.exec_driver_sql(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"
        ).scalar()
    return str(lsn), None
