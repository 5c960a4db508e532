"""Engines for both backends, configured for bulk work (SQLite in WAL mode)."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def open_engine(database_url: str) -> Engine:
    """An engine for the URL; creates the SQLite file's folder. Does not migrate (see migrate)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # WAL lets readers (the web app) run during ingest; NORMAL sync is durable at commit
            # boundaries in WAL mode, which is what a killed ingest needs to stay consistent.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA cache_size=-200000")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        return engine
    return create_engine(
        url, json_serializer=_json_dumps, json_deserializer=orjson.loads, pool_pre_ping=True
    )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
