"""Digests over a real SMTP server on loopback: the subscriber's whole journey through the web app,
message content and headers, links that work, one-click unsubscribe, never the same paper twice,
and SMTP failures mid-run that end with nothing lost and nothing sent twice."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine

from paperscope.services import digests
from paperscope.services.mailer import MailSettings, SmtpTransport
from paperscope.store import digests as store
from tests.digests.conftest import BASE_URL, DAY, Recorder

TODAY = date.fromisoformat(DAY)


class EightDaysAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        import time

        return int(time.time()) - 8 * 86400


def csrf(client: Any, path: str = "/subscribe") -> str:
    html = client.get(path).text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def parts(received: Any) -> tuple[str, str]:
    msg = received.message
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def paper_ids_in(html: str) -> list[str]:
    return re.findall(r'data-paper-id="([^"]+)"', html)


def local(url: str) -> str:
    """A link of an email, as a path for the in-process client (the base URL is the client's)."""
    assert url.startswith(BASE_URL + "/"), url
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


def run(engine: Engine, mail: MailSettings, day: date = TODAY) -> digests.DigestRun:
    return digests.run_digests(engine, mail, SmtpTransport(mail), day)


def subscribe_active(engine: Engine, address: str, **topic: Any) -> dict[str, Any]:
    return digests.subscribe(engine, address, digests.Topic.make(**topic), confirmed=True).subscription


# --- the journey ----------------------------------------------------------------------------------


def test_subscribe_confirm_receive_follow_links_and_unsubscribe_in_one_click(
        client: Any, engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    address = "reader@example.org"
    r = client.post("/subscribe", data={"email": address, "topic": "trending", "csrf_token": csrf(client, "/")})
    assert r.status_code == 200 and "Check your inbox" in r.text
    # Double opt-in: a confirmation email and nothing else; no digest before confirming.
    assert [m.recipients for m in smtp.messages] == [[address]]
    confirmation = smtp.messages[0].message
    assert confirmation["Subject"] == "Confirm your paperscope subscription"
    assert run(engine, mail).built == 0
    text, html = parts(smtp.messages[0])
    link = re.search(r"Confirm the subscription: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert f'href="{link}"' in unescape(html)
    page = client.get(local(link))
    assert page.status_code == 200 and "Subscription confirmed" in page.text
    with engine.connect() as connection:
        (sub,) = store.list_subscriptions(connection, email_key=address)
    assert sub["status"] == "active" and sub["confirmed_at"] is not None

    result = run(engine, mail)
    assert (result.built, result.sent, result.pending, result.error) == (1, 1, 0, None)
    digest = smtp.messages[1]
    assert digest.recipients == [address] and digest.sender == "digest@paperscope.test"
    msg = digest.message
    assert msg["From"] == "paperscope <digest@paperscope.test>" and msg["To"] == address
    assert msg["Subject"] == "Today's papers: trending papers"
    assert msg["Message-ID"] == f"<digest.{sub['id']}.D{DAY}@paperscope.test>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = re.fullmatch(r"<(http://testserver/unsubscribe\?token=[\w.-]+)>",
                                   msg["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]

    # The message carries the papers the outbox recorded, best first, in both parts.
    with engine.connect() as connection:
        (row,) = store.list_outbox(connection, sub["id"])
    text, html = parts(digest)
    ids = row["paper_ids"]
    assert len(ids) == mail.digest_size and paper_ids_in(html) == ids
    assert row["status"] == "sent" and row["sent_at"] is not None
    titles = re.findall(r'<h3 class="title"><a href="([^"]+)">(.*?)</a></h3>', html)
    assert [local(href) for href, _ in titles] == [f"/papers/{pid}" for pid in ids]
    positions = [text.index(unescape(title)) for _, title in titles]
    assert positions == sorted(positions)  # same papers, same order in the plain-text part
    for href, title in titles:  # every card's link opens that paper's page
        page = client.get(local(href))
        assert page.status_code == 200 and unescape(title) in unescape(page.text)
    for url in re.findall(r"https?://\S+", text):
        assert client.get(local(url.rstrip("."))).status_code == 200

    # One click: what a mail provider sends for List-Unsubscribe-Post (no cookie, no CSRF token).
    page = client.get(local(unsubscribe_url))
    assert page.status_code == 200 and "Stop sending trending papers to reader@example.org?" in page.text
    with engine.connect() as connection:
        assert store.get_subscription(connection, sub["id"])["status"] == "active"  # a GET changes nothing
    r = client.post(local(unsubscribe_url), content=b"List-Unsubscribe=One-Click",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "Unsubscribed" in r.text
    with engine.connect() as connection:
        assert store.get_subscription(connection, sub["id"])["status"] == "unsubscribed"
    assert client.post(local(unsubscribe_url)).status_code == 200  # again: still fine, nothing changes
    later = run(engine, mail, TODAY + timedelta(days=1))
    assert (later.due, later.sent) == (0, 0) and len(smtp.messages) == 2


def test_unsubscribe_page_button_and_preferences(client: Any, engine: Engine, mail: MailSettings,
                                                 smtp: Recorder) -> None:
    sub = subscribe_active(engine, "prefs@example.org", trending=True)
    prefs = digests.subscription_token(mail.secret_key, "preferences", sub)
    page = client.get(f"/subscriptions/preferences?token={prefs}")
    assert page.status_code == 200 and "prefs@example.org follows trending papers (daily)" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/subscriptions/preferences", data={
        "csrf_token": token, "token": prefs, "q": "language models", "category": "cl, lg",
        "frequency": "weekly"})
    assert r.status_code == 200 and "Saved." in r.text
    with engine.connect() as connection:
        row = store.get_subscription(connection, sub["id"])
    assert row["topic"] == {"trending": False, "query": "language models", "categories": ["CL", "LG"],
                            "authors": []} and row["frequency"] == "weekly"
    bad = client.post("/subscriptions/preferences", data={"csrf_token": token, "token": prefs,
                                                          "category": "NOPE"})
    assert bad.status_code == 422 and "unknown category NOPE" in bad.text
    assert client.post("/subscriptions/preferences", data={"token": prefs}).status_code == 403  # no CSRF
    # The page's button posts the token as a form field.
    unsub = digests.subscription_token(mail.secret_key, "unsubscribe", sub)
    page = client.get(f"/unsubscribe?token={unsub}")
    form_token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post("/unsubscribe", data={"token": form_token}).status_code == 200
    with engine.connect() as connection:
        assert store.get_subscription(connection, sub["id"])["status"] == "unsubscribed"


def test_links_with_bad_tokens_are_refused_with_the_reason(client: Any, engine: Engine,
                                                            mail: MailSettings) -> None:
    sub = subscribe_active(engine, "tokens@example.org")
    confirm = digests.subscription_token(mail.secret_key, "confirm", sub)
    for path, code in [
        (f"/unsubscribe?token={confirm}", "invalid_token"),  # a token of another purpose
        (f"/subscriptions/confirm?token={confirm[:-2]}xx", "invalid_token"),  # damaged
        ("/subscriptions/confirm", "invalid_token"),
        (f"/subscriptions/preferences?token={digests.make_token('other', 'preferences', {'s': 1})}",
         "invalid_token"),  # signed with another secret
    ]:
        r = client.get(path)
        assert r.status_code == 400 and f'data-code="{code}"' in r.text, path
    # A confirm link of 8 days ago: past the 7 days it is good for.
    payload = {"s": sub["id"], "e": sub["email_key"]}
    old = URLSafeTimedSerializer(mail.secret_key, salt="paperscope-confirm", signer=EightDaysAgo).dumps(payload)
    r = client.get(f"/subscriptions/confirm?token={old}")
    assert r.status_code == 400 and 'data-code="token_expired"' in r.text and "has expired" in r.text
    with engine.connect() as connection:
        assert store.get_subscription(connection, sub["id"])["status"] == "active"


# --- never the same paper twice --------------------------------------------------------------------


def test_never_the_same_paper_twice_across_subscriptions_and_days(engine: Engine, mail: MailSettings,
                                                                  smtp: Recorder) -> None:
    address = "twice@example.org"
    subscribe_active(engine, address, trending=True)
    subscribe_active(engine, address, query="language models")
    subscribe_active(engine, "other@example.org", trending=True)
    days = [TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1)]
    for day in days:
        run(engine, mail, day)
    sent_ids = [pid for m in smtp.to(address) for pid in paper_ids_in(parts(m)[1])]
    assert len(smtp.to(address)) >= 3
    assert sent_ids and len(sent_ids) == len(set(sent_ids))
    # The other address got the same trending papers: the rule is per address, not global.
    other = [pid for m in smtp.to("other@example.org") for pid in paper_ids_in(parts(m)[1])]
    assert set(other) & set(sent_ids) and len(other) == len(set(other))
    with engine.connect() as connection:
        assert sorted(store.papers_sent_to(connection, address)) == sorted(sent_ids)
    # A run repeated for the same day builds nothing new and sends nothing.
    before = len(smtp.messages)
    again = run(engine, mail, days[-1])
    assert (again.due, again.sent, len(smtp.messages)) == (0, 0, before)


# --- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reject", "close"])
def test_smtp_failure_mid_run_loses_nothing_and_sends_nothing_twice(engine: Engine, mail: MailSettings,
                                                                    smtp: Recorder, mode: str) -> None:
    addresses = [f"reader{i}@example.org" for i in range(5)]
    for a in addresses:
        subscribe_active(engine, a, trending=True)
    smtp.fail_after, smtp.mode = 1, mode
    first = run(engine, mail)
    assert first.built == 5 and first.sent == 1 and first.pending == 4 and smtp.failures >= 1
    assert first.error and ("451" in first.error or "closed" in first.error or "421" in first.error)
    assert [m.recipients for m in smtp.messages] == [[addresses[0]]]
    with engine.connect() as connection:
        rows = store.list_outbox(connection)
    assert [r["status"] for r in rows] == ["sent"] + ["pending"] * 4
    assert rows[1]["attempts"] == 1 and rows[1]["last_error"]

    smtp.fail_after = None  # the server is back
    second = run(engine, mail)
    assert (second.built, second.sent, second.pending, second.error) == (0, 4, 0, None)
    third = run(engine, mail)
    assert (third.built, third.sent) == (0, 0)
    received = sorted(r for m in smtp.messages for r in m.recipients)
    assert received == sorted(addresses)  # each exactly once
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert len(set(ids)) == 5
    # The message that went out after the failure is the one built before it, unchanged.
    with engine.connect() as connection:
        stored = {r["email_key"]: r["message"] for r in store.list_outbox(connection)}
    for m in smtp.messages:
        assert m.raw.replace(b"\r\n", b"\n").strip() == stored[m.recipients[0]].replace(b"\r\n", b"\n").strip()


def test_smtp_server_down_keeps_everything_pending(engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    subscribe_active(engine, "down@example.org")
    from dataclasses import replace

    closed = replace(mail, smtp_port=1)  # nothing listens there
    result = digests.run_digests(engine, closed, SmtpTransport(closed), TODAY)
    assert result.built == 1 and result.sent == 0 and result.pending == 1
    assert "cannot connect to the SMTP server 127.0.0.1:1" in result.error
    assert run(engine, mail).sent == 1 and len(smtp.messages) == 1


def test_crash_after_building_sends_the_stored_messages_once(engine: Engine, mail: MailSettings,
                                                             smtp: Recorder) -> None:
    for a in ("a@example.org", "b@example.org"):
        subscribe_active(engine, a)
    built = digests.build_digests(engine, mail, TODAY)  # the process dies after this
    assert len(built) == 2
    assert digests.build_digests(engine, mail, TODAY) == []  # the key (subscription, period) holds
    result = run(engine, mail)
    assert (result.built, result.sent) == (0, 2)
    assert sorted(m.recipients[0] for m in smtp.messages) == ["a@example.org", "b@example.org"]


def test_refused_recipient_fails_alone_and_unsubscribed_digests_are_cancelled(
        engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    gone = subscribe_active(engine, "gone@example.org")
    subscribe_active(engine, "fine@example.org")
    quitter = subscribe_active(engine, "quitter@example.org")
    smtp.refuse.add("gone@example.org")
    digests.build_digests(engine, mail, TODAY)
    token = digests.subscription_token(mail.secret_key, "unsubscribe", quitter)
    digests.unsubscribe(engine, mail.secret_key, token)  # after building, before sending: cancelled
    result = run(engine, mail)
    assert (result.sent, result.failed, result.pending) == (1, 1, 0)
    assert [m.recipients for m in smtp.messages] == [["fine@example.org"]]
    with engine.connect() as connection:
        rows = {r["subscription_id"]: r for r in store.list_outbox(connection)}
        assert "550" in rows[gone["id"]]["last_error"] and rows[gone["id"]]["status"] == "failed"
        assert rows[quitter["id"]]["status"] == "cancelled"
        assert store.papers_sent_to(connection, "quitter@example.org") == []  # may be sent later


# --- addresses ---------------------------------------------------------------------------------------

BAD_ADDRESSES = [
    "", "plainaddress", "two@@example.org", "a@b@example.org", "reader@", "@example.org",
    "reader@example.org\r\nBcc: victim@example.org", "reader@example.org\nSubject: hi",
    "reader@example.org, victim@example.org", "Reader <reader@example.org>", "reader@exa mple.org",
    "reader@example..org", "x" * 250 + "@example.org",
]


def test_invalid_addresses_and_header_injection_are_rejected(client: Any, engine: Engine,
                                                             smtp: Recorder) -> None:
    token = csrf(client)
    for bad in BAD_ADDRESSES:
        r = client.post("/subscribe", data={"email": bad, "csrf_token": token})
        assert r.status_code == 422, bad
        assert 'data-code="invalid_address"' in r.text and "role=\"alert\"" in r.text, bad
    injected = client.post("/subscribe", data={"email": "ok@example.org", "q": "llm\r\nBcc: victim@example.org",
                                               "csrf_token": token})
    assert injected.status_code == 422 and "header injection refused" in injected.text
    assert client.post("/subscribe", data={"email": "ok@example.org"}).status_code == 403  # no CSRF token
    with engine.connect() as connection:
        assert store.list_subscriptions(connection) == []
    assert smtp.messages == []
    with pytest.raises(digests.InvalidAddress, match="header injection refused"):
        digests.subscribe(engine, "reader@example.org\r\nBcc: victim@example.org", digests.Topic.make())
    from paperscope.services.mailer import compose

    with pytest.raises(digests.InvalidAddress):
        compose(MailSettings(), "reader@example.org", "Hi\r\nBcc: victim@example.org", "t", "<p>t</p>", "x")


def test_subscribing_twice_keeps_one_subscription_and_one_confirmation_per_ten_minutes(
        client: Any, engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    from datetime import UTC, datetime

    token = csrf(client)
    pages = [client.post("/subscribe", data={"email": "Twice@Example.ORG", "csrf_token": token}) for _ in range(3)]
    assert [p.status_code for p in pages] == [200] * 3 and pages[0].text == pages[2].text  # tells nothing
    with engine.connect() as connection:
        (row,) = store.list_subscriptions(connection)
    assert row["email"] == "Twice@example.org" and row["status"] == "pending"
    assert [m.recipients for m in smtp.messages] == [["Twice@example.org"]]  # the form cannot flood an inbox
    later = datetime.now(UTC) + digests.CONFIRM_INTERVAL
    assert digests.send_confirmation(engine, mail, row, SmtpTransport(mail), later)
    assert len(smtp.messages) == 2


def test_confirmation_not_sent_is_said_plainly(client: Any, app: Any, mail: MailSettings) -> None:
    from dataclasses import replace

    from paperscope.services.runtime import Runtime

    runtime = app.state.runtime
    app.state.runtime = Runtime(runtime.settings, runtime.engine, mail=replace(mail, smtp_port=1))
    r = client.post("/subscribe", data={"email": "later@example.org", "csrf_token": csrf(client)})
    assert r.status_code == 503 and "could not be sent" in r.text


def test_sent_message_bodies_are_dropped_after_30_days(engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    from datetime import UTC, datetime

    subscribe_active(engine, "old@example.org")
    run(engine, mail)
    later = datetime.now(UTC) + timedelta(days=29)
    digests.send_pending(engine, mail, SmtpTransport(mail), later)
    with engine.connect() as connection:
        (row,) = store.list_outbox(connection)
    assert row["message"] is not None
    digests.send_pending(engine, mail, SmtpTransport(mail), later + timedelta(days=2))
    with engine.connect() as connection:
        (row,) = store.list_outbox(connection)
    assert row["status"] == "sent" and row["message"] is None and row["paper_ids"] and row["message_id"]


def test_two_runs_at_once_never_send_one_message_twice(engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    from datetime import UTC, datetime

    for a in ("x@example.org", "y@example.org"):
        subscribe_active(engine, a)
    digests.build_digests(engine, mail, TODAY)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        first, _ = store.list_outbox(connection)
        assert store.claim_outbox(connection, first["id"], now, now - digests.CLAIM_STALE)  # another run has it
        assert not store.claim_outbox(connection, first["id"], now, now - digests.CLAIM_STALE)
    result = run(engine, mail)
    assert (result.sent, result.pending) == (1, 1) and [m.recipients for m in smtp.messages] == [["y@example.org"]]
    # That other run died while sending: 15 minutes on, the next run sends the message.
    later = digests.send_pending(engine, mail, SmtpTransport(mail), now + digests.CLAIM_STALE + timedelta(minutes=1))
    assert (later.sent, later.pending) == (1, 0)
    assert sorted(m.recipients[0] for m in smtp.messages) == ["x@example.org", "y@example.org"]
