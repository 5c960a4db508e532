"""SIGKILL in the middle of `paperscope score`, `index` and `authors recompute`, on SQLite and
PostgreSQL: the rerun finishes without a traceback and leaves nothing of the store uncounted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services.refresh import pending
from paperscope.sources.synthetic import write_snapshot
from tests.conftest import BACKENDS

REPO = Path(__file__).resolve().parents[2]
STAGES = {("score",): "scores", ("index",): "index", ("authors", "recompute"): "profiles"}
PAPERS = 1500


@pytest.mark.slow
@BACKENDS
def test_a_killed_derived_stage_is_finished_by_its_rerun(database_url: str, engine, tmp_path: Path) -> None:
    plan = files_plan("snapshot", [write_snapshot(tmp_path / "snap.jsonl", PAPERS, seed=9)])
    run_ingest(engine, plan.source, plan.target, plan.batches)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PAPERSCOPE_DATABASE_URL": database_url,
           "PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_EMBEDDER": "tfidf"}
    rng = random.Random(3)
    for command, stage in STAGES.items():
        child = subprocess.Popen([sys.executable, "-u", "-m", "paperscope", *command], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # The stage logs as it goes: its first line says the work has begun (the interpreter and
        # the libraries are loaded), so the kill lands inside the work, not in the start-up.
        assert child.stdout is not None
        child.stdout.readline()
        time.sleep(rng.uniform(0.0, 1.0))
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        rerun = subprocess.run([sys.executable, "-m", "paperscope", *command], env=env, capture_output=True,
                               text=True, timeout=900)
        assert rerun.returncode == 0 and "Traceback" not in rerun.stdout + rerun.stderr, rerun.stderr[-2000:]
        left = pending(engine, tmp_path / "data")
        assert getattr(left, stage) == 0, (command, left)
