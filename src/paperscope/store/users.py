"""SQL of accounts and their library: users, saved papers, upvotes, and the embeddings the
per-user recommendations learn from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from paperscope.store import schema
from paperscope.store.digests import _chunks, insert_ignoring_conflict
from paperscope.store.digests_schema import paper_upvotes, saved_papers, users

Row = dict[str, Any]


def insert_user(connection: Connection, values: Row) -> int | None:
    """The new user's id, or None when the address has an account already."""
    return insert_ignoring_conflict(connection, users, values, users.c.id)


def get_user(connection: Connection, user_id: int) -> Row | None:
    row = connection.execute(select(users).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row else None


def get_user_by_email(connection: Connection, email_key: str) -> Row | None:
    row = connection.execute(select(users).where(users.c.email_key == email_key)).mappings().first()
    return dict(row) if row else None


def update_user(connection: Connection, user_id: int, **values: Any) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(**values))


def save_paper(connection: Connection, user_id: int, paper_id: str, now: datetime) -> bool:
    return bool(insert_ignoring_conflict(connection, saved_papers,
                                         {"user_id": user_id, "paper_id": paper_id, "created_at": now}))


def unsave_paper(connection: Connection, user_id: int, paper_id: str) -> None:
    t = saved_papers
    connection.execute(delete(t).where(t.c.user_id == user_id, t.c.paper_id == paper_id))


def saved_ids(connection: Connection, user_id: int) -> list[str]:
    """The user's saved papers, most recently saved first."""
    t = saved_papers
    return [pid for (pid,) in connection.execute(
        select(t.c.paper_id).where(t.c.user_id == user_id).order_by(t.c.created_at.desc(), t.c.paper_id))]


def toggle_upvote(connection: Connection, user_id: int, paper_id: str, now: datetime) -> bool:
    """True when the paper is now upvoted by the user, False when the upvote was taken back."""
    t = paper_upvotes
    if insert_ignoring_conflict(connection, t, {"user_id": user_id, "paper_id": paper_id, "created_at": now}):
        return True
    connection.execute(delete(t).where(t.c.user_id == user_id, t.c.paper_id == paper_id))
    return False


def set_upvote(connection: Connection, user_id: int, paper_id: str, on: bool, now: datetime) -> None:
    """Upvote (on) or take the upvote back; doing either twice changes nothing the second time."""
    t = paper_upvotes
    if on:
        insert_ignoring_conflict(connection, t, {"user_id": user_id, "paper_id": paper_id, "created_at": now})
    else:
        connection.execute(delete(t).where(t.c.user_id == user_id, t.c.paper_id == paper_id))


def user_upvoted_ids(connection: Connection, user_id: int) -> list[str]:
    """The papers the user upvoted, most recent first."""
    t = paper_upvotes
    return [pid for (pid,) in connection.execute(
        select(t.c.paper_id).where(t.c.user_id == user_id).order_by(t.c.created_at.desc(), t.c.paper_id))]


def upvoted_ids(connection: Connection, user_id: int, paper_ids: Sequence[str]) -> set[str]:
    t = paper_upvotes
    out: set[str] = set()
    for chunk in _chunks(list(paper_ids)):
        out.update(pid for (pid,) in connection.execute(
            select(t.c.paper_id).where(t.c.user_id == user_id, t.c.paper_id.in_(chunk))))
    return out


def upvote_counts(connection: Connection, paper_ids: Sequence[str]) -> dict[str, int]:
    t = paper_upvotes
    out: dict[str, int] = {}
    for chunk in _chunks(list(paper_ids)):
        query = select(t.c.paper_id, func.count()).where(t.c.paper_id.in_(chunk)).group_by(t.c.paper_id)
        out.update({pid: int(n) for pid, n in connection.execute(query)})
    return out


def paper_exists(connection: Connection, paper_id: str) -> bool:
    p = schema.papers
    return connection.execute(select(p.c.id).where(p.c.id == paper_id)).first() is not None


# --- candidates for recommendations -----------------------------------------------------------


def newest_paper_ids(connection: Connection, limit: int) -> list[str]:
    """Ids of the `limit` newest dated papers, newest first: the index on `published` walked
    backwards and stopped at the limit (never a sort of the whole table)."""
    p = schema.papers
    query = (select(p.c.id).where(p.c.published.is_not(None))
             .order_by(p.c.published.desc(), p.c.id.desc()).limit(limit))
    return [pid for (pid,) in connection.execute(query)]


def recent_paper_ids(connection: Connection, since: date | None, limit: int) -> list[str]:
    """Ids of papers published since `since` (all when None), newest first, at most `limit`."""
    p = schema.papers
    query = select(p.c.id).order_by(p.c.published.desc().nulls_last(), p.c.id).limit(limit)
    if since is not None:
        query = query.where(p.c.published >= since)
    return [pid for (pid,) in connection.execute(query)]
