"""Accounts through the web app: sign-up confirmed by email (never telling who has an account),
login (argon2 hashes), server-side sessions that logout and a password change end, saving and
upvoting papers, and "recommended for you" learned from the saved papers' embeddings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from paperscope.services import accounts, recommend
from paperscope.services.mailer import SmtpTransport
from paperscope.store import generations
from paperscope.store import users as users_store
from paperscope.store.digests_schema import users
from paperscope.web.routes_accounts import SESSION_COOKIE

PASSWORD = "correct horse battery"
LINK = re.compile(r"(http\S+/signup/confirm\?token=[\w.\-]+)")


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def sign_up(client: Any, email: str = "reader@example.org", password: str = PASSWORD) -> Any:
    return client.post("/signup", data={"email": email, "password": password, "next": "/library",
                                        "csrf_token": token_of(client.get("/signup").text)},
                       follow_redirects=False)


def mail_text(smtp: Any, address: str, index: int = -1) -> str:
    return smtp.to(address)[index].message.get_body(("plain",)).get_content()


def sign_up_and_confirm(client: Any, smtp: Any, email: str = "reader@example.org") -> Any:
    """Sign up, then follow the link the email brings: logged in."""
    assert sign_up(client, email).status_code == 200
    link = LINK.search(mail_text(smtp, email)).group(1)  # type: ignore[union-attr]
    return client.get(link, follow_redirects=False)


def test_sign_up_is_confirmed_by_email_and_stores_an_argon2_hash(client: Any, engine: Engine, smtp: Any) -> None:
    r = sign_up(client)
    assert r.status_code == 200 and "Check your inbox" in r.text and SESSION_COOKIE not in r.cookies
    with engine.connect() as connection:
        row = connection.execute(select(users)).mappings().one()
    assert row["email"] == "reader@example.org" and row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"] and row["confirmed_at"] is None
    # Not usable before the link is followed, even with the right password.
    page = client.get("/login")
    r = client.post("/login", data={"email": "reader@example.org", "password": PASSWORD,
                                    "csrf_token": token_of(page.text)})
    assert r.status_code == 401 and "not confirmed yet" in r.text
    confirm = client.get(LINK.search(mail_text(smtp, "reader@example.org")).group(1),  # type: ignore[union-attr]
                         follow_redirects=False)
    assert confirm.status_code == 303 and confirm.headers["location"] == "/library"
    assert "HttpOnly" in confirm.headers["set-cookie"] and "SameSite=lax" in confirm.headers["set-cookie"]
    page = client.get("/library")
    assert page.status_code == 200 and "Logged in as reader@example.org" in page.text


def test_sign_up_never_tells_whether_an_address_has_an_account(client: Any, smtp: Any, engine: Engine,
                                                                 mail: Any) -> None:
    sign_up_and_confirm(client, smtp)
    client.cookies.clear()
    known = sign_up(client, "reader@example.org", "another long passphrase here")
    unknown = sign_up(client, "stranger@example.org", "another long passphrase here")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("reader@", "X@") == unknown.text.replace("stranger@", "X@")
    # The difference is in the mailbox only its owner reads; one sign-up email per address per ten
    # minutes at most, so the form cannot flood an inbox.
    assert "/signup/confirm?token=" in mail_text(smtp, "stranger@example.org")
    assert len(smtp.to("reader@example.org")) == 1
    result = accounts.sign_up(engine, "reader@example.org", "another long passphrase here")
    later = datetime.now(UTC) + accounts.SIGNUP_MAIL_INTERVAL
    assert accounts.send_sign_up_mail(engine, mail, result, SmtpTransport(mail), now=later)
    assert "you already have an account" in mail_text(smtp, "reader@example.org")


def test_login_logout_and_bad_credentials(client: Any, smtp: Any) -> None:
    sign_up_and_confirm(client, smtp)
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
    cookie = client.cookies.get(SESSION_COOKIE)
    logout = client.post("/logout", data={"csrf_token": token_of(client.get("/library").text)},
                         follow_redirects=False)
    assert logout.status_code == 303
    assert client.get("/library", follow_redirects=False).status_code == 303
    # The old cookie, kept by whoever copied it, is not a session any more.
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/library", follow_redirects=False).status_code == 303


def test_weak_passwords_bad_addresses_and_missing_csrf_are_refused(client: Any) -> None:
    for weak in ("short", "aaaaaaaaaaaa", " " * 12, "password1234", "qwertyuiop12", "reader@example.org1"):
        r = sign_up(client, password=weak)
        assert r.status_code == 422, weak
        assert "at least 12 characters" in r.text or "too easy to guess" in r.text, weak
    r = sign_up(client, email="reader@example.org\r\nBcc: x@example.org")
    assert r.status_code == 422 and "header injection refused" in r.text
    r = client.post("/signup", data={"email": "a@example.org", "password": PASSWORD})
    assert r.status_code == 403


def test_a_forged_or_ended_session_is_not_a_login(client: Any, engine: Engine, smtp: Any) -> None:
    sign_up_and_confirm(client, smtp)
    with engine.connect() as connection:
        user = users_store.get_user_by_email(connection, "reader@example.org")
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, "made-up-session-value")
    assert client.get("/library", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, accounts.start_session(engine, user))  # type: ignore[arg-type]
    assert client.get("/library").status_code == 200
    accounts.end_all_sessions(engine, user["id"])  # type: ignore[index]
    assert client.get("/library", follow_redirects=False).status_code == 303


def test_a_password_change_ends_every_other_session(client: Any, engine: Engine, smtp: Any) -> None:
    sign_up_and_confirm(client, smtp)
    with engine.connect() as connection:
        user = users_store.get_user_by_email(connection, "reader@example.org")
    other_device = accounts.start_session(engine, user)  # type: ignore[arg-type]
    page = client.get("/account/password")
    r = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "a whole new passphrase",
                                               "csrf_token": token_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/library").status_code == 200  # this device got a new session
    assert accounts.user_for_session(engine, other_device) is None


def _ids(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'data-paper-id="([^"]+)"', html)))  # a card and its controls


def test_save_upvote_and_recommendations_explained_by_saved_papers(client: Any, engine: Engine, smtp: Any) -> None:
    sign_up_and_confirm(client, smtp)
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
    assert sorted(_ids(page)) == sorted(saved) and '▲ Upvoted <span class="count">1</span>' in page
    with engine.connect() as connection:
        assert users_store.upvote_counts(connection, saved) == {saved[0]: 1}
    client.post("/library/upvote", data={"paper_id": saved[0], "csrf_token": token})  # taken back
    with engine.connect() as connection:
        assert users_store.upvote_counts(connection, saved) == {}
    missing = client.post("/library/save", data={"paper_id": "arXiv:0000.00000", "csrf_token": token})
    assert missing.status_code == 404

    result = recommend.recommend(engine, user["id"], limit=10)  # type: ignore[index]
    fitted = len(recommend._rankings)
    # The same library over the same papers is ranked once: a second call reuses the fitted ranking.
    assert recommend.recommend(engine, user["id"], limit=10) == result  # type: ignore[index]
    assert len(recommend._rankings) == fitted
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


def test_recommendations_need_saved_papers(client: Any, engine: Engine, smtp: Any) -> None:
    sign_up_and_confirm(client, smtp)
    page = client.get("/recommended").text
    assert "save papers to get recommendations" in page and _ids(page) == []
