"""One read model and one card: `paperscope paper ID --json`, `/api/v1/papers/ID` and the page show the
same values; a paper's card is the same in every list and on the CLI; and the store read behind the
cards costs a fixed number of queries however many cards it returns."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from typer.testing import CliRunner

from paperscope.cli.app import app
from paperscope.core.settings import load_settings
from paperscope.services.cards import build_cards
from paperscope.services.runtime import open_runtime
from paperscope.web.app import create_app
from tests.conftest import BACKENDS

COMBATING = "Combating Exacerbated Heterogeneity for Robust Models in Federated Learning"


@pytest.fixture
def store(tmp_path: Path, database_url: str, listings_dir: Path) -> Any:
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url}
    runner = CliRunner()

    def cli(*args: str) -> Any:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    cli("ingest", "listing", str(listings_dir / "author-bo-han.txt"), "--as-of", "2026-11-30")
    runtime = open_runtime(load_settings(env))
    yield cli, TestClient(create_app(runtime, secret_key="k")), runtime
    runtime.engine.dispose()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@BACKENDS
def test_cli_api_and_page_show_the_same_paper(store: Any) -> None:
    cli, client, _ = store
    profile = client.get("/api/v1/authors/name:bo-han").json()
    paper_id = next(c["id"] for c in profile["cards"] if c["title"] == COMBATING)
    from_cli = orjson.loads(cli("paper", paper_id, "--json").stdout)
    from_api = client.get(f"/api/v1/papers/{paper_id}").json()
    assert from_cli == from_api
    page = _text(client.get(f"/papers/{paper_id}").text)
    assert from_api["title"] in page and from_api["date"] == "Mar 1, 2023" and "Mar 1, 2023" in page
    for author in from_api["author_list"]:
        assert author["name"] in page
    ai_score = from_api["scores"]["ai_score"]["score"]
    assert (f"{ai_score:.1f}" if ai_score is not None else "—") in page
    for similar in from_api["similar"]:
        assert similar["title"] in page


@BACKENDS
def test_a_paper_has_one_card_everywhere(store: Any) -> None:
    cli, client, runtime = store
    author = client.get("/api/v1/authors/name:bo-han?per_page=100").json()["cards"]
    card = next(c for c in author if c["title"] == COMBATING)
    on_cli = orjson.loads(cli("author", "name:bo-han", "--json", "--limit", "100").stdout)["cards"]
    assert next(c for c in on_cli if c["id"] == card["id"]) == card
    found = client.get("/api/v1/search", params={"q": "Combating Exacerbated Heterogeneity", "per_page": 50}).json()
    listed = next(p for p in found["papers"] if p["id"] == card["id"])
    assert {k: v for k, v in listed.items() if k != "why"} == {k: v for k, v in card.items() if k != "why"}
    searched = orjson.loads(cli("search", "Combating Exacerbated Heterogeneity", "--mode", "keyword", "--json",
                                "--limit", "50").stdout)
    assert {**next(h["paper"] for h in searched["hits"] if h["paper_id"] == card["id"]), "why": []} == card
    # The card's rules: three authors then et al., the date without the year only for this year.
    assert len(card["authors"]) == 3 and card["et_al"] and card["author_count"] >= 3
    assert card["ai_score"] == client.get(f"/api/v1/papers/{card['id']}").json()["scores"]["ai_score"]["score"]


def test_the_card_read_costs_the_same_for_five_cards_and_fifty(store: Any) -> None:
    _, client, runtime = store
    ids = [c["id"] for c in client.get("/api/v1/authors/name:bo-han?per_page=100").json()["cards"]]
    assert len(ids) >= 49
    counted: list[str] = []

    def count(*args: Any) -> None:
        counted.append(args[2])

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        few = build_cards(runtime.engine, ids[:5])
        for_few = len(counted)
        counted.clear()
        many = build_cards(runtime.engine, ids)
        for_many = len(counted)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)
    assert [c.id for c in few] == ids[:5] and [c.id for c in many] == ids
    assert for_few == for_many <= 10, counted
