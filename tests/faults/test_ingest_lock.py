"""Two ingests of one source at once: the second is refused with the first one's pid, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from paperscope.core.records import Batch, PaperRecord
from paperscope.ingest.pipeline import run_ingest
from paperscope.store.locks import IngestBusy, hold_ingest_lock
from tests.conftest import BACKENDS

REPO = Path(__file__).resolve().parents[2]

# Holds the ingest lock of "arxiv_snapshot" on the store named by argv[1] until stdin closes.
HOLDER = """
import sys
from paperscope.store.engine import open_engine
from paperscope.store.locks import hold_ingest_lock
engine = open_engine(sys.argv[1])
with hold_ingest_lock(engine, "arxiv_snapshot"):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder(database_url: str, engine):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen([sys.executable, "-c", HOLDER, database_url], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout.readline().strip() == "held"
    yield process
    process.stdin.close()
    process.wait(timeout=30)


def _one_batch(_cursor):
    yield Batch([PaperRecord("arxiv_snapshot", "0704.0001", "A paper", arxiv_id="0704.0001")], None, "b")


@BACKENDS
def test_a_second_ingest_of_the_same_source_is_refused_with_the_pid(engine, holder):
    with pytest.raises(IngestBusy) as refused:
        run_ingest(engine, "arxiv_snapshot", "t", _one_batch)
    assert str(refused.value).startswith(f"another ingest of arxiv_snapshot is running (pid {holder.pid})")
    # Another source is not held up, and once the first run ends the source is free again.
    assert run_ingest(engine, "hf", "t", _one_batch).status == "done"
    holder.stdin.close()
    holder.wait(timeout=30)
    assert run_ingest(engine, "arxiv_snapshot", "t", _one_batch).status == "done"


@BACKENDS
def test_a_killed_holder_leaves_no_stale_lock(engine, holder):
    holder.kill()
    holder.wait(timeout=30)
    with hold_ingest_lock(engine, "arxiv_snapshot"):
        pass


def test_two_cli_ingests_at_once_one_refused_cleanly(tmp_path: Path):
    lines = b"".join(
        orjson.dumps({"id": f"0704.{n:04d}", "title": f"Paper {n}", "abstract": "A.",
                      "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}]}) + b"\n"
        for n in range(1, 3001)
    )
    snapshot = tmp_path / "snap.jsonl"
    snapshot.write_bytes(lines)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PAPERSCOPE_DATA_DIR": str(tmp_path / "data"),
           "PAPERSCOPE_BATCH_SIZE": "200"}
    env.pop("PAPERSCOPE_DATABASE_URL", None)
    command = [sys.executable, "-m", "paperscope", "ingest", "snapshot", str(snapshot)]
    subprocess.run([sys.executable, "-m", "paperscope", "db", "upgrade"], env=env, check=True, capture_output=True)
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [(p.wait(timeout=600), p.stdout.read() + p.stderr.read()) for p in runs]
    assert all("Traceback" not in out for _, out in results), results
    assert sorted(code for code, _ in results)[0] == 0
    refused = [out for code, out in results if code != 0]
    assert all("another ingest of arxiv_snapshot is running (pid" in " ".join(out.split()) for out in refused)
