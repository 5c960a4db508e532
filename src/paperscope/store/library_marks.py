"""Reads behind the Save and Upvote controls on every card: what one reader saved and upvoted, how
many local upvotes each paper has, and the local upvotes as dated events for trending."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from paperscope.store.digests_schema import paper_upvotes, saved_papers


def reader_marks(connection: Connection, user_id: int) -> tuple[set[str], set[str]]:
    """(saved paper ids, upvoted paper ids) of one reader: a reader's library is small."""
    saved = {pid for (pid,) in connection.execute(select(saved_papers.c.paper_id)
                                                  .where(saved_papers.c.user_id == user_id))}
    voted = {pid for (pid,) in connection.execute(select(paper_upvotes.c.paper_id)
                                                  .where(paper_upvotes.c.user_id == user_id))}
    return saved, voted


def local_upvote_counts(connection: Connection) -> dict[str, int]:
    """Local upvotes per paper, for every paper that has any (readers' votes: a small table)."""
    t = paper_upvotes
    return {pid: int(n) for pid, n in connection.execute(select(t.c.paper_id, func.count()).group_by(t.c.paper_id))}


def local_upvote_events(connection: Connection, since: datetime | None = None) -> list[tuple[str, datetime]]:
    """(paper id, when) of every local upvote standing now, oldest first."""
    t = paper_upvotes
    query = select(t.c.paper_id, t.c.created_at).order_by(t.c.paper_id, t.c.created_at)
    if since is not None:
        query = query.where(t.c.created_at >= since)
    return [(pid, when) for pid, when in connection.execute(query)]
