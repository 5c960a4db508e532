"""Two `paperscope serve` replicas over one PostgreSQL store and one snapshot folder: a new index
snapshot is published while a client hammers both; no request fails, both serve the new results
after the swap, and neither writes an index."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from paperscope.services.replica import publish_indexes
from paperscope.services.search import build_indexes
from tests.analytics.test_scores_service import TOPICS, load, record
from tests.scaleout.conftest import wait_until

NEW_TITLE = "Zeolite pores from equivariant transformers"
QUERY = {"q": "zeolite pores equivariant", "mode": "hybrid"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[tuple[list[str], list[Path]]]:
    """Two replicas (one uvicorn worker each), each with a data dir of its own, reading the store and
    the snapshot folder that the test publishes into."""
    urls, folders, processes = [], [], []
    for i in range(2):
        port = _free_port()
        folder = tmp_path / f"replica-{i}"
        env = {**os.environ, "PAPERSCOPE_DATABASE_URL": database_url, "PAPERSCOPE_DATA_DIR": str(folder),
               "PAPERSCOPE_INDEX_SNAPSHOTS": str(tmp_path / "snapshots"), "PAPERSCOPE_SECRET_KEY": "replica-test",
               "PAPERSCOPE_EMBEDDER": "tfidf"}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "paperscope", "serve", "--port", str(port), "--workers", "1",
             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        ))
        urls.append(f"http://127.0.0.1:{port}")
        folders.append(folder)
    try:
        for url, process in zip(urls, processes, strict=True):
            def up(url: str = url, process: subprocess.Popen = process) -> bool:
                if process.poll() is not None:
                    pytest.fail(f"replica {url} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
                try:
                    return httpx.get(f"{url}/api/v1/search", params=QUERY, timeout=5).status_code == 200
                except httpx.TransportError:
                    return False
            wait_until(up, 90, f"replica {url} to answer", every=0.3)
        yield urls, folders
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)


def _titles(response: httpx.Response) -> list[str]:
    return [paper["title"] for paper in response.json()["papers"]]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_replicas_swap_to_a_published_snapshot_without_a_failed_request(
    engine: Engine, replicas: tuple[list[str], list[Path]], tmp_path: Path
) -> None:
    urls, replica_dirs = replicas
    load(engine, [record(i, 2010 + i // 5, f"{TOPICS[i]} and we report experiments") for i in range(len(TOPICS))])
    snapshots = tmp_path / "snapshots"
    publish_indexes(build_indexes(engine, tmp_path / "builder", "tfidf"), snapshots)
    for url in urls:  # each replica finds the first snapshot by itself
        wait_until(lambda url=url: "needs the search index" not in str(
            httpx.get(f"{url}/api/v1/search", params=QUERY, timeout=10).json()["notes"]), 30, f"{url} to load it")

    failures: list[str] = []
    seen: dict[str, list[bool]] = {url: [] for url in urls}
    stop = threading.Event()

    def hammer(url: str) -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.get(f"{url}/api/v1/search", params=QUERY)
                except httpx.HTTPError as exc:
                    failures.append(f"{url}: {exc!r}")
                    continue
                if response.status_code != 200:
                    failures.append(f"{url}: {response.status_code} {response.text[:300]}")
                    continue
                body = response.json()
                if any("index" in note for note in body["notes"]):
                    failures.append(f"{url}: answered without the index: {body['notes']}")
                seen[url].append(NEW_TITLE in _titles(response))

    threads = [threading.Thread(target=hammer, args=(url,)) for url in urls for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        load(engine, [record(99, 2021, "zeolite crystallography with equivariant transformers predicts pore "
                             "geometry", title=NEW_TITLE)], "more")
        second = publish_indexes(build_indexes(engine, tmp_path / "builder", "tfidf"), snapshots)
        assert second.number == 2
        for url in urls:
            wait_until(lambda url=url: seen[url] and seen[url][-1], 60, f"{url} to serve snapshot 2", every=0.2)
        time.sleep(1.0)  # and keep hammering after the swap
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert failures == []
    for url in urls:
        answers = seen[url]
        assert len(answers) > 10 and not answers[0] and answers[-1], url
        # Once a replica serves the new snapshot it never goes back to the old one.
        assert answers[answers.index(True):] == [True] * (len(answers) - answers.index(True)), url
        assert _titles(httpx.get(f"{url}/api/v1/search", params=QUERY, timeout=10))[0] == NEW_TITLE
    pids = set()
    for url in urls:  # the operators' page and its JSON say what each replica serves
        ops = httpx.get(f"{url}/api/v1/ops", timeout=10).json()
        pids.add(ops["process"]["pid"])
        assert ops["indexes"]["version"] == "snapshot-000002" and ops["indexes"]["swaps"] == 2
        assert ops["indexes"]["last_error"] is None
        tfidf = next(g for g in ops["embeddings"]["generations"] if g["embedder"] == "tfidf-svd")
        assert tfidf["active"] and tfidf["covered"] == ops["embeddings"]["papers"] == len(TOPICS) + 1
        page = httpx.get(f"{url}/ops", timeout=10)
        assert page.status_code == 200 and "snapshot-000002" in page.text
    assert len(pids) == 2
    for folder in replica_dirs:  # the replicas read; they wrote no index of their own
        assert not (folder / "index").exists()
