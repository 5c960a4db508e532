"""An ingest killed mid-batch (SIGKILL) leaves the store consistent; the next run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.sources.synthetic import write_snapshot
from paperscope.store import schema
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from tests.conftest import BACKENDS

LINES = 40_000
BATCH = 1_000


def _committed(engine) -> tuple[int, str | None]:
    with engine.connect() as connection:
        papers = connection.execute(select(func.count()).select_from(schema.papers)).scalar_one()
        cursor = connection.execute(select(schema.ingest_runs.c.cursor)).scalar()
    return papers, cursor


@BACKENDS
def test_sigkill_mid_ingest_then_resume(database_url: str, tmp_path: Path):
    snapshot = write_snapshot(tmp_path / "snapshot.jsonl", LINES, seed=3)
    engine = open_engine(database_url)
    upgrade(engine)
    env = {**os.environ, "PAPERSCOPE_DATABASE_URL": database_url, "PAPERSCOPE_BATCH_SIZE": str(BATCH)}
    child = subprocess.Popen(
        [sys.executable, "-m", "paperscope", "ingest", "snapshot", str(snapshot)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            papers, cursor = _committed(engine)
            if papers >= 3 * BATCH:
                break
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    papers, cursor = _committed(engine)
    assert 0 < papers < LINES, "the kill must land mid-ingest"
    # Consistent: the run's cursor and the papers agree, batch for batch (one paper per line here).
    assert cursor is not None and cursor.endswith(f":{papers}")
    with engine.connect() as connection:
        orphans = connection.execute(
            select(func.count()).select_from(schema.papers).where(
                ~schema.papers.c.id.in_(select(schema.authorships.c.paper_id))
            )
        ).scalar_one()
        assert orphans == 0  # no paper without its authors: no half-written batch
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    plan = files_plan("snapshot", [snapshot], batch_size=BATCH)
    summary = run_ingest(engine, plan.source, plan.target, plan.batches)
    assert summary.resumed_from == cursor
    assert summary.counts["records"] == LINES - papers  # only what was left
    final, _ = _committed(engine)
    assert final == LINES
    with engine.connect() as connection:
        statuses = connection.execute(
            select(schema.ingest_runs.c.status).order_by(schema.ingest_runs.c.id)
        ).scalars().all()
    assert statuses == ["superseded", "done"]
    engine.dispose()
