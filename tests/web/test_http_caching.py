"""HTTP caching on a real store: validators that follow the store and the indexes, 304s answered
without running the page, pages private to their reader, gzip, and fingerprinted static files."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services import accounts
from paperscope.services.runtime import Runtime
from paperscope.services.search import build_indexes
from paperscope.services.tokens import make_token
from paperscope.sources.synthetic import write_snapshot
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from paperscope.web.app import create_app
from paperscope.web.routes_accounts import SESSION_COOKIE
from tests.conftest import fresh_database


@pytest.fixture(params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[dict[str, Any]]:
    with fresh_database(request.param, tmp_path) as url:
        engine = open_engine(url)
        upgrade(engine)
        plan = files_plan("snapshot", [write_snapshot(tmp_path / "first.jsonl", 60, seed=1)])
        run_ingest(engine, plan.source, plan.target, plan.batches)
        settings = load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path / "data")})
        app = create_app(Runtime(settings, engine), secret_key="test-secret")
        with TestClient(app) as client:
            client.get("/")  # the browser's CSRF cookie, as after its first visit
            yield {"engine": engine, "client": client, "folder": tmp_path, "settings": settings}
        engine.dispose()


def confirmed_reader(engine: Any, email: str = "reader@example.org") -> dict[str, Any]:
    """A signed-up account whose address is confirmed, as after following the sign-up link."""
    user = accounts.sign_up(engine, email, "correct horse battery staple 42").user
    token = make_token("test-signing", "signup", {"u": user["id"], "e": user["email_key"]})
    return accounts.confirm_sign_up(engine, "test-signing", token)


def _count_queries(engine: Any) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_revalidation_is_answered_304_without_running_the_page(site: dict[str, Any]) -> None:
    client = site["client"]
    queries = _count_queries(site["engine"])
    # On PostgreSQL the stamp is the server's WAL position: a write to another database of a shared
    # server (other tests) moves it too, and the page is then rebuilt. Nothing here writes: within a
    # few tries a revalidation finds the stamp unchanged.
    for _ in range(20):
        first = client.get("/")
        assert first.status_code == 200
        etag = first.headers["etag"]
        queries.clear()
        again = client.get("/", headers={"If-None-Match": etag})
        if again.status_code == 304 or site["engine"].dialect.name == "sqlite":
            break
    assert first.headers["cache-control"] == "private, no-cache"  # the forms carry this browser's token
    assert "cookie" in first.headers["vary"].lower()
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    if site["engine"].dialect.name == "sqlite":
        assert queries == []  # a stat of the store's files, no page built
    else:
        assert len(queries) == 1 and "wal_lsn" in queries[0]  # one stamp query, no page built
    assert any(client.get("/", headers={"If-Modified-Since": client.get("/").headers["last-modified"]}).status_code
               == 304 for _ in range(20))
    long_ago = formatdate(0, usegmt=True)
    assert client.get("/", headers={"If-Modified-Since": long_ago}).status_code == 200
    assert client.get("/", headers={"If-None-Match": 'W/"something-else"'}).status_code == 200


def test_an_ingest_and_an_index_build_change_the_etag(site: dict[str, Any]) -> None:
    client, engine = site["client"], site["engine"]
    before = client.get("/api/v1/papers?period=month")
    assert before.status_code == 200 and before.headers["cache-control"] == "public, no-cache"
    plan = files_plan("snapshot", [write_snapshot(site["folder"] / "second.jsonl", 80, seed=1)])
    run_ingest(engine, plan.source, plan.target, plan.batches)
    after = client.get("/api/v1/papers?period=month", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    build_indexes(engine, site["settings"].data_dir, embed=False)
    indexed = client.get("/api/v1/papers?period=month", headers={"If-None-Match": after.headers["etag"]})
    assert indexed.status_code == 200 and indexed.headers["etag"] != after.headers["etag"]


def test_kept_read_models_follow_the_store(site: dict[str, Any]) -> None:
    """A page asked for twice is built once (Runtime.read_model), but never outlives a write: after the
    paper's title changes in the store, its page and its JSON twin show the new title."""
    from sqlalchemy import update

    from paperscope.store import schema

    client, engine = site["client"], site["engine"]
    paper = client.get("/api/v1/papers?period=month").json()["papers"][0]
    queries = _count_queries(engine)
    first = client.get(f"/api/v1/papers/{paper['id']}").json()
    built = len(queries)
    assert client.get(f"/api/v1/papers/{paper['id']}").json() == first
    # the second answer came from the kept model: no read of the papers, only the version stamp
    assert not [q for q in queries[built:] if "papers" in q.lower()]
    with engine.begin() as connection:
        connection.execute(update(schema.papers).where(schema.papers.c.id == paper["id"])
                           .values(title="A Title Written After The Page Was Kept"))
    assert client.get(f"/api/v1/papers/{paper['id']}").json()["title"] == "A Title Written After The Page Was Kept"
    assert "A Title Written After The Page Was Kept" in client.get(f"/papers/{paper['id']}").text


def test_a_readers_pages_are_their_own(site: dict[str, Any]) -> None:
    client, engine = site["client"], site["engine"]
    anonymous = client.get("/api/v1/papers")
    user = confirmed_reader(engine)
    client.cookies.set(SESSION_COOKIE, accounts.start_session(engine, user))
    signed_in = client.get("/api/v1/papers")
    assert signed_in.headers["cache-control"] == "private, no-cache"
    assert signed_in.headers["etag"] != anonymous.headers["etag"]
    mine = client.get("/api/v1/me/recommended")
    assert mine.status_code == 200 and mine.headers["cache-control"] == "private, no-cache"
    # Another reader's validator never matches this reader's page.
    client.cookies.set(SESSION_COOKIE, "someone-else")
    assert client.get("/api/v1/papers", headers={"If-None-Match": signed_in.headers["etag"]}).status_code == 200


def test_pages_and_json_are_gzipped_when_asked(site: dict[str, Any]) -> None:
    client = site["client"]
    for path in ("/", "/api/v1/papers?period=month"):
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        packed = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in packed.headers["vary"].lower()
        assert packed.content == plain.content  # httpx decodes it: the same page
        raw = int(packed.headers["content-length"])
        assert raw < len(plain.content) / 2, (path, raw, len(plain.content))
        assert gzip.compress(plain.content)  # the body is a valid page to compress


def test_static_files_are_fingerprinted_and_cached_for_a_year(site: dict[str, Any]) -> None:
    client = site["client"]
    page = client.get("/").text
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert {u.split("?")[0] for u in urls} >= {"/static/style.css", "/static/app.js", "/static/favicon.svg"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert client.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    unversioned = client.get("/static/style.css")
    assert unversioned.headers["cache-control"] == "public, max-age=0, must-revalidate"


def test_every_page_read_from_the_store_has_validators(site: dict[str, Any]) -> None:
    client, engine = site["client"], site["engine"]
    with engine.connect() as connection:
        paper, tag = connection.exec_driver_sql(
            "SELECT id, primary_category FROM papers WHERE primary_category IS NOT NULL ORDER BY id").first()
    for path in ("/", "/?period=month", f"/papers/{paper}", f"/api/v1/papers/{paper}", "/search?q=learning",
                 "/api/v1/search?q=learning", "/authors?q=a", f"/categories/{tag}", f"/api/v1/categories/{tag}",
                 "/feeds/daily.atom"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["etag"].startswith('W/"') and "last-modified" in r.headers, path
    assert "etag" not in client.get("/login").headers  # forms that write are not validated
