"""SQL of subscriptions, the digest outbox, the sent-papers log, and the papers a digest chooses from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, inspect, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paperscope.store import schema
from paperscope.store.digests_schema import digest_outbox, digest_sent_papers, subscriptions

Row = dict[str, Any]
_CHUNK = 900


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def insert_ignoring_conflict(connection: Connection, table: Table, values: Row,
                             returning: Any = None) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING; the `returning` column of the new row, None on conflict."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    if returning is None:
        return connection.execute(statement).rowcount
    return connection.execute(statement.returning(returning)).scalar_one_or_none()


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- subscriptions ------------------------------------------------------------------------------


def find_subscription(connection: Connection, email_key: str, topic_key: str) -> Row | None:
    s = subscriptions
    row = connection.execute(
        select(s).where(s.c.email_key == email_key, s.c.topic_key == topic_key)).mappings().first()
    return dict(row) if row else None


def insert_subscription(connection: Connection, values: Row) -> int | None:
    """The new subscription's id, or None when the address already follows that topic."""
    return insert_ignoring_conflict(connection, subscriptions, values, subscriptions.c.id)


def get_subscription(connection: Connection, subscription_id: int) -> Row | None:
    s = subscriptions
    row = connection.execute(select(s).where(s.c.id == subscription_id)).mappings().first()
    return dict(row) if row else None


def list_subscriptions(connection: Connection, status: str | None = None, email_key: str | None = None,
                       limit: int | None = None) -> list[Row]:
    s = subscriptions
    query = select(s).order_by(s.c.id)
    if status:
        query = query.where(s.c.status == status)
    if email_key:
        query = query.where(s.c.email_key == email_key)
    if limit:
        query = query.limit(limit)
    return [dict(r) for r in connection.execute(query).mappings()]


def update_subscription(connection: Connection, subscription_id: int, **values: Any) -> None:
    s = subscriptions
    connection.execute(update(s).where(s.c.id == subscription_id).values(**values))


def count_subscriptions(connection: Connection) -> dict[str, int]:
    s = subscriptions
    return {status: int(n) for status, n in
            connection.execute(select(s.c.status, func.count()).group_by(s.c.status))}


def due_subscriptions(connection: Connection, periods: dict[str, str]) -> list[Row]:
    """Active subscriptions of each frequency that have no outbox row for that frequency's period."""
    s, o = subscriptions, digest_outbox
    out: list[Row] = []
    for frequency, period in periods.items():
        built = select(o.c.id).where(o.c.subscription_id == s.c.id, o.c.period == period).exists()
        query = select(s).where(s.c.status == "active", s.c.frequency == frequency, ~built).order_by(s.c.id)
        out += [dict(r) for r in connection.execute(query).mappings()]
    return out


# --- what a digest chooses from ----------------------------------------------------------------


def digest_pool(connection: Connection, start: date, end: date) -> list[Row]:
    """Papers whose feed day (the day a daily list featured them, else their publication day) is in
    [start, end], with their AI Score and authors' ids and name keys."""
    p, s, a = schema.papers, schema.authorships, schema.authors
    featured = and_(p.c.featured_on.is_not(None), p.c.featured_on >= start, p.c.featured_on <= end)
    published = and_(p.c.featured_on.is_(None), p.c.published >= start, p.c.published <= end)
    columns = [p.c.id, p.c.title, p.c.abstract, p.c.published, p.c.featured_on, p.c.primary_category,
               p.c.upvotes, p.c.cited_by_count]
    has_scores = inspect(connection).has_table("paper_scores")
    if has_scores:
        from paperscope.store.scores_schema import paper_scores as sc

        query = select(*columns, sc.c.ai_score).select_from(p.outerjoin(sc, sc.c.paper_id == p.c.id))
    else:
        query = select(*columns)
    rows: dict[str, Row] = {}
    for condition in (featured, published):
        for r in connection.execute(query.where(condition)).mappings():
            row = dict(r)
            row.setdefault("ai_score", None)
            row["published"] = _as_date(row["published"])
            row["featured_on"] = _as_date(row["featured_on"])
            row["feed_day"] = row["featured_on"] or row["published"]
            row["author_keys"] = set()
            rows[row["id"]] = row
    ids = list(rows)
    for chunk in _chunks(ids):
        query = (select(s.c.paper_id, s.c.author_id, a.c.name_key)
                 .join(a, a.c.id == s.c.author_id)
                 .where(s.c.paper_id.in_(chunk), s.c.origin == "source"))
        for paper_id, author_id, name_key in connection.execute(query):
            rows[paper_id]["author_keys"].update((author_id, name_key))
    return list(rows.values())


def sent_papers(connection: Connection, paper_ids: Sequence[str]) -> dict[str, set[str]]:
    """For each address that was already sent one of `paper_ids`: which ones."""
    t = digest_sent_papers
    out: dict[str, set[str]] = {}
    for chunk in _chunks(list(paper_ids)):
        for email_key, paper_id in connection.execute(
                select(t.c.email_key, t.c.paper_id).where(t.c.paper_id.in_(chunk))):
            out.setdefault(email_key, set()).add(paper_id)
    return out


# --- the outbox ---------------------------------------------------------------------------------


def insert_outbox(connection: Connection, values: Row) -> int | None:
    """The new outbox row's id, or None when (subscription, period) was already built."""
    return insert_ignoring_conflict(connection, digest_outbox, values, digest_outbox.c.id)


def record_sent_papers(connection: Connection, email_key: str, paper_ids: Sequence[str], outbox_id: int,
                       now: datetime) -> None:
    if not paper_ids:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(digest_sent_papers).on_conflict_do_nothing(),
        [{"email_key": email_key, "paper_id": pid, "outbox_id": outbox_id, "created_at": now}
         for pid in paper_ids])


def _sendable(stale_before: datetime):  # type: ignore[no-untyped-def]
    o = digest_outbox
    return or_(o.c.status == "pending", and_(o.c.status == "sending", o.c.claimed_at < stale_before))


def outbox_to_send(connection: Connection, stale_before: datetime, limit: int | None = None) -> list[Row]:
    """Pending outbox rows, and rows a run took for sending before `stale_before` and never finished
    (it died), with their subscription's status, oldest first."""
    o, s = digest_outbox, subscriptions
    query = (select(o, s.c.status.label("subscription_status"), s.c.email.label("address"))
             .join(s, s.c.id == o.c.subscription_id)
             .where(_sendable(stale_before)).order_by(o.c.id))
    if limit:
        query = query.limit(limit)
    return [dict(r) for r in connection.execute(query).mappings()]


def claim_outbox(connection: Connection, outbox_id: int, now: datetime, stale_before: datetime) -> bool:
    """Takes a row for sending; False when another run has it (so two runs never send one message)."""
    o = digest_outbox
    result = connection.execute(update(o).where(o.c.id == outbox_id, _sendable(stale_before))
                                .values(status="sending", claimed_at=now))
    return result.rowcount == 1


def mark_outbox(connection: Connection, outbox_id: int, **values: Any) -> None:
    o = digest_outbox
    connection.execute(update(o).where(o.c.id == outbox_id).values(**values))


def count_attempt(connection: Connection, outbox_id: int, error: str, status: str = "pending") -> None:
    o = digest_outbox
    connection.execute(update(o).where(o.c.id == outbox_id)
                       .values(attempts=o.c.attempts + 1, last_error=error[:2000], status=status))


def cancel_outbox(connection: Connection, outbox_id: int, reason: str) -> None:
    """An unsent digest that will never go out: its papers may be sent to the address later."""
    mark_outbox(connection, outbox_id, status="cancelled", last_error=reason)
    t = digest_sent_papers
    connection.execute(delete(t).where(t.c.outbox_id == outbox_id))


def outbox_counts(connection: Connection) -> dict[str, int]:
    o = digest_outbox
    return {status: int(n) for status, n in
            connection.execute(select(o.c.status, func.count()).group_by(o.c.status))}


def list_outbox(connection: Connection, subscription_id: int | None = None) -> list[Row]:
    o = digest_outbox
    query = select(o).order_by(o.c.id)
    if subscription_id is not None:
        query = query.where(o.c.subscription_id == subscription_id)
    return [dict(r) for r in connection.execute(query).mappings()]


def papers_sent_to(connection: Connection, email_key: str) -> list[str]:
    t = digest_sent_papers
    return [pid for (pid,) in connection.execute(
        select(t.c.paper_id).where(t.c.email_key == email_key).order_by(t.c.paper_id))]


def prune_sent_messages(connection: Connection, before: datetime) -> int:
    """Drops the bodies of messages sent before `before` (the row, its papers and its Message-ID stay)."""
    o = digest_outbox
    result = connection.execute(update(o).where(o.c.status == "sent", o.c.sent_at < before,
                                                o.c.message.is_not(None)).values(message=None))
    return result.rowcount
