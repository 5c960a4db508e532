"""Engines for both backends: for bulk work (the CLI), or for serving pages (`open_engine(url,
threads=N)`), with SQLite in WAL mode either way.

A serving engine's pool holds one connection per request thread and as many again (a request that
holds two at once), so a thread never waits for a connection. Its SQLite connections each keep a
small page cache and share the operating system's file cache: memory stays flat in the number of
connections. A bulk engine (one writer at a time) keeps a large page cache instead."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

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


# One connection per SQLite file that only asks `PRAGMA data_version`, kept for the process: the
# counter moves with every commit by any other connection. The stamp never opens the database's
# files itself: closing any descriptor of a file releases every POSIX lock this process holds on it,
# including the read locks of SQLite's own connections, and a checkpoint may then overwrite pages a
# page is still reading ("database disk image is malformed").
_version_connections: dict[str, sqlite3.Connection] = {}
_version_lock = threading.Lock()


def _data_version(database: str) -> int:
    with _version_lock:
        connection = _version_connections.get(database)
        if connection is None:
            connection = sqlite3.connect(f"file:{quote(database)}?mode=ro", uri=True, check_same_thread=False)
            _version_connections[database] = connection
        return int(connection.execute("PRAGMA data_version").fetchone()[0])


def write_stamp(engine: Engine) -> tuple[str, float | None]:
    """A token that changes whenever anything is committed to the store, and when (epoch seconds,
    None when the backend cannot say). Cheap enough to ask on every request: SQLite, the sizes and
    modification times of the database file and its write-ahead log (stat, never open) and SQLite's
    own commit counter (`PRAGMA data_version`, which moves even for two commits within one clock
    tick of the file times); PostgreSQL, the write-ahead log position (every commit on the server
    advances it; a replica reports the position it has replayed)."""
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
        if Path(database).exists():
            parts.append(str(_data_version(database)))
        return ":".join(parts), changed or None
    with engine.connect() as connection:
        lsn = connection.exec_driver_sql(
            "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END"
        ).scalar()
    return str(lsn), None
