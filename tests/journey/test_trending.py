"""Trending means something: counts dated by when the source says they were true, compared within
one source, ranked over a day, week or month as of any moment, and shown as a person reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from paperscope.cli.app import app
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services import search
from paperscope.services.cards import build_cards
from paperscope.store import schema
from tests.conftest import BACKENDS


def _fill(engine: Engine, fixtures: Path) -> None:
    # Semantic Scholar recordings made at different times: "Computing Machinery and Intelligence"
    # (1950) has 10,453, then 8,596, then 10,059 citations in them; none of it is news.
    s2 = fixtures / "semantic_scholar" / "danielnsilva_semanticscholar"
    by_year = [s2 / "cassette_bodies" / f"test_search_paper_publication_date_or_year__0{n}.json" for n in (3, 4)]
    for plan in (files_plan("hf", [fixtures / "hf_daily_papers"]),
                 files_plan("openalex", [fixtures / "openalex"]),
                 files_plan("s2", [s2 / "data_json", *by_year])):
        run_ingest(engine, plan.source, plan.target, plan.batches)


@BACKENDS
def test_trending_of_a_past_day_week_and_month(engine: Engine, fixtures_dir: Path) -> None:
    _fill(engine, fixtures_dir)
    end_of_list_day = datetime(2026, 6, 12, 23, 59, tzinfo=UTC)
    day = search.feed(engine, "trending", as_of=end_of_list_day, window="day", limit=5)
    assert day.window == "day" and day.items, day.notes
    cards = build_cards(engine, [i.paper_id for i in day.items])
    assert cards[0].title.startswith("EvoArena") and day.items[0].label == "▲ 118"
    assert [c.upvotes for c in cards] == sorted((c.upvotes for c in cards), reverse=True)
    # Three days on, the day window is empty and the week still holds the list.
    later = datetime(2026, 6, 15, 12, tzinfo=UTC)
    assert search.feed(engine, "trending", as_of=later, window="day").items == []
    week = search.feed(engine, "trending", as_of=later, window="week", limit=5)
    assert build_cards(engine, [week.items[0].paper_id])[0].title.startswith("EvoArena")
    # Before the list existed nothing of it trends.
    assert search.feed(engine, "trending", as_of=datetime(2026, 6, 11, tzinfo=UTC), window="month").items == []


@BACKENDS
def test_counts_from_other_sources_or_files_are_not_new_citations(engine: Engine, fixtures_dir: Path) -> None:
    _fill(engine, fixtures_dir)
    now = datetime.now(UTC)
    with engine.connect() as connection:
        dated = dict(connection.execute(
            select(schema.observations.c.source, schema.observations.c.dated_by).distinct()).all())
    assert dated["hf"] == "source" and dated["openalex"] == "source"
    for window in ("day", "week", "month"):
        trending = search.feed(engine, "trending", as_of=now, window=window, limit=50)
        # Nothing the fixtures hold was gained in the last month: an old paper's count seen by two
        # sources or in two files is no news.
        assert trending.items == [], [(i.paper_id, i.why) for i in trending.items]


def test_feed_cli_shows_the_score_as_a_person_reads_it(tmp_path: Path, fixtures_dir: Path) -> None:
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": ""}
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", "hf", "--from-file", str(fixtures_dir / "hf_daily_papers"),
                               "--no-refresh"], env=env).exit_code == 0
    out = runner.invoke(app, ["feed", "--trending", "--day", "2026-06-12", "--window", "day", "--json"], env=env)
    feed = orjson.loads(out.stdout)
    assert feed["window"] == "day" and feed["as_of"].startswith("2026-06-12T23:59:59")
    assert feed["items"][0]["label"] == "▲ 118"
    text = runner.invoke(app, ["feed", "--trending", "--day", "2026-06-12", "--window", "day"], env=env).output
    assert "▲ 118" in text and "e-0" not in text
    bad = runner.invoke(app, ["feed", "--trending", "--window", "year"], env=env)
    assert bad.exit_code == 1 and "unknown trending window 'year'" in bad.output


@BACKENDS
def test_local_upvotes_feed_trending(engine: Engine, fixtures_dir: Path) -> None:
    from paperscope.services import accounts

    plan = files_plan("hf", [fixtures_dir / "hf_daily_papers"])
    run_ingest(engine, plan.source, plan.target, plan.batches)
    assert search.feed(engine, "trending", window="day").items == []  # the lists are months old
    readers = [accounts.sign_up(engine, f"reader{i}@example.org", "a long enough passphrase 42").user
               for i in range(2)]
    voted = "arXiv:2606.13392"
    for reader in readers:
        accounts.toggle_upvote(engine, reader["id"], voted)
    trending = search.feed(engine, "trending", window="day")
    assert [i.paper_id for i in trending.items] == [voted]
    assert trending.items[0].trending == pytest.approx(2.0, rel=1e-3)  # two upvotes, minutes old
