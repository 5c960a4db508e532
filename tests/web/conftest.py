"""The web tests' store (every listing and recorded fixture, plus papers whose every text field is
an XSS payload), the app over it in process, a real uvicorn server on loopback and a real Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services.authors import recompute
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.services.runtime import Runtime
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from paperscope.web.app import create_app
from tests.conftest import REPO

ARTIFACTS = REPO / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Every text field a page shows, as a payload that would run if it reached the page unescaped.
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss=2;alert(2)\">"
XSS_SVG = "<svg onload=window.__xss=3>"
XSS_DAY = "2019-02-02"
XSS_PAPERS = [
    {
        "id": "1902.00001",
        "title": f"Payload title {XSS_SCRIPT} and {XSS_IMG}",
        "abstract": (f"Hostile abstract {XSS_SVG} with LaTeX $a<b$ & {XSS_SCRIPT} "
                     "see https://github.com/evil/x\"><script>window.__xss=4</script>"),
        "comments": f"comment {XSS_IMG}",
        "journal-ref": f"J. {XSS_SCRIPT}",
        "authors_parsed": [["Mallory<script>window.__xss=5</script>", "Eve", ""], ["onerror", XSS_IMG, ""],
                           ["Trent", "Tess", ""]],
    },
    {
        "id": "1902.00002",
        "title": f"Second payload \"'><img src=x onerror=window.__xss=6> {XSS_SVG}",
        "abstract": f"javascript:window.__xss=7 {XSS_IMG}",
        "comments": None,
        "journal-ref": None,
        "authors_parsed": [["Mallory<script>window.__xss=5</script>", "Eve", ""]],
    },
]


def write_xss_snapshot(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for p in XSS_PAPERS:
            names = ", ".join(f"{first} {last}" for last, first, _ in p["authors_parsed"])
            out.write(json.dumps({
                "id": p["id"], "submitter": "x", "authors": names, "title": p["title"],
                "comments": p["comments"], "journal-ref": p["journal-ref"], "doi": None, "report-no": None,
                "categories": "cs.LG", "license": None, "abstract": p["abstract"],
                "versions": [{"version": "v1", "created": "Sat, 2 Feb 2019 12:00:00 GMT"}],
                "update_date": XSS_DAY, "authors_parsed": p["authors_parsed"],
            }) + "\n")
    return path


@pytest.fixture(scope="session")
def web_engine(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite store with the listings, every fixture and the XSS papers; author profiles computed."""
    folder = tmp_path_factory.mktemp("web-store")
    engine = open_engine(f"sqlite:///{folder / 'web.db'}")
    upgrade(engine)
    plans = listing_plans(shared_dir) + fixture_plans(shared_dir)
    plans.append(files_plan("snapshot", [write_xss_snapshot(folder / "xss.jsonl")]))
    for plan in plans:
        run_ingest(engine, plan.source, plan.target, plan.batches)
    recompute(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def web_app(web_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("data"))})
    return create_app(Runtime(settings, web_engine), secret_key="test-secret")


@pytest.fixture(scope="session")
def client(web_app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(web_app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def live_url(web_app: Any) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 at a free port, in a thread."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web_app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def chromium_path() -> str:
    found = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed in CI (.ci/run installs it)")
        pytest.skip("no chromium at /usr/bin/chromium: apt-get install chromium")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page that records dialogs, console errors and failed requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.dialogs = []
    pg.errors = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
