"""Pages over a scored store (the listings and OpenAlex's works, scored with a small label
minimum): each AI Score, Novelty and their evidence appear as the scores service explains them."""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.services.authors import recompute
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.services.runtime import Runtime
from paperscope.services.scores import explain_paper, run_scores
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from paperscope.web.app import create_app


@pytest.fixture(scope="module")
def scored(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Any]]:
    from fastapi.testclient import TestClient

    folder = tmp_path_factory.mktemp("scored")
    engine = open_engine(f"sqlite:///{folder / 'scored.db'}")
    upgrade(engine)
    plans = listing_plans(shared_dir) + [p for p in fixture_plans(shared_dir) if p.source == "openalex"]
    for plan in plans:
        run_ingest(engine, plan.source, plan.target, plan.batches)
    summary = run_scores(engine, "tfidf", min_labelled=20)
    assert summary.ai_status == "trained" and summary.novelty_pct > 0
    recompute(engine, similar=False)
    app = create_app(Runtime(load_settings({"PAPERSCOPE_DATA_DIR": str(folder)}), engine), secret_key="k")
    with TestClient(app) as client:
        yield engine, client
    engine.dispose()


def _scored_paper(engine: Engine, client: Any) -> dict[str, Any]:
    listing = client.get("/api/v1/search?q=learning&per_page=100").json()
    for card in listing["papers"]:
        explained = explain_paper(engine, card["id"])
        if explained and explained.get("novelty", {}).get("neighbours") and explained["ai_score"]["score"]:
            return explained
    pytest.fail("no paper with a Novelty percentile and an AI Score")


def test_paper_page_shows_each_score_with_its_evidence(scored: tuple[Engine, Any]) -> None:
    engine, client = scored
    explained = _scored_paper(engine, client)
    html = client.get(f"/papers/{explained['id']}").text
    assert f'<span class="score">{explained["ai_score"]["score"]:.1f}</span>' in html
    contributions = explained["ai_score"]["contributions"]
    assert html.count("<tr><td>") == len(contributions) > 0
    for c in contributions:
        assert f"<td>{escape(c['feature'])}</td>" in html and f"{c['contribution']:+.3f}" in html
    if explained["novelty"]["percentile"] is not None:
        assert f"Novelty <span class=\"score\">{explained['novelty']['percentile']:.0f}%</span>" in html
    for n in explained["novelty"]["neighbours"]:
        assert f'href="/papers/{n["id"]}"' in html
    # Without a semantic index, similar papers are the nearest earlier papers of the evidence.
    paper = client.get(f"/api/v1/papers/{explained['id']}").json()
    assert [p["id"] for p in paper["similar"]] == [n["id"] for n in explained["novelty"]["neighbours"]][:8]
    assert paper["scores"] == explained


def test_card_scores_match_the_scores(scored: tuple[Engine, Any]) -> None:
    engine, client = scored
    results = client.get("/api/v1/search?q=learning&per_page=100").json()
    assert any(p["ai_score"] is not None for p in results["papers"])
    for p in results["papers"]:
        explained = explain_paper(engine, p["id"])
        assert p["ai_score"] == (explained.get("ai_score") or {}).get("score")
    strong = client.get("/api/v1/search?q=learning&min_score=50&per_page=100").json()
    assert 0 < strong["total"] < results["total"]
    assert all(p["ai_score"] >= 50 for p in strong["papers"])
    html = client.get("/search?q=learning&per_page=100").text
    shown = [p for p in results["papers"] if p["ai_score"] is not None][0]
    block = html[html.index(f'data-paper-id="{shown["id"]}"'):][:400]
    assert f'<span class="score" title="AI Score">{shown["ai_score"]:.1f}</span>' in block


def test_author_header_and_cards_carry_scores(scored: tuple[Engine, Any]) -> None:
    _, client = scored
    profile = client.get("/api/v1/authors/name:bo-han").json()
    html = client.get("/authors/name:bo-han").text
    expected = "—" if profile["ai_score"] is None else f"{profile['ai_score']:.0f}"
    assert f'<dd data-stat="ai_score">{expected}</dd>' in html
    novelty = "—" if profile["novelty"] is None else f"{profile['novelty']:.0f}%"
    assert f'<dd data-stat="novelty">{novelty}</dd>' in html
    assert any(c["ai_score"] is not None for c in profile["cards"])
    for c in profile["cards"][:10]:
        if c["ai_score"] is not None:
            assert f'<span class="score" title="AI Score">{c["ai_score"]:.1f}</span>' in html
