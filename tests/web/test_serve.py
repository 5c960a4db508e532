"""`paperscope serve` for real: one uvicorn process, or gunicorn forking uvicorn workers that inherit
the semantic index, over the fixture store, answering on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from paperscope.services import search
from paperscope.store.engine import open_engine
from tests.conftest import REPO


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_pages_and_api(web_engine: Engine, tmp_path: Path, workers: int) -> None:
    # A copy of the fixture store with both search indexes: the workers' semantic search runs on
    # the index the server opened before forking them.
    shutil.copy(str(web_engine.url.database), tmp_path / "web.db")
    copy = open_engine(f"sqlite:///{tmp_path / 'web.db'}")
    search.build_indexes(copy, tmp_path, "tfidf")
    copy.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PAPERSCOPE_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
           "PAPERSCOPE_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "paperscope", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers), "--log-level", "warning"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(url + "/api/v1/papers", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "paperscope serve did not answer in 60 s"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["papers"]
        page = httpx.get(url + "/authors/name:bo-han", timeout=30)
        assert page.status_code == 200 and "<h1>Bo Han</h1>" in page.text
        assert page.headers["x-content-type-options"] == "nosniff"
        # Behind a reverse proxy on loopback (the default --forwarded-allow-ips): the proxy's
        # X-Forwarded-Proto is believed, so the form cookie is marked Secure; without the header it is not.
        proxied = httpx.get(url + "/", headers={"x-forwarded-proto": "https"}, timeout=30)
        assert proxied.status_code == 200 and "secure" in proxied.headers["set-cookie"].lower()
        assert "secure" not in httpx.get(url + "/", timeout=30).headers["set-cookie"].lower()
        for _ in range(2 * workers):  # every worker answers from the index
            semantic = httpx.get(url + "/api/v1/search", params={"q": "label noise", "mode": "semantic"}, timeout=30)
            assert semantic.status_code == 200 and semantic.json()["papers"], semantic.text
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_fails_clearly_on_a_bad_store(tmp_path: Path) -> None:
    env = {**os.environ, "PAPERSCOPE_DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-m", "paperscope", "serve", "--port", "1"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "cannot open the store" in result.stderr
