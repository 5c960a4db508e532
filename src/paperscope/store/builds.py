"""Builds and their stages (`paperscope build`): which stage finished, with what time and rate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from paperscope.store import schema

Row = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def find_unfinished_build(connection: Connection, target: str) -> Row | None:
    """The newest build of this target if it did not finish (killed or failed)."""
    b = schema.builds
    row = connection.execute(
        select(b).where(b.c.target == target).order_by(b.c.id.desc()).limit(1)
    ).mappings().first()
    if row is None or row["status"] == "done":
        return None
    return dict(row)


def start_build(connection: Connection, target: str, mode: str) -> int:
    result = connection.execute(
        schema.builds.insert().values(target=target, mode=mode, status="running", started_at=_now())
    )
    return int(result.inserted_primary_key[0])


def finish_build(connection: Connection, build_id: int, status: str) -> None:
    b = schema.builds
    connection.execute(update(b).where(b.c.id == build_id).values(status=status, finished_at=_now()))


def list_stages(connection: Connection, build_id: int) -> list[Row]:
    s = schema.build_stages
    return [dict(r) for r in connection.execute(select(s).where(s.c.build_id == build_id)).mappings()]


def start_stage(connection: Connection, build_id: int, stage: str) -> None:
    """Mark a stage running; a stage that ran before in this build keeps its time so far."""
    s = schema.build_stages
    found = connection.execute(
        select(s.c.stage).where(s.c.build_id == build_id, s.c.stage == stage)
    ).first()
    if found:
        connection.execute(
            update(s).where(s.c.build_id == build_id, s.c.stage == stage).values(status="running")
        )
    else:
        connection.execute(s.insert().values(
            build_id=build_id, stage=stage, status="running", started_at=_now(), seconds=0.0,
            cpu_seconds=0.0, detail={},
        ))


def finish_stage(
    connection: Connection, build_id: int, stage: str, status: str, *, seconds: float, cpu_seconds: float,
    peak_rss_mib: float, items: int | None, detail: Row,
) -> None:
    """Record a stage's end; seconds and CPU seconds add to those of earlier tries in this build."""
    s = schema.build_stages
    where = (s.c.build_id == build_id, s.c.stage == stage)
    before = connection.execute(select(s.c.seconds, s.c.cpu_seconds).where(*where)).first()
    connection.execute(update(s).where(*where).values(
        status=status, finished_at=_now(), seconds=(before[0] or 0.0) + seconds,
        cpu_seconds=(before[1] or 0.0) + cpu_seconds, peak_rss_mib=peak_rss_mib, items=items,
        detail=detail,
    ))
