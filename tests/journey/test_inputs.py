"""Every input a user types is checked: an error naming it and what would be valid, never an
empty or arbitrary answer."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from paperscope.cli.app import app
from tests.conftest import BACKENDS


@pytest.fixture
def cli(tmp_path: Path, database_url: str, listings_dir: Path):
    runner = CliRunner()
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url}

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    for page, extra in (("author-li-shen.txt", ["--author", "Li Shen"]), ("author-bo-han.txt", [])):
        done = invoke("ingest", "listing", str(listings_dir / page), "--as-of", "2026-11-30", *extra)
        assert done.exit_code == 0, done.output
    return invoke


def _ids(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return [orjson.loads(line)["id"] for line in result.stdout.splitlines()]


def _error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    return " ".join(result.output.split())


@BACKENDS
def test_categories_by_arxiv_name_or_tag_and_unknown_ones_named(cli) -> None:
    by_tag = _ids(cli("papers", "--category", "LG", "--limit", "500", "--json"))
    assert by_tag
    assert _ids(cli("papers", "--category", "cs.LG", "--limit", "500", "--json")) == by_tag
    assert _ids(cli("papers", "--category", "lg", "--limit", "500", "--json")) == by_tag
    message = _error(cli("papers", "--category", "cs.LGG"))
    assert "unknown category 'cs.LGG'" in message and "did you mean 'cs.LG'" in message
    assert "categories in the store:" in message and "LG" in message
    assert "unknown category 'QQ'" in _error(cli("search", "noise", "--category", "QQ"))
    assert "unknown category 'QQ'" in _error(cli("feed", "--category", "QQ"))


@BACKENDS
def test_empty_search_and_unknown_author_are_errors(cli) -> None:
    for empty in ("", "   "):
        assert "the search query is empty" in _error(cli("search", empty))
    message = _error(cli("papers", "--author", "Bo Hann"))
    assert "no author named or identified 'Bo Hann'" in message and "did you mean 'Bo Han'" in message
    assert "no author named or identified" in _error(cli("search", "noise", "--author", "Nobody Atall"))


@BACKENDS
def test_semantic_matches_below_the_stated_similarity_are_cut(cli) -> None:
    # asked for more than the store holds: the index returns every paper, the unrelated ones are cut
    result = cli("search", "reinforcement learning for robots", "--mode", "semantic", "--limit", "200", "--json")
    assert result.exit_code == 0, result.output
    payload = orjson.loads(result.stdout)
    cosines = [float(why.split("cosine ")[1].rstrip(")")) for hit in payload["hits"] for why in hit["why"]
               if "cosine" in why]
    assert all(c >= 0.1 for c in cosines)
    assert 0 < len(payload["hits"]) < 96 and any("below similarity 0.1 left out" in n for n in payload["notes"])


@BACKENDS
def test_corrections_check_their_ids_and_can_be_removed(cli) -> None:
    assert "no author or identity with the id 'name:nobody-here'" in _error(
        cli("authors", "merge", "name:bo-han", "name:nobody-here"))
    assert "merge takes two different ids" in _error(cli("authors", "merge", "name:bo-han", "name:bo-han"))
    assert "no paper 'arXiv:0000.00000'" in _error(
        cli("authors", "split", "name:bo-han", "--paper", "arXiv:0000.00000"))
    assert cli("authors", "corrections").output.strip() == "no corrections"
    assert "no correction #5" in _error(cli("authors", "corrections", "--remove", "5"))

    # The author filter takes the identity: a paper split off to a namesake leaves "Bo Han"'s list.
    papers = _ids(cli("papers", "--author", "Bo Han", "--limit", "500", "--json"))
    profile = orjson.loads(cli("author", "Bo Han", "--json", "--limit", "500").stdout)
    assert set(papers) == {c["id"] for c in profile["cards"]}
    moved = papers[0]
    split = cli("authors", "split", profile["id"], "--paper", moved)
    assert split.exit_code == 0, split.output
    listed = cli("authors", "corrections").output
    assert "#1 split_papers" in listed
    after = _ids(cli("papers", "--author", "Bo Han", "--limit", "500", "--json"))
    assert moved not in after and len(after) < len(papers)
    shown = orjson.loads(cli("author", "Bo Han", "--json", "--limit", "500").stdout)["cards"]
    assert set(after) == {c["id"] for c in shown}
    hits = orjson.loads(cli("search", "learning", "--mode", "keyword", "--author", "Bo Han", "--limit", "500",
                            "--json").stdout)["hits"]
    assert moved not in {h["paper_id"] for h in hits}

    undo = cli("authors", "corrections", "--remove", "1")
    assert undo.exit_code == 0 and "removed" in undo.output
    assert moved in _ids(cli("papers", "--author", "Bo Han", "--limit", "500", "--json"))
