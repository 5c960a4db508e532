"""SQL of server-side sessions and the login throttle (tables in accounts_schema.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paperscope.store.accounts_schema import login_throttle, sessions

Row = dict[str, Any]


def insert_session(connection: Connection, id_hash: str, user_id: int, now: datetime, expires: datetime) -> None:
    connection.execute(sessions.insert().values(id_hash=id_hash, user_id=user_id, created_at=now,
                                                expires_at=expires))


def get_session(connection: Connection, id_hash: str) -> Row | None:
    row = connection.execute(select(sessions).where(sessions.c.id_hash == id_hash)).mappings().first()
    return dict(row) if row else None


def delete_session(connection: Connection, id_hash: str) -> None:
    connection.execute(delete(sessions).where(sessions.c.id_hash == id_hash))


def delete_user_sessions(connection: Connection, user_id: int) -> int:
    return connection.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount or 0


def delete_expired_sessions(connection: Connection, now: datetime) -> int:
    return connection.execute(delete(sessions).where(sessions.c.expires_at < now)).rowcount or 0


def get_throttle(connection: Connection, scope: str, key: str) -> Row | None:
    t = login_throttle
    row = connection.execute(select(t).where(t.c.scope == scope, t.c.key == key)).mappings().first()
    return dict(row) if row else None


def count_failure(connection: Connection, scope: str, key: str, now: datetime, restart_before: datetime) -> int:
    """Add one failure to (scope, key) in one statement (no lost update between web workers);
    a count whose last failure is older than `restart_before` starts again. Returns the new count."""
    t = login_throttle
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(t).values(scope=scope, key=key, failures=1, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[t.c.scope, t.c.key],
        set_={
            "failures": case((t.c.last_failure_at < restart_before, 1), else_=t.c.failures + 1),
            "last_failure_at": now,
        },
    ).returning(t.c.failures)
    return int(connection.execute(statement).scalar_one())


def block_until(connection: Connection, scope: str, key: str, until: datetime | None) -> None:
    t = login_throttle
    connection.execute(update(t).where(t.c.scope == scope, t.c.key == key).values(blocked_until=until))


def clear_throttle(connection: Connection, scope: str, key: str) -> None:
    t = login_throttle
    connection.execute(delete(t).where(t.c.scope == scope, t.c.key == key))


def take_back_failure(connection: Connection, scope: str, key: str, free: int, wait: Any, now: datetime) -> None:
    """Undo one counted failure (the attempt succeeded) and recompute the block from the rest."""
    row = get_throttle(connection, scope, key)
    if row is None:
        return
    failures = max(0, row["failures"] - 1)
    seconds = wait(failures, free)
    until = now + timedelta(seconds=seconds) if seconds else None
    t = login_throttle
    connection.execute(update(t).where(t.c.scope == scope, t.c.key == key).values(failures=failures,
                                                                                  blocked_until=until))
