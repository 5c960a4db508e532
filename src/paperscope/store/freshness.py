"""How far each kind of derived data lags the papers it is computed from.

Scores, author profiles and the search indexes are computed from the papers table; each one keeps
the moment it was computed. A paper whose `updated_at` is later than that moment is not yet
counted by it. These counts are what the pages and `--json` outputs report as pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, distinct, func, select

from paperscope.store import schema
from paperscope.store.authors_schema import author_runs
from paperscope.store.scores_schema import paper_scores


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text from an aggregate
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def papers_updated_after(connection: Connection, since: datetime | None) -> int:
    """Papers written after `since` (all of them when `since` is None)."""
    p = schema.papers
    query = select(func.count()).select_from(p)
    if since is not None:
        query = query.where(p.c.updated_at > since)
    return int(connection.execute(query).scalar_one())


def profiles_computed_at(connection: Connection) -> datetime | None:
    """When the newest finished author-profile run started (what it counted was read after it)."""
    value = connection.execute(
        select(author_runs.c.started_at).where(author_runs.c.finished_at.is_not(None))
        .order_by(author_runs.c.id.desc()).limit(1)).scalar_one_or_none()
    return _aware(value)


def scores_computed_at(connection: Connection) -> datetime | None:
    return _aware(connection.execute(select(func.max(paper_scores.c.computed_at))).scalar_one())


def papers_of_authors_updated_after(connection: Connection, author_ids: Sequence[str],
                                    since: datetime | None) -> int:
    """Papers of these author ids written after `since`: what one profile has not counted yet.
    Read from the papers written since (an index range, most often empty), never from all of an
    author's papers: a prolific author has thousands."""
    if not author_ids:
        return 0
    a, p = schema.authorships, schema.papers
    if since is None:
        query = select(func.count(distinct(a.c.paper_id))).where(a.c.author_id.in_(list(author_ids)))
        return int(connection.execute(query).scalar_one())
    newer = [pid for (pid,) in connection.execute(select(p.c.id).where(p.c.updated_at > since))]
    count = 0
    for start in range(0, len(newer), 500):
        query = (select(func.count(distinct(a.c.paper_id)))
                 .where(a.c.paper_id.in_(newer[start:start + 500]), a.c.author_id.in_(list(author_ids))))
        count += int(connection.execute(query).scalar_one())
    return count
