"""The embedding backfill on a real two-node Ray cluster: the same vectors as in one process, a
resumed backfill embeds only what is missing, and a worker killed in the middle of a range is
retried by Ray with no paper missing and none written twice."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, bindparam, text

from paperscope.analytics import novelty
from paperscope.ingest.pipeline import run_ingest
from paperscope.services import scores
from paperscope.services.backfill import BackfillSummary, backfill_embeddings, backfill_status
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.services.runners import LocalRunner, RayRunner
from paperscope.store import scores as store
from paperscope.store.engine import open_engine
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


def _vectors(engine: Engine, embedder) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return store.load_embeddings(connection, embedder.name, embedder.version)


def _forget_vectors(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM paper_embeddings"))


def _papers(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [pid for (pid,) in connection.execute(text("SELECT id FROM papers ORDER BY id"))]


def test_cluster_backfill_gives_the_in_process_vectors_and_resumes(fixture_store: Engine, ray_cluster: str) -> None:
    engine = fixture_store
    papers = _papers(engine)
    assert len(papers) > 5000  # enough for many ranges
    embedder, _ = scores.prepare_embedder(engine, "tfidf", refit=True)
    _forget_vectors(engine)
    local = backfill_embeddings(engine, embedder, LocalRunner(), range_size=RANGE)
    local_ids, local_vectors = _vectors(engine, embedder)
    assert local.embedded == len(papers) == len(local_ids)

    _forget_vectors(engine)
    runner = RayRunner(ray_cluster)
    assert runner.nodes() == 2
    spread = backfill_embeddings(engine, embedder, runner, range_size=RANGE)
    ids, vectors = _vectors(engine, embedder)
    assert spread.engine == "ray" and spread.ranges == local.ranges > 10
    assert spread.embedded == len(papers) and spread.changed == set(papers)
    assert ids == local_ids
    np.testing.assert_allclose(vectors, local_vectors, rtol=0, atol=1e-6)

    # A backfill stopped part-way resumes: only the papers without a current vector are embedded.
    lost = papers[::7]
    with engine.begin() as connection:
        for start in range(0, len(lost), 500):
            connection.execute(
                text("DELETE FROM paper_embeddings WHERE paper_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": lost[start : start + 500]},
            )
    status = backfill_status(engine)["embedders"][0]
    assert status["embedder"] == "tfidf-svd" and status["missing"] == len(lost) and not status["done"]
    resumed = backfill_embeddings(engine, embedder, runner, range_size=RANGE)
    assert resumed.embedded == len(lost) and resumed.changed == set(lost)
    assert resumed.unchanged == len(papers) - len(lost)
    assert backfill_status(engine)["embedders"][0]["done"]
    np.testing.assert_allclose(_vectors(engine, embedder)[1], local_vectors, rtol=0, atol=1e-6)


def test_novelty_neighbours_on_the_cluster_equal_the_in_process_search(fixture_store: Engine, ray_cluster: str,
                                                                       ) -> None:
    engine = fixture_store
    embedder, _ = scores.prepare_embedder(engine, "tfidf")
    backfill_embeddings(engine, embedder, LocalRunner(), range_size=RANGE)
    with engine.connect() as connection:
        facts = store.list_paper_facts(connection)
    vectors = scores._aligned_vectors(engine, embedder, [f["id"] for f in facts])
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


@pytest.mark.slow
@pytest.mark.parametrize("fixture_store", ["postgres"], indirect=True)  # the fault holds a PostgreSQL row lock
def test_a_worker_killed_mid_range_is_retried_with_no_gap_and_no_duplicate(
    fixture_store: Engine, ray_cluster: str
) -> None:
    engine = fixture_store
    papers = _papers(engine)
    embedder, _ = scores.prepare_embedder(engine, "tfidf")
    _forget_vectors(engine)
    backfill_embeddings(engine, embedder, LocalRunner(), range_size=RANGE)
    reference_ids, reference = _vectors(engine, embedder)
    _forget_vectors(engine)

    # Hold one paper's vector row in an open transaction: the worker whose range holds that paper
    # blocks in its write, in the middle of its range, until it is killed.
    held = papers[len(papers) // 2]
    holder = engine.connect()
    holding = holder.begin()
    holder.execute(text(
        "INSERT INTO paper_embeddings (paper_id, model, model_version, dim, vector, text_hash, computed_at) "
        "VALUES (:pid, :model, 'held by the test', 1, :vector, 'held', now())"
    ), {"pid": held, "model": embedder.name, "vector": b"\0\0\0\0"})
    outcome: dict[str, BackfillSummary | BaseException] = {}

    def run() -> None:
        try:
            outcome["summary"] = backfill_embeddings(engine, embedder, RayRunner(ray_cluster), range_size=RANGE)
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        victim = wait_until(lambda: _blocked_worker(engine), 120, "a worker blocked on the held paper")
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
    # Every range reported once: the killed attempt wrote nothing and counted nothing.
    assert summary.embedded == len(papers) and summary.unchanged == 0 and summary.changed == set(papers)
    with engine.connect() as connection:
        rows, distinct = connection.execute(text(
            "SELECT count(*), count(DISTINCT paper_id) FROM paper_embeddings WHERE model = :m"
        ), {"m": embedder.name}).one()
    assert rows == distinct == len(papers)  # 0 duplicated, 0 missing
    ids, vectors = _vectors(engine, embedder)
    assert ids == reference_ids and held in ids
    np.testing.assert_allclose(vectors, reference, rtol=0, atol=1e-6)
