"""How a digest chooses its papers: the rank (relevance or attention, and AI Score), the topic's
filters, windows and periods, weekly digests, and the store's scores feeding the rank."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from paperscope.services import digests
from paperscope.services.digests import Pool, Topic, period_of, select_papers, window_of
from paperscope.services.mailer import MailSettings, SmtpTransport
from paperscope.store import digests as store
from tests.digests.conftest import DAY, Recorder

D = date(2026, 6, 12)


def paper(pid: str, title: str, day: date = D, ai: float | None = None, category: str | None = "LG",
          authors: tuple[str, ...] = (), abstract: str = "") -> dict[str, Any]:
    return {"id": pid, "title": title, "abstract": abstract, "feed_day": day, "ai_score": ai,
            "primary_category": category, "author_keys": set(authors), "upvotes": None, "cited_by_count": None}


def test_rank_is_half_signal_half_ai_score_and_filters_hold() -> None:
    rows = [
        paper("a", "Diffusion models for language", ai=20.0),
        paper("b", "Language agents", abstract="diffusion planning", ai=90.0),
        paper("c", "Diffusion language models at scale", ai=None, category="CL"),
        paper("d", "Vision transformers", ai=99.0, authors=("name:ada-lovelace", "ada lovelace")),
        paper("e", "Diffusion language", day=D - timedelta(days=10), ai=99.0),  # outside the window
    ]
    pool = Pool(rows, D, trend={"d": 5.0, "b": 1.0})
    # Query: every word must match; title hits count double; AI Score adds half.
    # a: relevance 1.0 -> 0.5 + 0.1 = 0.6; b: 0.5 + 0.75*... see _relevance; c: 1.0 -> 0.5 + 0 = 0.5
    assert select_papers(pool, Topic.make(query="diffusion language"), D - timedelta(days=2), D, set(), 10) \
        == ["b", "a", "c"]
    assert select_papers(pool, Topic.make(query="diffusion language", categories=["cl"]),
                         D - timedelta(days=2), D, set(), 10) == ["c"]
    # A paper already sent to the address is never chosen again.
    assert select_papers(pool, Topic.make(query="diffusion language"), D - timedelta(days=2), D, {"b"}, 10) \
        == ["a", "c"]
    # Authors by name (normalised) or id.
    assert select_papers(pool, Topic.make(authors=["Ada Lovelace"]), D, D, set(), 10) == ["d"]
    assert select_papers(pool, Topic.make(authors=["name:ada-lovelace"]), D, D, set(), 10) == ["d"]
    # Trending: the attention percentile (0 without attention) plus the AI Score.
    assert select_papers(pool, Topic.make(trending=True), D - timedelta(days=2), D, set(), 2) == ["d", "b"]
    # The window's start excludes older feed days unless widened.
    assert "e" in select_papers(pool, Topic.make(query="diffusion language"), D - timedelta(days=10), D, set(), 10)


def test_topics_are_checked_and_canonical() -> None:
    assert Topic.make().trending and Topic.make().describe() == "trending papers"
    t = Topic.make(query=" llm ", categories=["cv", "LG", "cv"], authors=["B", "A"])
    assert (t.query, t.categories, t.authors, t.trending) == ("llm", ("CV", "LG"), ("A", "B"), False)
    assert t.key() == Topic.make(query="llm", categories=["LG", "CV"], authors=["A", "B"]).key()
    assert t.describe() == "papers matching “llm” in CV, LG by A, B"
    for bad in [dict(categories=["XX"]), dict(query="a\nb"), dict(query="!!!"), dict(authors=["x\r\ny"]),
                dict(query="x" * 201)]:
        with pytest.raises(digests.SubscriptionError):
            Topic.make(**bad)


def test_windows_and_periods() -> None:
    assert period_of("daily", D) == "D2026-06-12" and period_of("weekly", D) == "W2026-24"
    first = {"frequency": "daily", "last_window_end": None}
    assert window_of(first, D) == (D - timedelta(days=3), D)  # the day, and the grace for late listings
    weekly = {"frequency": "weekly", "last_window_end": None}
    assert window_of(weekly, D) == (D - timedelta(days=9), D)
    after = {"frequency": "daily", "last_window_end": D - timedelta(days=1)}
    assert window_of(after, D) == (D - timedelta(days=3), D)
    long_ago = {"frequency": "daily", "last_window_end": D - timedelta(days=200)}
    assert window_of(long_ago, D) == (D - timedelta(days=30), D)


def test_weekly_digests_come_once_a_week(engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    digests.subscribe(engine, "weekly@example.org", Topic.make(), "weekly", confirmed=True)
    monday = date(2026, 6, 8)
    sent = []
    for offset in range(0, 8):
        result = digests.run_digests(engine, mail, SmtpTransport(mail), monday + timedelta(days=offset))
        sent.append(result.built + result.empty)
    assert sent == [1, 0, 0, 0, 0, 0, 0, 1]
    with engine.connect() as connection:
        periods = [r["period"] for r in store.list_outbox(connection)]
    assert periods == ["W2026-24", "W2026-25"]
    assert all(m.message["Subject"].startswith("This week's papers") for m in smtp.messages)


def test_the_pool_carries_the_stores_scores_and_attention(engine: Engine) -> None:
    pool = digests.load_pool(engine, date.fromisoformat(DAY) - timedelta(days=3), date.fromisoformat(DAY))
    assert len(pool.rows) >= 30
    assert sum(r["ai_score"] is not None for r in pool.rows) >= 25  # the store was scored
    hot = max(pool.rows, key=lambda r: pool.trend.get(r["id"], 0.0))
    assert pool.attention[hot["id"]] == 1.0 and hot["upvotes"] > 0
    # An empty window is an empty digest, recorded so that the period is not built again.


def test_an_empty_window_is_recorded_and_not_mailed(engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    digests.subscribe(engine, "quiet@example.org", Topic.make(query="zzzyzzx"), confirmed=True)
    result = digests.run_digests(engine, mail, SmtpTransport(mail), date.fromisoformat(DAY))
    assert (result.built, result.empty, result.sent) == (0, 1, 0) and smtp.messages == []
    with engine.connect() as connection:
        (row,) = store.list_outbox(connection)
    assert row["status"] == "empty" and row["message"] is None
    assert digests.run_digests(engine, mail, SmtpTransport(mail), date.fromisoformat(DAY)).due == 0
