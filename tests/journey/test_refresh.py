"""Derived data follows the store: `ingest` then `author`, `search` and the pages show the new
papers with no other command; what is deferred (`--no-refresh`) is reported, never silent."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from paperscope.cli.app import app
from tests.conftest import BACKENDS


@pytest.fixture
def cli(tmp_path: Path, database_url: str):
    runner = CliRunner()
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url}

    def invoke(*args: str):
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        return result

    return invoke


def _ingest(cli, listings_dir: Path, name: str, *extra: str):
    result = cli("ingest", "listing", str(listings_dir / name), "--as-of", "2026-11-30", *extra)
    assert result.exit_code == 0, result.output
    return result


@BACKENDS
def test_ingest_refreshes_profiles_scores_and_indexes(cli, listings_dir):
    _ingest(cli, listings_dir, "author-li-shen.txt", "--author", "Li Shen")
    second = _ingest(cli, listings_dir, "author-bo-han.txt")
    assert "refreshed:" in second.output and "author profiles" in second.output

    profile = orjson.loads(cli("author", "Bo Han", "--json", "--limit", "100").stdout)
    assert profile["papers"] == profile["cards_total"] == len(profile["cards"]) == 50
    assert profile["freshness"]["newer_papers"] == 0 and profile["freshness"]["note"] is None
    # The new cards were scored as a full recomputation scores them.
    assert sum(card["novelty"] is not None for card in profile["cards"]) > 30
    assert cli("score").exit_code == 0 and cli("authors", "recompute").exit_code == 0
    again = orjson.loads(cli("author", "Bo Han", "--json", "--limit", "100").stdout)
    before = {c["id"]: c["novelty"] for c in profile["cards"]}
    after = {c["id"]: c["novelty"] for c in again["cards"]}
    # (the full run re-resolves identities: it may move a namesake's card; the scores are the same)
    assert len(before.keys() & after.keys()) >= 49
    assert all(before[pid] == after[pid] for pid in before.keys() & after.keys())

    found = orjson.loads(cli("search", "MM-Snowball hallucination snowballing", "--mode", "keyword",
                             "--json").stdout)
    assert found["hits"][0]["paper"]["title"].startswith("MM-Snowball")


@BACKENDS
def test_deferred_refresh_is_reported_then_caught_up(cli, listings_dir):
    _ingest(cli, listings_dir, "author-li-shen.txt", "--author", "Li Shen")
    deferred = _ingest(cli, listings_dir, "author-bo-han.txt", "--no-refresh")
    assert "author profiles as of" in deferred.output and "not yet counted" in deferred.output

    # Bo Han co-wrote some of Li Shen's papers: his profile counts those and says the rest are not.
    lagging = orjson.loads(cli("author", "Bo Han", "--json").stdout)
    assert lagging["papers"] < 50
    assert lagging["freshness"]["newer_papers"] >= 46
    assert f"{lagging['freshness']['newer_papers']} newer papers not yet counted" in lagging["freshness"]["note"]
    assert cli("refresh").exit_code == 0
    profile = orjson.loads(cli("author", "Bo Han", "--json").stdout)
    assert profile["papers"] == profile["cards_total"] >= 49 and profile["freshness"]["note"] is None


@BACKENDS
def test_profile_says_how_many_of_its_papers_are_not_counted(cli, listings_dir, tmp_path):
    _ingest(cli, listings_dir, "author-bo-han.txt")
    # The same author page again, one card's title edited: an update the profiles have not seen.
    page = (listings_dir / "author-bo-han.txt").read_text()
    edited = tmp_path / "author-bo-han.txt"
    edited.write_text(page.replace("MM-Snowball:", "MM-Snowball (v2):", 1))
    result = cli("ingest", "listing", str(edited), "--as-of", "2026-11-30", "--no-refresh")
    assert result.exit_code == 0, result.output
    profile = orjson.loads(cli("author", "Bo Han", "--json").stdout)
    assert profile["freshness"]["newer_papers"] >= 1
    assert "newer paper" in profile["freshness"]["note"] and "not yet counted" in profile["freshness"]["note"]
    shown = cli("author", "Bo Han")
    assert "not yet counted" in shown.output


def test_daily_run_recomputes_author_profiles(cli, listings_dir):
    _ingest(cli, listings_dir, "author-bo-han.txt", "--no-refresh")
    result = cli("run", "--skip", "ingest", "--skip", "digest", "--day", "2026-11-30")
    assert "authors: " in result.output and "author profiles recomputed" in result.output
    profile = orjson.loads(cli("author", "Bo Han", "--json").stdout)
    assert profile["papers"] == profile["cards_total"] >= 49 and profile["freshness"]["note"] is None
