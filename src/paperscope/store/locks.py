"""One ingest of a source at a time per store: a lock held for the whole run.

Two runs of the same source would read the same stored rows, decide the same new papers and both
insert them; the second would fail on a unique key. Runs of one source are serialised instead: the
second is refused at once with the pid of the running one. PostgreSQL holds the lock as a
session-level advisory lock on a connection of its own (it dies with the process, wherever that
runs); SQLite as an flock on a file beside the database (it dies with the process too). A killed
run therefore never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

_APP_NAME = "paperscope ingest pid="


class IngestBusy(RuntimeError):
    """Another ingest of the same source is running on this store."""

    def __init__(self, source: str, pid: str | None):
        self.source = source
        self.pid = pid
        super().__init__(
            f"another ingest of {source} is running (pid {pid or 'unknown'}); "
            "wait for it to finish, or stop it, then run this again"
        )


def _lock_key(source: str) -> int:
    return zlib.crc32(f"paperscope-ingest:{source}".encode())  # fits PostgreSQL's 32-bit key pair


@contextmanager
def hold_ingest_lock(engine: Engine, source: str) -> Iterator[None]:
    """Hold the ingest lock of `source` on this store; raises IngestBusy when another run holds it."""
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, source):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # a private in-memory store: no other process can reach it
        return
    with _file_lock(Path(f"{database}.ingest-{source}.lock"), source):
        yield


@contextmanager
def _file_lock(path: Path, source: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise IngestBusy(source, holder or None) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _postgres_lock(engine: Engine, source: str) -> Iterator[None]:
    key = _lock_key(source)
    with engine.connect() as connection:
        connection.execute(text("SELECT set_config('application_name', :name, false)"),
                           {"name": f"{_APP_NAME}{os.getpid()}"})
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        connection.commit()
        if not got:
            holder = connection.execute(
                text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = (:k)::bigint::oid "
                    "AND l.pid <> pg_backend_pid() LIMIT 1"
                ),
                {"k": key},
            ).scalar()
            connection.rollback()
            pid = holder[len(_APP_NAME):] if holder and holder.startswith(_APP_NAME) else None
            raise IngestBusy(source, pid)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.execute(text("SELECT set_config('application_name', '', false)"))
            connection.commit()
