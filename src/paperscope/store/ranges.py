"""Id ranges over the papers: how batch work is split into pieces that any worker can run alone.

A range is half-open over paper ids in the store's own order, `[first, before)`, with `None` for an
open end; the ranges of one split cover every paper exactly once, including papers added after the
split (they fall into whichever range their id sorts into). The bounds are computed by the database
that later applies them, so its collation decides the order on both sides.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from paperscope.store import schema

IdRange = tuple[str | None, str | None]


def split_paper_ids(connection: Connection, size: int) -> list[IdRange]:
    """Ranges of about `size` papers each, in id order; one open range when the store is empty."""
    if size < 1:
        raise ValueError(f"a range must hold at least 1 paper, not {size}")
    p = schema.papers
    numbered = select(p.c.id, func.row_number().over(order_by=p.c.id).label("n")).subquery()
    query = select(numbered.c.id).where((numbered.c.n - 1) % size == 0).order_by(numbered.c.id)
    starts = [pid for (pid,) in connection.execute(query)][1:]  # the first range starts open
    bounds: list[str | None] = [None, *starts, None]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def in_range(column, first: str | None, before: str | None):  # type: ignore[no-untyped-def]
    """The SQL condition `first <= column < before` (an open end is no condition)."""
    clauses = []
    if first is not None:
        clauses.append(column >= first)
    if before is not None:
        clauses.append(column < before)
    return clauses
