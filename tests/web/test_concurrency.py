"""Many clients at once on a real uvicorn server: the request threads and the store's connection
pool are sized together from `web_threads`, so 48 concurrent requests (logged-in pages included,
whose session lookup once ran out of pooled connections) all succeed, on SQLite and PostgreSQL.
Pages that only read run on the read-only engine; the forms write through the writer."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services import accounts
from paperscope.services.authors import recompute
from paperscope.sources.synthetic import write_snapshot
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from paperscope.web.app import app_for_settings
from paperscope.web.routes_accounts import SESSION_COOKIE
from tests.conftest import fresh_database
from tests.web.test_http_caching import confirmed_reader

THREADS = 4  # few threads for many clients: requests queue for a thread, never for a connection
CLIENTS = 48
PERSONAL = ("/library", "/api/v1/me/library")


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[dict[str, Any]]:
    with fresh_database(request.param, tmp_path) as url:
        engine = open_engine(url)
        upgrade(engine)
        plan = files_plan("snapshot", [write_snapshot(tmp_path / "papers.jsonl", 300, seed=5)])
        run_ingest(engine, plan.source, plan.target, plan.batches)
        recompute(engine)
        user = confirmed_reader(engine)
        papers = [pid for (pid,) in engine.connect().exec_driver_sql("SELECT id FROM papers ORDER BY id LIMIT 20")]
        for pid in papers[:5]:
            accounts.save(engine, user["id"], pid)
        cookie = accounts.start_session(engine, user)
        engine.dispose()
        settings = load_settings({"PAPERSCOPE_DATABASE_URL": url, "PAPERSCOPE_DATA_DIR": str(tmp_path / "data"),
                                  "PAPERSCOPE_SECRET_KEY": "test-secret", "PAPERSCOPE_WEB_THREADS": str(THREADS)})
        app = app_for_settings(settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{sock.getsockname()[1]}", "papers": papers, "cookie": cookie,
               "engine": app.state.runtime.reader, "runtime": app.state.runtime}
        server.should_exit = True
        thread.join(20)
        sock.close()


async def _fire(base: str, paths: list[str], cookie: str) -> list[Any]:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as anonymous, \
            httpx.AsyncClient(base_url=base, timeout=120, limits=limits,
                              cookies={SESSION_COOKIE: cookie}) as reader:
        async def one(i: int) -> Any:
            path = paths[i % len(paths)]
            # The reader's own pages with the session; the public ones both with it and without.
            personal = path in PERSONAL or (i // len(paths)) % 2
            try:
                r = await (reader if personal else anonymous).get(path)
                return (path, r.status_code)
            except httpx.HTTPError as exc:
                return (path, repr(exc))

        return await asyncio.gather(*(one(i) for i in range(CLIENTS)))


def test_48_concurrent_requests_all_succeed(server: dict[str, Any]) -> None:
    engine = server["engine"]
    assert engine.pool.size() == THREADS and engine.pool._max_overflow == THREADS  # sized from web_threads
    checked_out: list[int] = []
    threads: set[int] = set()
    from sqlalchemy import event

    def checkout(*_: Any) -> None:
        checked_out.append(engine.pool.checkedout())
        threads.add(threading.get_ident())

    event.listen(engine, "checkout", checkout)
    paper = server["papers"][7]
    paths = ["/", "/api/v1/papers", f"/papers/{paper}", f"/api/v1/papers/{paper}", "/search?q=learning",
             *PERSONAL, "/authors?q=a"]
    for _ in range(3):
        # In a thread of its own: a browser test's event loop may be running in this one.
        with ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, _fire(server["url"], paths, server["cookie"])).result()
        failures = [r for r in results if r[1] != 200]
        assert not failures, failures
    # Requests ran on web_threads threads (anyio's default would be 40), each holding at most two
    # connections: the pool never ran dry.
    assert 1 < len(threads) <= THREADS, threads
    assert 1 < max(checked_out) <= 2 * THREADS


def test_pages_read_on_the_read_only_engine_and_forms_write_on_the_writer(server: dict[str, Any]) -> None:
    from sqlalchemy import event, exc, text

    runtime = server["runtime"]
    reader, writer = runtime.reader, runtime.writer
    assert reader is not None and reader is not writer
    seen: dict[str, list[str]] = {"reader": [], "writer": []}
    event.listen(reader, "before_cursor_execute", lambda *a: seen["reader"].append(a[2]))
    event.listen(writer, "before_cursor_execute", lambda *a: seen["writer"].append(a[2]))
    paper = server["papers"][12]
    with httpx.Client(base_url=server["url"], cookies={SESSION_COOKIE: server["cookie"]}) as client:
        for path in ("/", f"/papers/{paper}", "/library", "/api/v1/me/library"):
            assert client.get(path).status_code == 200, path
        assert seen["reader"] and not [s for s in seen["writer"] if "wal_lsn" not in s]
        page = client.get("/library").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        seen["writer"].clear()
        saved = client.post("/library/save", data={"paper_id": paper, "csrf_token": token, "next": "/library"},
                            follow_redirects=False)
        assert saved.status_code == 303
        assert any(s.lstrip().upper().startswith("INSERT") for s in seen["writer"])
        assert paper in client.get("/library").text
    with pytest.raises(exc.DBAPIError, match="(?i)read.?only"), reader.begin() as connection:
        connection.execute(text("DELETE FROM sessions"))
