"""Subscriptions and email digests: subscribe with double opt-in, confirm, unsubscribe, preferences;
build each due digest into the outbox, then send what the outbox holds.

A run has two phases. *Build*: every active subscription without a digest for its current period
(`D2026-11-25` daily, `W2026-48` weekly) gets one: its top new papers (see `select_papers`), rendered
and stored as a whole message in the outbox together with the sent-papers log, in one transaction,
under the unique key (subscription, period). *Send*: every pending outbox row goes to SMTP and is
marked sent in its own transaction as soon as the server accepts it. A crash or an SMTP failure
leaves the unsent rows pending; the next run builds nothing twice and sends what is pending.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperscope.core.categories import KNOWN_TAGS
from paperscope.core.ids import normalise_person_name
from paperscope.services.cards import Card, build_cards
from paperscope.services.mailer import (
    CardRenderer,
    FileTransport,
    InvalidAddress,
    MailError,
    MailSettings,
    MessageRefused,
    Transport,
    address_key,
    check_header_text,
    compose,
    make_environment,
    validate_address,
)
from paperscope.services.tokens import TokenError, make_token, read_token
from paperscope.store import digests as store

FREQUENCIES = {"daily": 1, "weekly": 7}
GRACE_DAYS = 3  # sources date papers a day or two before they are listed: look back this far too
MAX_WINDOW_DAYS = 31  # a subscription whose last digest is older still looks back one month at most
MAX_ATTEMPTS = 8  # a message refused this often (temporary errors) is given up as failed
MAX_QUERY = 200
MAX_FOLLOWED = 20
WRITE_CHUNK = 500
CONFIRM_INTERVAL = timedelta(minutes=10)  # at most one confirmation email per subscription in this time
CLAIM_STALE = timedelta(minutes=15)  # a row taken for sending this long ago by a run that died is sent again
KEEP_SENT_DAYS = 30  # the bodies of sent messages are kept this long (for support), then dropped
INDEX_HITS = 2000  # keyword hits of one query that a digest ranks

__all__ = ["DigestRun", "InvalidAddress", "SubscriptionError", "Topic", "TokenError", "build_digests",
           "confirm", "run_digests", "send_pending", "subscribe", "unsubscribe"]


class SubscriptionError(ValueError):
    """A subscription request that cannot be honoured, with the reason for people."""


# --- topics -------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Topic:
    """What a subscription follows. Every given part must hold (a query within categories by
    authors); `trending` ranks by attention; an empty topic is the trending papers."""

    trending: bool = False
    query: str | None = None
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()

    @classmethod
    def make(cls, trending: bool = False, query: str | None = None, categories: Iterable[str] = (),
             authors: Iterable[str] = ()) -> Topic:
        """A checked, canonical topic; SubscriptionError says what is wrong."""
        q = (query or "").strip() or None
        if q is not None:
            _check_text(q, "the query", MAX_QUERY)
            if not _WORD.search(q):
                raise SubscriptionError("the query has no words to match")
        cats = sorted({c.strip().upper() for c in categories if c and c.strip()})
        unknown = [c for c in cats if c not in KNOWN_TAGS]
        if unknown:
            raise SubscriptionError(f"unknown category {', '.join(unknown)}: use tags like LG, CV, CL")
        names = sorted({a.strip() for a in authors if a and a.strip()})
        for name in names:
            _check_text(name, "an author", 160)
        if len(cats) > MAX_FOLLOWED or len(names) > MAX_FOLLOWED:
            raise SubscriptionError(f"follow at most {MAX_FOLLOWED} categories and {MAX_FOLLOWED} authors")
        trending = bool(trending) or not (q or cats or names)
        return cls(trending, q, tuple(cats), tuple(names))

    def to_json(self) -> dict[str, Any]:
        return {"trending": self.trending, "query": self.query, "categories": list(self.categories),
                "authors": list(self.authors)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Topic:
        return cls(bool(value.get("trending")), value.get("query"), tuple(value.get("categories") or ()),
                   tuple(value.get("authors") or ()))

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    def describe(self) -> str:
        parts = []
        if self.query:
            parts.append(f"papers matching “{self.query}”")
        if self.categories:
            parts.append(("" if parts else "papers ") + "in " + ", ".join(self.categories))
        if self.authors:
            parts.append(("" if parts else "papers ") + "by " + ", ".join(self.authors))
        text = " ".join(parts)
        if self.trending:
            return f"trending {text}" if text else "trending papers"
        return text


def _check_text(value: str, what: str, limit: int) -> None:
    try:
        check_header_text(value, what, limit)
    except InvalidAddress as exc:
        raise SubscriptionError(str(exc)) from None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# --- subscribing ---------------------------------------------------------------------------------


@dataclass
class SubscribeResult:
    subscription: dict[str, Any]
    created: bool
    needs_confirmation: bool  # a confirmation email should be (re)sent


def subscribe(engine: Engine, email: str, topic: Topic, frequency: str = "daily", confirmed: bool = False,
              user_id: int | None = None, now: datetime | None = None) -> SubscribeResult:
    """A pending subscription (or, `confirmed`, an active one: operators only), or the existing one of
    this address and topic. Raises InvalidAddress or SubscriptionError."""
    address = validate_address(email)
    if frequency not in FREQUENCIES:
        raise SubscriptionError(f"unknown frequency {frequency!r}: daily or weekly")
    now = _now(now)
    key = address_key(address)
    with engine.begin() as connection:
        existing = store.find_subscription(connection, key, topic.key())
        if existing is None:
            values = {"email": address, "email_key": key, "topic": topic.to_json(), "topic_key": topic.key(),
                      "frequency": frequency, "status": "active" if confirmed else "pending",
                      "user_id": user_id, "created_at": now, "confirmed_at": now if confirmed else None}
            new_id = store.insert_subscription(connection, values)
            if new_id is not None:
                row = store.get_subscription(connection, new_id)
                return SubscribeResult(row, True, not confirmed)  # type: ignore[arg-type]
            existing = store.find_subscription(connection, key, topic.key())
        assert existing is not None
        changes: dict[str, Any] = {}
        if existing["frequency"] != frequency:
            changes["frequency"] = frequency
        if confirmed and existing["status"] != "active":
            changes.update(status="active", confirmed_at=now, unsubscribed_at=None)
        elif existing["status"] == "unsubscribed":
            changes.update(status="pending", unsubscribed_at=None)  # opting in again: confirm again
        if changes:
            store.update_subscription(connection, existing["id"], **changes)
            existing.update(changes)
        return SubscribeResult(existing, False, existing["status"] == "pending")


def subscription_token(secret: str, purpose: str, subscription: dict[str, Any]) -> str:
    return make_token(secret, purpose, {"s": subscription["id"], "e": subscription["email_key"]})


def _subscription_from_token(engine: Engine, secret: str, purpose: str, token: str | None) -> dict[str, Any]:
    payload = read_token(secret, purpose, token)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise TokenError(f"the {purpose} link is not valid")
    with engine.connect() as connection:
        row = store.get_subscription(connection, payload["s"])
    if row is None or row["email_key"] != payload.get("e"):
        raise TokenError(f"the {purpose} link names a subscription that no longer exists")
    return row


def send_confirmation(engine: Engine, mail: MailSettings, subscription: dict[str, Any], transport: Transport,
                      now: datetime | None = None, min_interval: timedelta = CONFIRM_INTERVAL) -> bool:
    """The double opt-in email with the confirm link; False (nothing sent) when one went to this
    subscription less than `min_interval` ago, so the form cannot flood an inbox. Raises MailError."""
    now = _now(now)
    last = subscription.get("confirm_sent_at")
    if last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        if now - last < min_interval:
            return False
    env = make_environment()
    topic = Topic.from_json(subscription["topic"])
    context = {"topic": topic.describe(), "address": subscription["email"],
               "frequency": subscription["frequency"],
               "confirm_url": mail.url("/subscriptions/confirm",
                                       token=subscription_token(mail.secret_key, "confirm", subscription))}
    text = env.get_template("email/confirm.txt").render(context)
    html = env.get_template("email/confirm.html").render(context)
    message = compose(mail, subscription["email"], "Confirm your paperscope subscription", text, html,
                      f"confirm.{subscription['id']}.{now.strftime('%Y%m%d%H%M%S%f')}")
    with transport as t:
        t.send(mail.from_address, subscription["email"], message, f"confirm-{subscription['id']}")
    with engine.begin() as connection:
        store.update_subscription(connection, subscription["id"], confirm_sent_at=now)
    subscription["confirm_sent_at"] = now
    return True


def confirm(engine: Engine, secret: str, token: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Activates the subscription the confirm link names (again: no change). Raises TokenError."""
    row = _subscription_from_token(engine, secret, "confirm", token)
    if row["status"] != "active":
        changes = {"status": "active", "confirmed_at": _now(now), "unsubscribed_at": None}
        with engine.begin() as connection:
            store.update_subscription(connection, row["id"], **changes)
        row.update(changes)
    return row


def subscription_for(engine: Engine, secret: str, purpose: str, token: str | None) -> dict[str, Any]:
    """The subscription a link names (for the unsubscribe and preferences pages)."""
    return _subscription_from_token(engine, secret, purpose, token)


def unsubscribe(engine: Engine, secret: str, token: str | None, now: datetime | None = None) -> dict[str, Any]:
    """Ends the subscription the link names at once, and cancels its unsent digests. Idempotent."""
    row = _subscription_from_token(engine, secret, "unsubscribe", token)
    with engine.begin() as connection:
        if row["status"] != "unsubscribed":
            changes = {"status": "unsubscribed", "unsubscribed_at": _now(now)}
            store.update_subscription(connection, row["id"], **changes)
            row.update(changes)
        for item in store.list_outbox(connection, row["id"]):
            if item["status"] == "pending":
                store.cancel_outbox(connection, item["id"], "unsubscribed before it was sent")
    return row


def update_preferences(engine: Engine, secret: str, token: str | None, topic: Topic,
                       frequency: str) -> dict[str, Any]:
    """New topic and frequency for the subscription the preferences link names."""
    row = _subscription_from_token(engine, secret, "preferences", token)
    if frequency not in FREQUENCIES:
        raise SubscriptionError(f"unknown frequency {frequency!r}: daily or weekly")
    with engine.begin() as connection:
        if topic.key() != row["topic_key"]:
            other = store.find_subscription(connection, row["email_key"], topic.key())
            if other is not None:
                raise SubscriptionError("this address already follows that topic in another subscription")
        changes = {"topic": topic.to_json(), "topic_key": topic.key(), "frequency": frequency}
        store.update_subscription(connection, row["id"], **changes)
    row.update(changes)
    return row


def list_subscriptions(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return store.list_subscriptions(connection, status)


# --- choosing the papers -------------------------------------------------------------------------


def period_of(frequency: str, day: date) -> str:
    if frequency == "weekly":
        year, week, _ = day.isocalendar()
        return f"W{year}-{week:02d}"
    return f"D{day.isoformat()}"


def window_of(subscription: dict[str, Any], day: date) -> tuple[date, date]:
    """The feed days a digest covers: since the day after its last digest (or one period back for the
    first), minus a grace of GRACE_DAYS for late listings, at most MAX_WINDOW_DAYS."""
    last = subscription.get("last_window_end")
    if isinstance(last, str):
        last = date.fromisoformat(last)
    start = (last + timedelta(days=1)) if last else day - timedelta(days=FREQUENCIES[subscription["frequency"]] - 1)
    start = max(start - timedelta(days=GRACE_DAYS), day - timedelta(days=MAX_WINDOW_DAYS - 1))
    return min(start, day), day


@dataclass
class Pool:
    """The papers of the widest window of a run, prepared once for every subscription: their words,
    and their trending percentile within the pool (search.trending_scores: upvotes and new citations
    with a time decay, as of the end of the digest's day; 0 for papers without attention)."""

    rows: list[dict[str, Any]]
    end: date
    trend: dict[str, float] = field(default_factory=dict)
    words: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)  # id -> (title, abstract)
    attention: dict[str, float] = field(default_factory=dict)  # id -> trending percentile (0..1)

    def __post_init__(self) -> None:
        for r in self.rows:
            r["feed_ordinal"] = r["feed_day"].toordinal() if r["feed_day"] else None
            self.words[r["id"]] = (set(_WORD.findall((r["title"] or "").lower())),
                                   set(_WORD.findall((r["abstract"] or "").lower())))
        ranked = sorted(self.rows, key=lambda r: (self.trend.get(r["id"], 0.0), r["id"]))
        n = len(ranked)
        for i, r in enumerate(ranked):
            self.attention[r["id"]] = (i + 1) / n if self.trend.get(r["id"], 0.0) > 0 else 0.0


def load_pool(engine: Engine, start: date, end: date, now: datetime | None = None) -> Pool:
    """The pool of feed days [start, end], trending as of the end of `end` or `now` if later (a run
    for a past day ranks by the attention known when it runs)."""
    from paperscope.services import search
    from paperscope.store import search_reads

    with engine.connect() as connection:
        rows = store.digest_pool(connection, start, end)
        observations = search_reads.observations_since(connection, None, [r["id"] for r in rows])
    as_of = max(datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC), _now(now))
    trend = {pid: t["trending"] for pid, t in search.trending_scores(observations, as_of).items()}
    return Pool(rows, end, trend)


class QueryRelevance:
    """Relevance of the pool's papers to a query, one search per distinct query: the keyword index
    (BM25, services.search) when it exists, else every query word in the title or abstract. 0.5..1."""

    def __init__(self, engine: Engine, data_dir: Path | None, pool: Pool, start: date) -> None:
        from paperscope.services import search

        self.search = search
        self.pool, self.start = pool, start
        self.searcher = search.Searcher(engine, data_dir) if data_dir is not None else None
        self.cache: dict[str, dict[str, float]] = {}
        self.used = "words"

    def __call__(self, query: str) -> dict[str, float]:
        if query not in self.cache:
            found = self._indexed(query) if self.searcher is not None else None
            self.cache[query] = found if found is not None else self._words(query)
        return self.cache[query]

    def _indexed(self, query: str) -> dict[str, float] | None:
        from paperscope.store.search_reads import SearchFilter

        since = self.start - timedelta(days=MAX_WINDOW_DAYS)
        try:
            hits = self.searcher.keyword(  # type: ignore[union-attr]
                query, SearchFilter(since=since, until=self.pool.end), INDEX_HITS)
        except self.search.SearchUnavailable:
            self.searcher = None
            return None
        self.used = "keyword index"
        inside = [pid for pid, _ in hits if pid in self.pool.words]
        n = len(inside)
        return {pid: 1.0 - 0.5 * i / n for i, pid in enumerate(inside)}

    def _words(self, query: str) -> dict[str, float]:
        terms = sorted({w.lower() for w in _WORD.findall(query)})
        out = {}
        for pid, (title, abstract) in self.pool.words.items():
            relevance = _relevance(terms, title, abstract)
            if relevance is not None:
                out[pid] = relevance
        return out


def _relevance(terms: list[str], title: set[str], abstract: set[str]) -> float | None:
    """None unless every term is in the title or abstract; then 0.5..1 (title hits count double)."""
    score = 0.0
    for term in terms:
        if term in title:
            score += 2
        elif term in abstract:
            score += 1
        else:
            return None
    return 0.5 + score / (4 * len(terms))


class Selector:
    """Chooses digests' papers from a pool. The ranked candidates of a (topic, window) are computed
    once and shared by every subscription with that topic and window; each subscription then walks
    them, skipping what its address already had. Candidates come from the smallest index that
    applies (authors, then query matches, then categories, else the whole pool)."""

    def __init__(self, pool: Pool, relevance: Callable[[str], dict[str, float]] | None = None) -> None:
        self.pool = pool
        self.relevance = relevance
        self.by_id = {r["id"]: r for r in pool.rows}
        self.by_category: dict[str | None, list[dict[str, Any]]] = {}
        self.by_author: dict[str, list[dict[str, Any]]] = {}
        for r in pool.rows:
            self.by_category.setdefault(r["primary_category"], []).append(r)
            for key in r["author_keys"]:
                self.by_author.setdefault(key, []).append(r)
        self.cache: dict[tuple[str, date, date], list[str]] = {}

    def select(self, topic: Topic, start: date, end: date, exclude: set[str], limit: int) -> list[str]:
        key = (topic.key(), start, end)
        ranked = self.cache.get(key)
        if ranked is None:
            ranked = self.cache[key] = self._rank(topic, start, end)
        out: list[str] = []
        for pid in ranked:
            if pid not in exclude:
                out.append(pid)
                if len(out) == limit:
                    break
        return out

    def _rank(self, topic: Topic, start: date, end: date) -> list[str]:
        matches = None
        if topic.query:
            relevance = self.relevance or QueryRelevance(None, None, self.pool, start)  # type: ignore[arg-type]
            matches = relevance(topic.query)
        cats = set(topic.categories)
        authors = {a for name in topic.authors for a in (name, normalise_person_name(name))}
        if authors:
            candidates = list({r["id"]: r for a in authors for r in self.by_author.get(a, ())}.values())
        elif matches is not None:
            candidates = [self.by_id[pid] for pid in matches if pid in self.by_id]
        elif cats:
            candidates = [r for c in sorted(cats) for r in self.by_category.get(c, ())]
        else:
            candidates = self.pool.rows
        lo, hi = start.toordinal(), end.toordinal()
        ranked: list[tuple[float, int, str]] = []
        for r in candidates:
            pid = r["id"]
            day = r["feed_ordinal"]
            if day is None or not lo <= day <= hi:
                continue
            if cats and r["primary_category"] not in cats:
                continue
            if authors and not (authors & r["author_keys"]):
                continue
            signals = []
            if matches is not None:
                if pid not in matches:
                    continue
                signals.append(matches[pid])
            if topic.trending:
                signals.append(self.pool.attention[pid])
            signal = sum(signals) / len(signals) if signals else 1.0
            ranked.append((-(0.5 * signal + 0.5 * (r["ai_score"] or 0.0) / 100), -day, pid))
        ranked.sort()
        return [item[2] for item in ranked]


def select_papers(pool: Pool, topic: Topic, start: date, end: date, exclude: set[str], limit: int,
                  relevance: Callable[[str], dict[str, float]] | None = None) -> list[str]:
    """The topic's top `limit` papers of feed days [start, end] not in `exclude`. Rank = 0.5 x signal
    + 0.5 x AI Score / 100, where the signal is the mean of the query relevance and the trending
    percentile where the topic has them (1 for a topic of categories or authors alone); a paper
    without an AI Score adds nothing for it. Ties: newer first, then by id."""
    return Selector(pool, relevance).select(topic, start, end, exclude, limit)


# --- building ------------------------------------------------------------------------------------


@dataclass
class Built:
    subscription: dict[str, Any]
    period: str
    window: tuple[date, date]
    paper_ids: list[str]
    message: bytes | None
    message_id: str


@dataclass
class DigestRun:
    day: date
    due: int = 0
    built: int = 0
    empty: int = 0
    already_built: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    pending: int = 0
    error: str | None = None
    written: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


class DigestComposer:
    """Renders digests: cards from the store once per paper, then one message per subscription."""

    def __init__(self, engine: Engine, mail: MailSettings, today: date) -> None:
        self.engine, self.mail, self.today = engine, mail, today
        self.env = make_environment()
        self.cards = CardRenderer(self.env, mail.base_url)
        self.html = self.env.get_template("email/digest.html")
        self.text = self.env.get_template("email/digest.txt")
        self.card_data: dict[str, Card] = {}

    def load_cards(self, paper_ids: Sequence[str]) -> None:
        missing = [pid for pid in dict.fromkeys(paper_ids) if pid not in self.card_data]
        for start in range(0, len(missing), 900):
            for card in build_cards(self.engine, missing[start:start + 900], self.today):
                self.card_data[card.id] = card

    def compose(self, subscription: dict[str, Any], period: str, paper_ids: list[str]) -> tuple[bytes, str]:
        mail = self.mail
        topic = Topic.from_json(subscription["topic"])
        rendered = [self.cards.render(self.card_data[pid]) for pid in paper_ids if pid in self.card_data]
        label = "This week's" if subscription["frequency"] == "weekly" else "Today's"
        subject = f"{label} papers: {topic.describe()}"[:180]
        context = {
            "subject": subject, "heading": f"{label} {topic.describe()}",
            "intro": f"{len(rendered)} new paper{'s' if len(rendered) != 1 else ''}, best first "
                     "(relevance and AI Score).",
            "address": subscription["email"], "topic": topic.describe(), "frequency": subscription["frequency"],
            "unsubscribe_url": mail.url("/unsubscribe", token=subscription_token(
                mail.secret_key, "unsubscribe", subscription)),
            "preferences_url": mail.url("/subscriptions/preferences", token=subscription_token(
                mail.secret_key, "preferences", subscription)),
        }
        html = self.html.render(context, cards=[h for h, _ in rendered])
        text = self.text.render(context, cards=[t for _, t in rendered])
        message_id = f"digest.{subscription['id']}.{period}"
        message = compose(mail, subscription["email"], subject, text, html, message_id,
                          unsubscribe_url=context["unsubscribe_url"])
        return message, message_id


Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


def build_digests(engine: Engine, mail: MailSettings, day: date | None = None, now: datetime | None = None,
                  record: bool = True, report: DigestRun | None = None, data_dir: Path | None = None,
                  progress: Progress = _quiet) -> list[Built]:
    """Builds the digest of every due subscription. `record`: stored in the outbox with the sent-papers
    log (a dry run leaves the store untouched)."""
    import time

    now = _now(now)
    day = day or now.date()
    run = report or DigestRun(day)
    t0 = time.perf_counter()
    periods = {f: period_of(f, day) for f in FREQUENCIES}
    with engine.connect() as connection:
        due = store.due_subscriptions(connection, periods)
    run.due = len(due)
    if not due:
        return []
    windows = {s["id"]: window_of(s, day) for s in due}
    start = min(w[0] for w in windows.values())
    pool = load_pool(engine, start, day, now)
    with engine.connect() as connection:
        sent = store.sent_papers(connection, [r["id"] for r in pool.rows])
    selector = Selector(pool, QueryRelevance(engine, data_dir, pool, start))
    t1 = time.perf_counter()
    chosen: list[tuple[dict[str, Any], list[str]]] = []
    for sub in due:
        already = sent.setdefault(sub["email_key"], set())
        topic = Topic.from_json(sub["topic"])
        ids = selector.select(topic, *windows[sub["id"]], already, mail.digest_size)
        already.update(ids)  # a second subscription of the address in this run gets other papers
        chosen.append((sub, ids))
    t2 = time.perf_counter()
    composer = DigestComposer(engine, mail, day)
    composer.load_cards([pid for _, ids in chosen for pid in ids])
    built: list[Built] = []
    for i, (sub, ids) in enumerate(chosen):
        period = periods[sub["frequency"]]
        message, message_id = composer.compose(sub, period, ids) if ids else (None, "")
        built.append(Built(sub, period, windows[sub["id"]], ids, message, message_id))
        if i % 1000 == 0:
            progress("render", i, len(chosen))
    t3 = time.perf_counter()
    if record:
        _record(engine, built, now, run)
    run.seconds.update(pool=t1 - t0, select=t2 - t1, render=t3 - t2, record=time.perf_counter() - t3)
    return built


def _record(engine: Engine, built: list[Built], now: datetime, run: DigestRun) -> None:
    for start in range(0, len(built), WRITE_CHUNK):
        with engine.begin() as connection:
            for b in built[start:start + WRITE_CHUNK]:
                sub = b.subscription
                outbox_id = store.insert_outbox(connection, {
                    "subscription_id": sub["id"], "period": b.period, "email_key": sub["email_key"],
                    "status": "pending" if b.message else "empty", "message_id": b.message_id or None,
                    "message": b.message, "paper_ids": b.paper_ids, "window_start": b.window[0],
                    "window_end": b.window[1], "attempts": 0, "created_at": now})
                if outbox_id is None:  # another run built it first
                    run.already_built += 1
                    continue
                store.record_sent_papers(connection, sub["email_key"], b.paper_ids, outbox_id, now)
                store.update_subscription(connection, sub["id"], last_window_end=b.window[1])
                run.built += 1 if b.message else 0
                run.empty += 0 if b.message else 1


# --- sending -------------------------------------------------------------------------------------


def send_pending(engine: Engine, mail: MailSettings, transport: Transport, now: datetime | None = None,
                 report: DigestRun | None = None) -> DigestRun:
    """Sends every pending outbox message, marking each sent as soon as the server accepts it. An
    SMTP failure stops the run with the rest still pending (the next run sends them)."""
    run = report or DigestRun(_now(now).date())
    with engine.begin() as connection:
        store.prune_sent_messages(connection, _now(now) - timedelta(days=KEEP_SENT_DAYS))
    stale = _now(now) - CLAIM_STALE
    with engine.connect() as connection:
        pending = store.outbox_to_send(connection, stale)
    if not pending:
        return run
    todo = []
    for item in pending:
        if item["subscription_status"] != "active":
            with engine.begin() as connection:
                store.cancel_outbox(connection, item["id"], "the subscription is no longer active")
            run.cancelled += 1
        else:
            todo.append(item)
    if not todo:
        return run
    deferred = 0
    try:
        with transport as t:
            for item in todo:
                with engine.begin() as connection:
                    if not store.claim_outbox(connection, item["id"], _now(None), stale):
                        continue  # another run is sending it
                name = f"digest-{item['subscription_id']}-{item['period']}"
                try:
                    t.send(mail.from_address, item["address"], item["message"], name)
                except MessageRefused as exc:
                    give_up = exc.permanent or item["attempts"] + 1 >= MAX_ATTEMPTS
                    with engine.begin() as connection:
                        store.count_attempt(connection, item["id"], str(exc),
                                            "failed" if give_up else "pending")
                    if give_up:
                        run.failed += 1
                    else:
                        deferred += 1
                        run.error = f"{deferred} message(s) refused for now, kept for the next run; last: {exc}"
                    continue
                except MailError as exc:
                    with engine.begin() as connection:
                        store.count_attempt(connection, item["id"], str(exc))
                    raise
                with engine.begin() as connection:
                    store.mark_outbox(connection, item["id"], status="sent", sent_at=_now(None),
                                      attempts=item["attempts"] + 1, last_error=None)
                run.sent += 1
    except MailError as exc:
        run.error = str(exc)
    with engine.connect() as connection:
        counts = store.outbox_counts(connection)
    run.pending = counts.get("pending", 0) + counts.get("sending", 0)
    return run


def run_digests(engine: Engine, mail: MailSettings, transport: Transport, day: date | None = None,
                now: datetime | None = None, data_dir: Path | None = None,
                progress: Progress = _quiet) -> DigestRun:
    """One digest run: build what is due into the outbox, then send everything pending."""
    now = _now(now)
    run = DigestRun(day or now.date())
    build_digests(engine, mail, run.day, now, record=True, report=run, data_dir=data_dir, progress=progress)
    return send_pending(engine, mail, transport, now, report=run)


def dry_run(engine: Engine, mail: MailSettings, folder: Path, day: date | None = None,
            now: datetime | None = None, data_dir: Path | None = None) -> DigestRun:
    """The digests a run would build now, written as .eml files to `folder`; the store is not changed."""
    now = _now(now)
    run = DigestRun(day or now.date())
    built = build_digests(engine, mail, run.day, now, record=False, report=run, data_dir=data_dir)
    with FileTransport(folder) as t:
        for b in built:
            if b.message:
                t.send(mail.from_address, b.subscription["email"], b.message,
                       f"digest-{b.subscription['id']}-{b.period}")
                run.built += 1
            else:
                run.empty += 1
    run.written = t.written
    return run
