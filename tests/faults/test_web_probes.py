"""Probes of a real server (uvicorn on loopback) the way an attacker or a careless client sends
them: brute force, a session reused after logout, sign-up enumeration, deep pages, oversized
bodies, HEAD and OPTIONS on every page. None may answer 500 or drop the connection."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services import accounts
from paperscope.services.mailer import MailSettings
from paperscope.services.runtime import Runtime
from paperscope.services.search import build_indexes
from paperscope.sources.synthetic import write_snapshot
from paperscope.store import schema
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from paperscope.web.app import create_app
from paperscope.web.routes_accounts import SESSION_COOKIE
from tests.digests.conftest import Recorder

PASSWORD = "correct horse battery"
EMAIL = "owner@example.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp() -> Iterator[Recorder]:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    recorder.port = controller.port  # type: ignore[attr-defined]
    yield recorder
    controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: Recorder) -> Iterator[dict[str, Any]]:
    """A store of 400 synthetic papers with both search indexes, served by uvicorn on 127.0.0.1."""
    import uvicorn

    folder = tmp_path_factory.mktemp("probes")
    engine = open_engine(f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    plan = files_plan("snapshot", [write_snapshot(folder / "snap.jsonl", 400, seed=3)])
    run_ingest(engine, plan.source, plan.target, plan.batches)
    build_indexes(engine, folder / "data", "tfidf")
    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(folder / "data"), "PAPERSCOPE_EMBEDDER": "tfidf"})
    mail = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_tls="none",  # type: ignore[attr-defined]
                        smtp_timeout=10, mail_from="paperscope <p@paperscope.test>", base_url="http://t",
                        secret_key="probe-secret", digest_size=10)
    signup = accounts.sign_up(engine, EMAIL, PASSWORD)
    from paperscope.services.tokens import make_token

    accounts.confirm_sign_up(engine, "probe-secret",
                             make_token("probe-secret", "signup", {"u": signup.user["id"], "e": EMAIL}))
    app = create_app(Runtime(settings, engine, mail=mail), secret_key="csrf")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    with engine.connect() as connection:
        paper = connection.execute(select(schema.papers.c.arxiv_id).limit(1)).scalar_one()
        texts = [f"{t} {a}" for t, a in connection.execute(select(schema.papers.c.title, schema.papers.c.abstract))]
    # A word the embedder knows (the synthetic vocabulary is made up): in many papers, but in fewer
    # than the embedder's cut-off of half of them.
    in_papers = Counter(w for t in texts for w in {x.lower().strip(".,") for x in t.split() if len(x) > 3})
    word = next(w for w, n in in_papers.most_common() if n < 0.3 * len(texts))
    yield {"url": f"http://127.0.0.1:{port}", "port": port, "paper": paper, "engine": engine, "word": word}
    uv.should_exit = True
    thread.join(10)
    sock.close()
    engine.dispose()


def _csrf(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def _login(client: httpx.Client, password: str, email: str = EMAIL) -> httpx.Response:
    return client.post("/login", data={"email": email, "password": password, "csrf_token": _csrf(client, "/login")})


PAGES = ["/", "/?period=week", "/search?q=graph", "/authors", "/login", "/signup", "/subscribe",
         "/api/v1/papers", "/api/v1/search?q=graph", "/api/v1/openapi.json", "/static/style.css"]


def test_head_and_options_on_every_page(server: dict[str, Any]) -> None:
    paper = server["paper"]
    with httpx.Client(base_url=server["url"]) as client:
        for path in [*PAGES, f"/papers/{paper}", f"/api/v1/papers/{paper}"]:
            get = client.get(path)
            head = client.head(path)
            assert get.status_code == 200, path
            assert head.status_code == 200 and head.content == b"", path
            assert head.headers["content-type"] == get.headers["content-type"], path
            options = client.options(path)
            assert options.status_code == 204, path
            assert {"GET", "HEAD", "OPTIONS"} <= set(options.headers["allow"].split(", ")), path
        assert set(client.options("/login").headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
        assert set(client.options("/logout").headers["allow"].split(", ")) == {"OPTIONS", "POST"}
        wrong = client.put("/login")
        assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]


@pytest.mark.parametrize("path", [
    "/api/v1/search?q=graph&mode=semantic&per_page=100&page=10000",
    "/api/v1/search?q=graph&mode=hybrid&per_page=100&page=300",
    "/api/v1/search?q=graph&mode=semantic&per_page=100&page=4",
    "/search?q=graph&mode=hybrid&page=300&per_page=100",
    "/search?q=graph&mode=semantic&page=10000&per_page=100",
    "/api/v1/search?q=graph&mode=keyword&per_page=100&page=10000",
])
def test_deep_pages_answer_and_keep_the_connection(server: dict[str, Any], path: str) -> None:
    path = path.replace("q=graph", f"q={server['word']}")
    with httpx.Client(base_url=server["url"]) as client:
        deep = client.get(path)
        assert deep.status_code == 200, deep.text[:300]
        normal = client.get(f"/api/v1/search?q={server['word']}&mode=semantic").json()
        assert normal["papers"] and not normal["notes"], normal["notes"]
    if "/api/" in path:
        body = deep.json()
        assert body["page"] == int(re.search(r"[?&]page=(\d+)", path).group(1))  # type: ignore[union-attr]
        assert body["total"] >= len(body["papers"])


def _raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def test_an_oversized_body_is_refused_before_it_is_sent(server: dict[str, Any]) -> None:
    # Headers announce 50 MB; none of it is sent: the answer comes at once, unread.
    head = (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 52428800\r\n\r\n")
    started = time.monotonic()
    reply = _raw_request(server["port"], head)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"max_request_bytes" in reply and time.monotonic() - started < 5
    # A chunked body (no length said) is cut off once it passes the limit.
    with httpx.Client(base_url=server["url"]) as client:
        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b"x" * 65536
        r = client.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413
        assert client.get("/").status_code == 200


def test_brute_force_is_throttled_and_the_right_password_waits_too(server: dict[str, Any]) -> None:
    with httpx.Client(base_url=server["url"]) as client:
        token = _csrf(client, "/login")

        def attempt(password: str) -> httpx.Response:
            return client.post("/login", data={"email": EMAIL, "password": password, "csrf_token": token})

        counted = 0
        statuses = []
        while counted < 6:  # five free failures, then one more after the first wait
            r = attempt(f"wrong guess {counted}")
            statuses.append(r.status_code)
            if r.status_code == 429:
                time.sleep(int(r.headers["retry-after"]) + 0.1)
            else:
                assert r.status_code == 401 and "wrong email address or password" in r.text
                counted += 1
        assert statuses[:5] == [401] * 5 and 429 in statuses  # the sixth had to wait
        blocked = attempt(PASSWORD)
        assert blocked.status_code == 429 and "too many failed logins" in blocked.text
        assert 1 <= int(blocked.headers["retry-after"]) <= 2
        assert client.cookies.get(SESSION_COOKIE) is None
        time.sleep(int(blocked.headers["retry-after"]) + 0.1)
        assert attempt(PASSWORD).status_code == 303  # after the wait the owner gets in


def test_a_session_does_not_outlive_its_logout(server: dict[str, Any]) -> None:
    with httpx.Client(base_url=server["url"]) as client:
        other = "reader2@example.org"
        result = accounts.sign_up(server["engine"], other, PASSWORD)
        from paperscope.services.tokens import make_token

        accounts.confirm_sign_up(server["engine"], "probe-secret",
                                 make_token("probe-secret", "signup", {"u": result.user["id"], "e": other}))
        assert _login(client, PASSWORD, other).status_code in (200, 303)
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie and client.get("/library").status_code == 200
        client.post("/logout", data={"csrf_token": _csrf(client, "/library")})
    with httpx.Client(base_url=server["url"], cookies={SESSION_COOKIE: cookie}) as stolen:
        r = stolen.get("/library")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_sign_up_does_not_tell_who_has_an_account(server: dict[str, Any], smtp: Recorder) -> None:
    pages = []
    for email in (EMAIL, "newcomer@example.org"):
        with httpx.Client(base_url=server["url"]) as client:
            r = client.post("/signup", data={"email": email, "password": "a long unusual passphrase",
                                             "csrf_token": _csrf(client, "/signup")})
            pages.append((r.status_code, r.text.replace(email, "ADDRESS")))
    assert pages[0] == pages[1] and pages[0][0] == 200
    assert "already have an account" in smtp.to(EMAIL)[-1].message.get_body(("plain",)).get_content()
    assert "/signup/confirm" in smtp.to("newcomer@example.org")[-1].message.get_body(("plain",)).get_content()
