"""Ingest runs: what ran, with which counts, and where the next run resumes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from paperscope.store import schema


def _now() -> datetime:
    return datetime.now(UTC)


def find_unfinished_run(connection: Connection, source: str, target: str) -> dict[str, Any] | None:
    """The newest run of this source and target that did not finish (killed or failed), if any."""
    t = schema.ingest_runs
    query = (
        select(t)
        .where(t.c.source == source, t.c.target == target)
        .order_by(t.c.id.desc())
        .limit(1)
    )
    row = connection.execute(query).mappings().first()
    if row is None or row["status"] == "done":
        return None
    return dict(row)


def start_run(connection: Connection, source: str, target: str, cursor: str | None = None) -> int:
    t = schema.ingest_runs
    result = connection.execute(
        t.insert().values(
            source=source, target=target, started_at=_now(), status="running", counts={}, cursor=cursor
        )
    )
    return int(result.inserted_primary_key[0])


def record_progress(connection: Connection, run_id: int, counts: dict[str, int], cursor: str | None) -> None:
    """Saved in the same transaction as the batch it describes, so a kill never splits them."""
    t = schema.ingest_runs
    connection.execute(update(t).where(t.c.id == run_id).values(counts=counts, cursor=cursor))


def finish_run(
    connection: Connection, run_id: int, status: str, counts: dict[str, int], error: str | None = None
) -> None:
    t = schema.ingest_runs
    connection.execute(
        update(t)
        .where(t.c.id == run_id)
        .values(status=status, counts=counts, finished_at=_now(), error=error)
    )


def list_runs(connection: Connection, limit: int = 20) -> list[dict[str, Any]]:
    t = schema.ingest_runs
    return [dict(r) for r in connection.execute(select(t).order_by(t.c.id.desc()).limit(limit)).mappings()]


def list_run_ids(connection: Connection, source: str, target: str) -> list[int]:
    """Every run of this source and target, oldest first (a resumed run and the runs it resumed)."""
    t = schema.ingest_runs
    query = select(t.c.id).where(t.c.source == source, t.c.target == target).order_by(t.c.id)
    return [int(r[0]) for r in connection.execute(query)]
