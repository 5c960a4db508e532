"""`paperscope index`, `search`, `similar` and `feed` end to end on a store of the listings."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from paperscope.cli.app import app


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": ""}

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


def test_index_search_similar_feed(run, listings_dir: Path, tmp_path: Path) -> None:
    page = listings_dir / "hf-papers-search.txt"
    assert run("ingest", "listing", str(page), "--as-of", "2025-11-12", "--no-refresh").exit_code == 0
    missing = run("search", "noisy labels")  # refresh deferred: no index yet, and the error says so
    assert missing.exit_code == 1 and "paperscope index" in missing.output

    built = run("index")
    assert built.exit_code == 0, built.output
    assert "keyword index" in built.output and "semantic index" in built.output
    assert (tmp_path / "data" / "index" / "lexical" / "state.json").is_file()

    result = run("search", "ERASE label noise graphs", "--json", "--limit", "3")
    assert result.exit_code == 0, result.output
    payload = orjson.loads(result.output)
    assert payload["mode"] == "hybrid" and payload["hits"][0]["paper"]["title"].startswith("ERASE")
    assert payload["hits"][0]["why"]

    text = run("search", "title:ERASE", "--mode", "keyword", "--since", "2023-01-01", "--has-code")
    assert text.exit_code == 0 and "ERASE" in text.output and "keyword #1" in text.output
    bad = run("search", "x", "--since", "yesterday")
    assert bad.exit_code == 1 and "is not a date" in bad.output

    similar = run("similar", payload["hits"][0]["paper_id"], "--json", "--limit", "3")
    assert similar.exit_code == 0, similar.output
    assert len(orjson.loads(similar.output)["similar"]) == 3
    assert run("similar", "arXiv:0000.00000").exit_code == 1

    feed = run("feed", "--month", "--day", "2023-12-13", "--json")
    assert feed.exit_code == 0, feed.output
    items = orjson.loads(feed.output)["items"]
    assert items and all(i["feed_day"].startswith("2023-12") for i in items)
    assert run("feed", "--week", "--month").exit_code == 1
