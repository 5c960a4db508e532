"""Published index snapshots: complete or invisible, pruned to the newest few, and swapped by a
replica under load without a failed query; a damaged snapshot leaves the replica on the last good one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperscope.index.snapshots import SnapshotError, check_snapshot, latest_snapshot, list_snapshots
from paperscope.services.cards import build_cards
from paperscope.services.replica import PublishedIndexes, publish_indexes
from paperscope.services.search import SearchUnavailable, build_indexes
from tests.analytics.test_scores_service import TOPICS, load, record
from tests.conftest import BACKENDS

NEW_TOPIC = "zeolite crystallography with equivariant transformers predicts pore geometry"


def _corpus(n: int = len(TOPICS)):  # type: ignore[no-untyped-def]
    return [record(i, 2010 + i // 5, f"{TOPICS[i]} and we report experiments") for i in range(n)]


def _publish(engine: Engine, data_dir: Path, folder: Path):  # type: ignore[no-untyped-def]
    return publish_indexes(build_indexes(engine, data_dir, "tfidf"), folder)


@BACKENDS
def test_a_replica_swaps_to_a_new_snapshot_under_load_without_an_error(engine: Engine, tmp_path: Path) -> None:
    load(engine, _corpus())
    snapshots = tmp_path / "snapshots"
    first = _publish(engine, tmp_path / "builder", snapshots)
    assert first.number == 1 and (first.path / "lexical").is_dir()
    assert "vectors" in first.manifest["indexes"]
    check_snapshot(first, digests=True)

    replica = PublishedIndexes(engine, snapshots, check_every=0.01)
    assert replica.current().search("zeolite", "keyword").hits == []
    errors: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                answers.append(len(replica.current().search("zeolite pore", "hybrid").hits))
            except BaseException as exc:  # every failure is counted, none is expected
                errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        load(engine, [record(99, 2021, NEW_TOPIC, title="Zeolite pores from equivariant transformers")], "more")
        second = _publish(engine, tmp_path / "builder", snapshots)
        assert second.number == 2
        while replica.snapshot is None or replica.snapshot.number < 2:
            replica.refresh()
        for _ in range(50):  # queries keep coming after the swap
            answers.append(len(replica.current().search("zeolite pore", "hybrid").hits))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert replica.swaps == 2 and replica.describe()["version"] == "snapshot-000002"
    assert 0 in answers and answers[-1] >= 1  # the old snapshot did not know the paper; the new one does
    hits = replica.current().search("zeolite", "keyword").hits
    assert [c.title for c in build_cards(engine, [h.paper_id for h in hits])] == [
        "Zeolite pores from equivariant transformers"]


def test_only_complete_snapshots_are_seen_and_old_ones_are_pruned(engine: Engine, tmp_path: Path) -> None:
    load(engine, _corpus())
    snapshots = tmp_path / "snapshots"
    (snapshots / ".staging-deadbeef" / "lexical").mkdir(parents=True)  # a publisher died while copying
    (snapshots / "000009").mkdir()  # a numbered folder without a manifest is not a snapshot
    assert latest_snapshot(snapshots) is None
    replica = PublishedIndexes(engine, snapshots)
    with pytest.raises(SearchUnavailable, match="no published index snapshot"):
        replica.current().search("graph", "keyword")
    numbers = [_publish(engine, tmp_path / "builder", snapshots).number for _ in range(5)]
    assert numbers == [10, 11, 12, 13, 14]  # never reuses a number it finds taken
    assert [s.number for s in list_snapshots(snapshots)] == [12, 13, 14]

    assert replica.refresh() and replica.snapshot is not None and replica.snapshot.number == 14
    # A damaged newer snapshot: the replica keeps the last good one and says why.
    damaged = _publish(engine, tmp_path / "builder", snapshots)
    victim = next(p for p in sorted(damaged.path.rglob("*")) if p.is_file() and p.name != "MANIFEST.json")
    victim.write_bytes(victim.read_bytes() + b"!")
    with pytest.raises(SnapshotError, match=victim.name):
        check_snapshot(damaged)
    assert not replica.refresh()
    assert replica.snapshot.number == 14 and "not" in (replica.last_error or "")
    assert len(replica.current().search("graph", "keyword").hits) >= 1
