"""`paperscope build`: a small snapshot end to end, then a daily file incrementally; and a build
killed (SIGKILL) during its ingest and again during a later stage, resumed each time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, func, select

from paperscope.services import search
from paperscope.services.build import STAGE_NAMES
from paperscope.sources.synthetic import iter_snapshot_lines, write_snapshot
from paperscope.store import schema
from paperscope.store.scores_schema import paper_scores
from tests.conftest import BACKENDS

REPO = Path(__file__).resolve().parents[2]


def build(database_url: str, data_dir: Path, *files: Path, batch: int = 500) -> subprocess.Popen:
    env = {
        **os.environ, "PAPERSCOPE_DATABASE_URL": database_url, "PAPERSCOPE_DATA_DIR": str(data_dir),
        "PAPERSCOPE_BATCH_SIZE": str(batch), "PYTHONPATH": str(REPO / "src"),
        "PAPERSCOPE_BULK_EMBEDDER": "tfidf",  # no model to distil in a test
    }  # fmt: skip
    command = [sys.executable, "-m", "paperscope", "build", "--json"]
    for f in files:
        command += ["--snapshot", str(f)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(child: subprocess.Popen, timeout: float = 900) -> dict:
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, err[-4000:]
    return json.loads(out[out.index("{"):])


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def daily_file(path: Path, n: int) -> Path:
    """`n` papers with ids no synthetic snapshot uses, dated 2026-12-01."""
    with path.open("wb") as out:
        for i, line in enumerate(iter_snapshot_lines(n, seed=99)):
            record = orjson.loads(line)
            record["id"] = f"3612.{i + 1:05d}"
            record["doi"] = f"10.9999/daily.{i}"  # the generator's DOIs repeat across seeds
            record["versions"] = [{"version": "v1", "created": "Tue, 1 Dec 2026 12:00:00 GMT"}]
            record["update_date"] = "2026-12-01"
            out.write(orjson.dumps(record) + b"\n")
    return path


@BACKENDS
def test_small_snapshot_end_to_end_then_a_daily_file(database_url: str, engine: Engine, tmp_path: Path):
    snapshot = write_snapshot(tmp_path / "snapshot.jsonl", 1500, seed=21)
    data_dir = tmp_path / "data"
    report = finished(build(database_url, data_dir, snapshot))
    assert report["mode"] == "full" and not report["resumed"]
    assert [s["stage"] for s in report["stages"]] == list(STAGE_NAMES)
    assert all(s["status"] == "done" and s["seconds"] > 0 for s in report["stages"])
    by_stage = {s["stage"]: s for s in report["stages"]}
    assert by_stage["ingest"]["items"] == 1500 and by_stage["ingest"]["detail"]["path"] == "bulk"
    assert by_stage["embed"]["items"] == 1500
    assert count(engine, schema.papers) == 1500
    with engine.connect() as connection:
        scored = connection.execute(
            select(func.count()).select_from(paper_scores).where(paper_scores.c.novelty_raw.is_not(None))
        ).scalar_one()
    assert scored > 1000  # every paper with an abstract and enough earlier papers
    # The indexes answer: the title of a stored paper finds it by keyword.
    with engine.connect() as connection:
        paper_id, title = connection.execute(select(schema.papers.c.id, schema.papers.c.title).limit(1)).one()
    found = search.Searcher(engine, data_dir).search(title, mode="keyword", limit=5)
    assert paper_id in [hit.paper_id for hit in found.hits]

    # A second file on a store with papers: incremental, through the record path.
    daily = daily_file(tmp_path / "daily.jsonl", 120)
    again = finished(build(database_url, data_dir, daily))
    assert again["mode"] == "incremental"
    by_stage = {s["stage"]: s for s in again["stages"]}
    assert by_stage["ingest"]["detail"]["path"] == "record"
    assert by_stage["ingest"]["detail"]["papers_new"] == 120
    assert by_stage["embed"]["items"] == 120  # only the new papers are embedded
    assert count(engine, schema.papers) == 1620


def _wait_for(predicate, child: subprocess.Popen, what: str, limit: float = 600) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        if child.poll() is not None:
            pytest.fail(f"the build ended before {what}: {child.stderr.read()[-3000:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    pytest.fail(f"no {what} within {limit} s")


def _kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL


def _stage_status(engine: Engine, stage: str) -> str | None:
    s = schema.build_stages
    with engine.connect() as connection:
        return connection.execute(select(s.c.status).where(s.c.stage == stage)).scalar()


def _ingest_cursor(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            select(schema.ingest_runs.c.cursor).order_by(schema.ingest_runs.c.id.desc()).limit(1)
        ).scalar()


@pytest.mark.slow
@BACKENDS
def test_killed_during_ingest_and_during_embed_then_resumed(database_url: str, engine: Engine, tmp_path: Path):
    lines, batch = 12_000, 500
    snapshot = write_snapshot(tmp_path / "snapshot.jsonl", lines, seed=23)
    data_dir = tmp_path / "data"

    first = build(database_url, data_dir, snapshot, batch=batch)
    _wait_for(lambda: count(engine, schema.papers) >= 3 * batch, first, "three committed batches")
    _kill(first)
    papers, cursor = count(engine, schema.papers), _ingest_cursor(engine)
    assert 0 < papers < lines, "the kill must land mid-ingest"
    assert cursor is not None and cursor.endswith(f":{papers}")  # rows and cursor committed together
    assert _stage_status(engine, "ingest") == "running"

    second = build(database_url, data_dir, snapshot, batch=batch)
    _wait_for(lambda: _stage_status(engine, "embed") == "running", second, "the embed stage")
    _kill(second)
    assert count(engine, schema.papers) == lines
    assert _stage_status(engine, "ingest") == "done"

    report = finished(build(database_url, data_dir, snapshot, batch=batch))
    assert report["resumed"]
    statuses = [s["status"] for s in report["stages"]]
    assert statuses[0] == "skipped"  # the ingest, finished by the second run, is not redone
    # Stages finished before the kill are skipped, the rest run now, in order; all are finished.
    assert statuses == sorted(statuses, key=lambda status: status != "skipped")
    assert set(statuses) <= {"skipped", "done"} and "done" in statuses
    by_stage = {s["stage"]: s for s in report["stages"]}
    if by_stage["embed"]["status"] == "done":  # the stage the kill hit: it embeds what is left
        assert by_stage["embed"]["items"] + by_stage["embed"]["detail"]["unchanged"] == lines
    assert count(engine, schema.papers) == lines
    with engine.connect() as connection:
        statuses = [r[0] for r in connection.execute(select(schema.builds.c.status))]
        runs = [r[0] for r in connection.execute(
            select(schema.ingest_runs.c.status).order_by(schema.ingest_runs.c.id)
        )]
    assert statuses == ["done"]  # one build, resumed twice
    assert runs == ["superseded", "done"]
