"""The embedding backfill on a real two-node Ray cluster: the same vectors as in one process, a
resumed backfill embeds only what is missing, and a worker killed in the middle of a range is
retried by Ray with no paper missing and none written twice."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from paperscope.analytics import novelty
from paperscope.ingest.pipeline import run_ingest
from paperscope.services import embeddings, scores
from paperscope.services.backfill import BackfillSummary, backfill_embeddings
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.services.runners import LocalRunner, RayRunner
from paperscope.store import generations
from paperscope.store import scores as store
from paperscope.store.engine import open_engine
from paperscope.store.generations import Generation
from paperscope.store.migrate import upgrade
from tests.scaleout.conftest import wait_until

pytestmark = pytest.mark.netns
RANGE = 400  # papers per range: about twenty ranges over the fixture store


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fixture_store(request: pytest.FixtureRequest, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[Engine]:
    """Every listing and recorded fixture but the ACL Anthology graph (its 18k title-only papers add a
    minute of ingest and nothing a split into ranges could get wrong), on the test's backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'paperscope.db'}"
    else:
        admin = request.getfixturevalue("private_postgres")
        engine = open_engine(admin)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text('CREATE DATABASE "scaleout"'))
        engine.dispose()
        url = admin.rsplit("/", 1)[0] + "/scaleout"
    engine = open_engine(url)
    upgrade(engine)
    for plan in listing_plans(shared_dir) + fixture_plans(shared_dir):
        if plan.source != "aan":
            run_ingest(engine, plan.source, plan.target, plan.batches)
    yield engine
    engine.dispose()


def _vectors(generation: Generation) -> tuple[list[str], np.ndarray]:
    """The generation's vectors in paper id order."""
    vectors = generations.open_vectors(generation)
    ids = sorted(vectors.ids)
    return vectors.rows(ids)


def _forget_vectors(generation: Generation) -> None:
    shutil.rmtree(generation.folder, ignore_errors=True)


def _papers(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [pid for (pid,) in connection.execute(text("SELECT id FROM papers ORDER BY id"))]


def test_cluster_backfill_gives_the_in_process_vectors_and_resumes(
    fixture_store: Engine, ray_cluster: str, tmp_path: Path
) -> None:
    engine = fixture_store
    papers = _papers(engine)
    assert len(papers) > 5000  # enough for many ranges
    embedder, generation, _ = embeddings.prepare(engine, "tfidf", tmp_path, refit=True)
    _forget_vectors(generation)
    local = backfill_embeddings(engine, generation, embedder, LocalRunner(), range_size=RANGE)
    local_ids, local_vectors = _vectors(generation)
    assert local.embedded == len(papers) == len(local_ids)

    _forget_vectors(generation)
    runner = RayRunner(ray_cluster)
    assert runner.nodes() == 2
    spread = backfill_embeddings(engine, generation, embedder, runner, range_size=RANGE)
    ids, vectors = _vectors(generation)
    assert spread.engine == "ray" and spread.ranges == local.ranges > 10
    assert spread.embedded == len(papers) and spread.changed == set(papers)
    assert ids == local_ids
    np.testing.assert_allclose(vectors, local_vectors, rtol=0, atol=1e-6)

    # A backfill stopped part-way (as a kill would) resumes: the finished ranges are not embedded again.
    _forget_vectors(generation)
    stopped = backfill_embeddings(engine, generation, embedder, runner, range_size=RANGE, stop_after=5)
    assert stopped.stopped and stopped.embedded < len(papers)
    status = {g["id"]: g for g in embeddings.status(engine)["generations"]}[generation.id]
    assert status["backfill_in_progress"] and status["ranges_done"] == 5
    resumed = backfill_embeddings(engine, generation, embedder, runner, range_size=RANGE)
    assert resumed.resumed_ranges == 5 and resumed.embedded == len(papers) - stopped.embedded
    assert stopped.changed | resumed.changed == set(papers) and not stopped.changed & resumed.changed
    status = {g["id"]: g for g in embeddings.status(engine)["generations"]}[generation.id]
    assert status["covered"] == len(papers) and not status["backfill_in_progress"]
    np.testing.assert_allclose(_vectors(generation)[1], local_vectors, rtol=0, atol=1e-6)


def test_novelty_neighbours_on_the_cluster_equal_the_in_process_search(fixture_store: Engine, ray_cluster: str,
                                                                       tmp_path: Path) -> None:
    engine = fixture_store
    embedder, generation, _ = embeddings.prepare(engine, "tfidf", tmp_path)
    backfill_embeddings(engine, generation, embedder, LocalRunner(), range_size=RANGE)
    with engine.connect() as connection:
        facts = store.list_paper_facts(connection)
    vectors, _ = scores._aligned_vectors(engine, generation, [f["id"] for f in facts])
    args = (vectors, [f["year"] for f in facts], [f["published"] for f in facts],
            [f["primary_category"] for f in facts])
    here = novelty.compute_novelty(*args, method="exact")
    search = scores.neighbour_search(RayRunner(ray_cluster), piece_rows=novelty.SEARCH_BLOCK)
    there = novelty.compute_novelty(*args, method="exact", search=search)
    assert len(facts) > 4 * novelty.SEARCH_BLOCK  # several pieces
    assert int((here.neighbours >= 0).any(axis=1).sum()) > 1000
    np.testing.assert_array_equal(there.neighbours, here.neighbours)
    np.testing.assert_allclose(there.similarities, here.similarities, rtol=0, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(there.percentile, here.percentile, rtol=0, atol=1e-9, equal_nan=True)


def _blocked_worker(engine: Engine) -> int | None:
    """The pid of a backfill worker whose session waits on a lock (its write of a held paper)."""
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE application_name LIKE 'paperscope-worker %' AND wait_event_type = 'Lock'"
        )).first()
    return int(row[0].rsplit(":", 1)[1]) if row else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/status").read_text().count("State:\tZ")


@pytest.mark.parametrize("fixture_store", ["postgres"], indirect=True)  # the fault holds a PostgreSQL table lock
def test_a_worker_killed_mid_range_is_retried_with_no_gap_and_no_duplicate(
    fixture_store: Engine, ray_cluster: str, tmp_path: Path
) -> None:
    engine = fixture_store
    papers = _papers(engine)
    embedder, generation, _ = embeddings.prepare(engine, "tfidf", tmp_path)
    _forget_vectors(generation)
    backfill_embeddings(engine, generation, embedder, LocalRunner(), range_size=RANGE)
    reference_ids, reference = _vectors(generation)
    _forget_vectors(generation)

    # Once the backfill has planned its ranges, lock the papers table: every worker blocks in the
    # read of its range, in the middle of its work, until one of them is killed.
    holder = engine.connect()
    holding = holder.begin()
    outcome: dict[str, BackfillSummary | BaseException] = {}

    def run() -> None:
        try:
            outcome["summary"] = backfill_embeddings(engine, generation, embedder, RayRunner(ray_cluster),
                                                     range_size=RANGE)
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_until(lambda: (generation.folder / "plan.json").is_file() or None, 120, "the backfill's plan")
        holder.execute(text("LOCK TABLE papers IN ACCESS EXCLUSIVE MODE"))
        victim = wait_until(lambda: _blocked_worker(engine), 120, "a worker blocked on the locked papers")
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: not _alive(victim), 30, f"worker {victim} to die")
    finally:
        holding.rollback()
        holder.close()
    thread.join(300)
    assert not thread.is_alive(), "the backfill did not finish after the killed worker's range was retried"
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert isinstance(summary, BackfillSummary)
    # Every range reported once: the killed attempt wrote nothing that counted.
    assert summary.embedded == len(papers) and summary.unchanged == 0 and summary.changed == set(papers)
    vectors = generations.open_vectors(generation)
    assert len(vectors.ids) == len(set(vectors.ids)) == len(papers)  # 0 duplicated, 0 missing
    ids, matrix = _vectors(generation)
    assert ids == reference_ids
    np.testing.assert_allclose(matrix, reference, rtol=0, atol=1e-6)
