"""Accounts through the web app: sign-up and login (argon2 hashes), the signed session cookie, saving
and upvoting papers, and "recommended for you" learned from the saved papers' embeddings."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from paperscope.services import accounts, recommend
from paperscope.store import generations
from paperscope.store import users as users_store
from paperscope.store.digests_schema import users
from paperscope.web.routes_accounts import SESSION_COOKIE

PASSWORD = "correct horse battery"


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def sign_up(client: Any, email: str = "reader@example.org", password: str = PASSWORD) -> Any:
    return client.post("/signup", data={"email": email, "password": password, "next": "/library",
                                        "csrf_token": token_of(client.get("/signup").text)},
                       follow_redirects=False)


def test_sign_up_stores_an_argon2_hash_and_logs_in(client: Any, engine: Engine) -> None:
    r = sign_up(client)
    assert r.status_code == 303 and r.headers["location"] == "/library"
    cookie = r.cookies.get(SESSION_COOKIE) or client.cookies.get(SESSION_COOKIE)
    assert cookie and "HttpOnly" in r.headers["set-cookie"] and "SameSite=lax" in r.headers["set-cookie"]
    with engine.connect() as connection:
        row = connection.execute(select(users)).mappings().one()
    assert row["email"] == "reader@example.org" and row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    page = client.get("/library")
    assert page.status_code == 200 and "Logged in as reader@example.org" in page.text
    again = sign_up(client)  # the address has an account
    assert again.status_code == 422 and "exists already" in again.text


def test_login_logout_and_bad_credentials(client: Any) -> None:
    sign_up(client)
    client.cookies.clear()
    assert client.get("/library", follow_redirects=False).headers["location"] == "/login?next=/library"
    page = client.get("/login")
    for email, password in [("reader@example.org", "wrong password!"), ("nobody@example.org", PASSWORD)]:
        r = client.post("/login", data={"email": email, "password": password, "csrf_token": token_of(page.text)})
        assert r.status_code == 401 and "wrong email address or password" in r.text
    r = client.post("/login", data={"email": "Reader@Example.org", "password": PASSWORD, "next": "//evil.example/",
                                    "csrf_token": token_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/library"  # never an outside redirect
    assert client.get("/library").status_code == 200
    logout = client.post("/logout", data={"csrf_token": token_of(client.get("/library").text)},
                         follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/library", follow_redirects=False).status_code == 303


def test_short_passwords_bad_addresses_and_missing_csrf_are_refused(client: Any) -> None:
    assert sign_up(client, password="short").status_code == 422
    r = sign_up(client, email="reader@example.org\r\nBcc: x@example.org")
    assert r.status_code == 422 and "header injection refused" in r.text
    r = client.post("/signup", data={"email": "a@example.org", "password": PASSWORD})
    assert r.status_code == 403


def test_a_forged_or_ended_session_is_not_a_login(client: Any, engine: Engine, mail: Any) -> None:
    sign_up(client)
    with engine.connect() as connection:
        user = users_store.get_user_by_email(connection, "reader@example.org")
    forged = accounts.session_token("another secret", user)  # type: ignore[arg-type]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, forged)
    assert client.get("/library", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, accounts.session_token(mail.secret_key, user))  # type: ignore[arg-type]
    assert client.get("/library").status_code == 200
    accounts.end_all_sessions(engine, user["id"])  # type: ignore[index]
    assert client.get("/library", follow_redirects=False).status_code == 303


def _ids(html: str) -> list[str]:
    return re.findall(r'data-paper-id="([^"]+)"', html)


def test_save_upvote_and_recommendations_explained_by_saved_papers(client: Any, engine: Engine) -> None:
    sign_up(client)
    with engine.connect() as connection:
        user = users_store.get_user_by_email(connection, "reader@example.org")
        recent = users_store.recent_paper_ids(connection, None, 100_000)
    ids, vectors = generations.vectors_for(engine, recent)
    # The taste: three papers close to each other (a paper and its two nearest neighbours).
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    seed = 0
    near = np.argsort(-(unit @ unit[seed]))[:3]
    saved = [ids[i] for i in near]
    token = token_of(client.get("/library").text)
    for pid in saved:
        r = client.post("/library/save", data={"paper_id": pid, "csrf_token": token, "next": "/library"},
                        follow_redirects=False)
        assert r.status_code == 303
    r = client.post("/library/upvote", data={"paper_id": saved[0], "csrf_token": token, "next": "/library"})
    assert r.status_code == 200
    page = client.get("/library").text
    assert sorted(_ids(page)) == sorted(saved) and "▲ Upvote (1)" in page
    with engine.connect() as connection:
        assert users_store.upvote_counts(connection, saved) == {saved[0]: 1}
    client.post("/library/upvote", data={"paper_id": saved[0], "csrf_token": token})  # taken back
    with engine.connect() as connection:
        assert users_store.upvote_counts(connection, saved) == {}
    missing = client.post("/library/save", data={"paper_id": "arXiv:0000.00000", "csrf_token": token})
    assert missing.status_code == 404

    result = recommend.recommend(engine, user["id"], limit=10)  # type: ignore[index]
    assert result["model"]["positives"] == 3 and result["model"]["negatives"] > 100
    recs = result["papers"]
    assert len(recs) == 10 and not set(r["id"] for r in recs) & set(saved)
    # Each recommendation names the saved papers it is closest to, most similar first.
    for r in recs:
        sims = [b["similarity"] for b in r["because"]]
        assert {b["id"] for b in r["because"]} == set(saved) and sims == sorted(sims, reverse=True)
    # The model ranks papers near the saved ones above the rest: the mean similarity to the saved
    # papers of the recommendations beats that of the store's papers at large.
    row_of = {pid: i for i, pid in enumerate(ids)}
    taste = unit[near].mean(axis=0)
    rec_sim = float(np.mean([unit[row_of[r["id"]]] @ taste for r in recs]))
    all_sim = float(np.mean(unit @ taste))
    assert rec_sim > all_sim + 0.1
    page = client.get("/recommended").text
    assert _ids(page)[:10] == [r["id"] for r in recs] and "Because you saved:" in page
    assert "trained on your 3 saved papers" in page
    api = client.get("/api/v1/me/recommended?limit=5").json()
    assert [p["id"] for p in api["papers"]] == [r["id"] for r in recs[:5]]
    client.cookies.clear()
    assert client.get("/api/v1/me/recommended").status_code == 401


def test_recommendations_need_saved_papers(client: Any, engine: Engine) -> None:
    sign_up(client)
    page = client.get("/recommended").text
    assert "save papers to get recommendations" in page and _ids(page) == []
