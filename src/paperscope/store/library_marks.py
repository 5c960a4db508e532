"""Reads behind the Save and Upvote controls on every card: what one reader saved and upvoted, how
many local upvotes each paper has, and the local upvotes as dated events for trending. Every read
is by reader or by paper (an index): the upvotes table grows with the readers."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, func, select

from paperscope.store.digests_schema import paper_upvotes, saved_papers

_CHUNK = 500  # ids bound in one IN (...): under every backend's parameter limit


def reader_marks(connection: Connection, user_id: int) -> tuple[set[str], set[str]]:
    """(saved paper ids, upvoted paper ids) of one reader: a reader's library is small."""
    saved = {pid for (pid,) in connection.execute(select(saved_papers.c.paper_id)
                                                  .where(saved_papers.c.user_id == user_id))}
    voted = {pid for (pid,) in connection.execute(select(paper_upvotes.c.paper_id)
                                                  .where(paper_upvotes.c.user_id == user_id))}
    return saved, voted


def local_upvote_count(connection: Connection, paper_id: str) -> int:
    """Local upvotes of one paper (an index read: the table grows with the readers)."""
    t = paper_upvotes
    return int(connection.execute(select(func.count()).where(t.c.paper_id == paper_id)).scalar_one())


def upvoted_since(connection: Connection, since: datetime) -> set[str]:
    """Papers with a local upvote given at or after `since`."""
    t = paper_upvotes
    return {pid for (pid,) in connection.execute(select(t.c.paper_id).where(t.c.created_at >= since))}


def local_upvote_events(connection: Connection, paper_ids: Collection[str]) -> list[tuple[str, datetime]]:
    """(paper id, when) of every local upvote standing now of these papers, oldest first per paper."""
    t = paper_upvotes
    ids = sorted(paper_ids)
    out: list[tuple[str, datetime]] = []
    for start in range(0, len(ids), _CHUNK):
        query = (select(t.c.paper_id, t.c.created_at).where(t.c.paper_id.in_(ids[start:start + _CHUNK]))
                 .order_by(t.c.paper_id, t.c.created_at))
        out.extend((pid, when) for pid, when in connection.execute(query))
    return out
