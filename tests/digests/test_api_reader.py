"""The JSON API of what a reader does on the pages (similar papers, library, upvotes, subscriptions),
under the pages' rules: a session for the library and upvotes (401 without), the CSRF token (here
in the X-CSRF-Token header) on every change (403 without, or with a forged one), and the shapes
the OpenAPI document states."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from paperscope.store import users as users_store
from tests.digests.test_accounts import mail_text, sign_up_and_confirm

HEADER = "x-csrf-token"


def _token(client: Any) -> str:
    r = client.get("/api/v1/csrf")
    assert r.status_code == 200 and r.json()["header"] == HEADER
    return r.json()["csrf_token"]


def _papers(engine: Engine, n: int) -> list[str]:
    with engine.connect() as connection:
        return users_store.recent_paper_ids(connection, None, n)


def test_library_and_upvotes_need_a_session_and_the_csrf_token(client: Any, engine: Engine, smtp: Any) -> None:
    first, second = _papers(engine, 2)
    token = _token(client)
    # Not logged in: 401 for reads and changes alike, never an empty library.
    assert client.get("/api/v1/me/library").status_code == 401
    anonymous = client.put(f"/api/v1/me/library/{first}", headers={HEADER: token})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "login_required"

    assert sign_up_and_confirm(client, smtp).status_code == 303
    # Logged in, but without the token or with a forged one: 403, and nothing is saved.
    assert client.put(f"/api/v1/me/library/{first}").status_code == 403
    forged = client.put(f"/api/v1/me/library/{first}", headers={HEADER: "forged"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    assert client.get("/api/v1/me/library").json() == {"papers": []}

    saved = client.put(f"/api/v1/me/library/{first}", headers={HEADER: token})
    assert saved.status_code == 200
    assert saved.json() == {"paper_id": first, "saved": True, "upvoted": False, "local_upvotes": 0}
    client.put(f"/api/v1/me/library/{second}", headers={HEADER: token})
    listed = client.get("/api/v1/me/library").json()["papers"]
    assert [c["id"] for c in listed] == [second, first] and all(c["saved"] for c in listed)

    voted = client.put(f"/api/v1/me/upvotes/{first}", headers={HEADER: token}).json()
    assert (voted["upvoted"], voted["local_upvotes"], voted["saved"]) == (True, 1, True)
    again = client.put(f"/api/v1/me/upvotes/{first}", headers={HEADER: token}).json()
    assert again["local_upvotes"] == 1  # idempotent: a second PUT is no second vote
    assert [c["id"] for c in client.get("/api/v1/me/upvotes").json()["papers"]] == [first]
    # The page shows what the API did.
    assert '▲ Upvoted <span class="count">1</span>' in client.get("/library").text

    taken = client.delete(f"/api/v1/me/upvotes/{first}", headers={HEADER: token}).json()
    assert (taken["upvoted"], taken["local_upvotes"]) == (False, 0)
    removed = client.delete(f"/api/v1/me/library/{first}", headers={HEADER: token}).json()
    assert removed["saved"] is False
    assert [c["id"] for c in client.get("/api/v1/me/library").json()["papers"]] == [second]

    missing = client.put("/api/v1/me/library/arXiv:0000.00000", headers={HEADER: token})
    assert missing.status_code == 404 and "arXiv:0000.00000" in missing.json()["error"]["message"]


def test_similar_papers(client: Any, engine: Engine) -> None:
    (pid,) = _papers(engine, 1)
    r = client.get(f"/api/v1/papers/{pid}/similar", params={"limit": 5})
    assert r.status_code == 200
    similar = r.json()["papers"]
    assert 0 < len(similar) <= 5 and pid not in [c["id"] for c in similar]
    page = client.get(f"/api/v1/papers/{pid}").json()
    assert [c["id"] for c in similar] == [c["id"] for c in page["similar"]][:len(similar)]
    assert client.get("/api/v1/papers/arXiv:0000.00000/similar").status_code == 404
    assert client.get(f"/api/v1/papers/{pid}/similar", params={"limit": 0}).status_code == 422


def test_subscriptions_subscribe_confirm_change_and_unsubscribe(client: Any, smtp: Any) -> None:
    body = {"email": "api@example.org", "q": "language models", "categories": ["CL"], "frequency": "weekly"}
    assert client.post("/api/v1/subscriptions", json=body).status_code == 403  # no CSRF token
    token = _token(client)
    bad = client.post("/api/v1/subscriptions", json={**body, "categories": ["XX"]}, headers={HEADER: token})
    assert bad.status_code == 422 and "unknown category XX" in bad.json()["error"]["message"]
    r = client.post("/api/v1/subscriptions", json=body, headers={HEADER: token})
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    text = mail_text(smtp, "api@example.org")
    confirm = re.search(r"(http\S+/subscriptions/confirm\?token=[\w.\-]+)", text).group(1)  # type: ignore[union-attr]
    page = client.get(confirm).text
    prefs = re.search(r"preferences\?token=([\w.\-]+)", page).group(1)  # type: ignore[union-attr]

    shown = client.get("/api/v1/subscriptions/preferences", params={"token": prefs}).json()
    assert shown["email"] == "api@example.org" and shown["status"] == "active" and shown["frequency"] == "weekly"
    assert shown["following"] == {"trending": False, "query": "language models", "categories": ["CL"],
                                  "authors": []}
    change = {"trending": True, "categories": ["LG"], "frequency": "daily"}
    assert client.put("/api/v1/subscriptions/preferences", params={"token": prefs}, json=change).status_code == 403
    changed = client.put("/api/v1/subscriptions/preferences", params={"token": prefs}, json=change,
                         headers={HEADER: token}).json()
    assert changed["topic"] == "trending papers in LG" and changed["frequency"] == "daily"
    assert client.get("/api/v1/subscriptions/preferences", params={"token": "forged"}).status_code == 400

    unsub_page = client.get(f"/subscriptions/preferences?token={prefs}").text
    unsub = re.search(r"unsubscribe\?token=([\w.\-]+)", unsub_page).group(1)  # type: ignore[union-attr]
    gone = client.post("/api/v1/subscriptions/unsubscribe", params={"token": unsub})
    assert gone.status_code == 200 and gone.json()["status"] == "unsubscribed"


def test_every_reader_route_is_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path, methods in {
        "/api/v1/csrf": {"get"}, "/api/v1/papers/{paper_id}/similar": {"get"},
        "/api/v1/me/library": {"get"}, "/api/v1/me/library/{paper_id}": {"put", "delete"},
        "/api/v1/me/upvotes": {"get"}, "/api/v1/me/upvotes/{paper_id}": {"put", "delete"},
        "/api/v1/subscriptions": {"post"}, "/api/v1/subscriptions/preferences": {"get", "put"},
        "/api/v1/subscriptions/unsubscribe": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            documented = paths[path][method]["responses"]
            assert "401" in documented and "403" in documented and "422" in documented
