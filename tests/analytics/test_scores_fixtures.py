"""Every score on a store holding every listing and recorded fixture (SQLite; computed once).

The AI Score trains on the real citation data (the ACL Anthology Network graph, the Semantic Scholar
citing papers, OpenAlex works); code detection is measured against the listings' `Code` badges.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from paperscope.cli.app import app
from paperscope.ingest.pipeline import run_ingest
from paperscope.services import scores
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.store import schema
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade

DEEPINCEPTION = "DeepInception: Hypnotize Large Language Model to Be Jailbreaker"


@pytest.fixture(scope="module")
def scored(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('scores') / 'paperscope.db'}"
    engine = open_engine(url)
    upgrade(engine)
    for plan in listing_plans(shared_dir) + fixture_plans(shared_dir):
        run_ingest(engine, plan.source, plan.target, plan.batches)
    scores.run_scores(engine, "tfidf", as_of_year=2026)
    yield engine, url
    engine.dispose()


def _paper_id(engine: Engine, title: str) -> str:
    p = schema.papers
    with engine.connect() as connection:
        return connection.execute(select(p.c.id).where(p.c.title == title)).scalar_one()


def _facts(engine: Engine) -> dict[str, dict]:
    p = schema.papers
    with engine.connect() as connection:
        rows = connection.execute(select(p.c.id, p.c.year, p.c.published, p.c.abstract, p.c.primary_category))
        return {r.id: r._asdict() for r in rows}


def test_ai_score_model_card_reports_a_time_split_on_the_fixture_citations(scored) -> None:
    engine, _ = scored
    card = scores.model_cards(engine)["ai_score"]
    assert card["status"] == "trained"
    # 17,909 ACL Anthology papers (in-store citations) and the S2 citing papers with counts.
    assert card["label_sources"]["graph:aan"] > 15_000
    assert card["label_sources"]["reported:s2"] > 900
    ev = card["evaluation"]
    for source, years in ev["years_by_label_source"].items():
        assert years["train"][1] <= years["test"][0], source  # trained on older, tested on newer
    assert ev["test"]["n"] + ev["train"]["n"] == card["n_labelled"]
    assert -1.0 <= ev["spearman"] <= 1.0 and 0.0 <= ev["ndcg@20"] <= 1.0
    # On the ACL graph the metadata features carry real signal: better than a random ranking.
    aan = ev["by_label_source"]["graph:aan"]
    assert aan["spearman"] > 0.2 and aan["ndcg@20"] > aan["ndcg@20_random"]
    assert card["does_not_apply"] and "graph:aan" in card["trained_on"]


def test_explanations_add_up_to_the_score(scored) -> None:
    engine, _ = scored
    view = scores.explain_paper(engine, _paper_id(engine, DEEPINCEPTION))
    assert view is not None
    ai = view["ai_score"]
    total = ai["baseline"] + sum(c["contribution"] for c in ai["contributions"])
    assert total + ai["other"] == pytest.approx(ai["linear"], abs=1e-9)
    assert ai["score"] == pytest.approx(min(100.0, max(0.0, 100 * ai["linear"])))
    features = {c["feature"]: c["value"] for c in ai["contributions"]}
    assert features.get("has code link", 1.0) == 1.0  # its abstract links its GitHub repository


def test_novelty_evidence_is_earlier_papers_and_absent_without_an_abstract(scored) -> None:
    engine, _ = scored
    facts = _facts(engine)
    view = scores.explain_paper(engine, _paper_id(engine, DEEPINCEPTION))
    assert view is not None
    novelty = view["novelty"]
    assert 0 <= novelty["percentile"] <= 100 and novelty["group"] == ["LG", 2023]
    assert len(novelty["neighbours"]) == 10
    published = date.fromisoformat(view["published"])
    for neighbour in novelty["neighbours"]:
        earlier = facts[neighbour["id"]]
        assert earlier["abstract"]
        assert earlier["year"] < 2023 or (earlier["published"] and earlier["published"] < published)
    sims = [n["similarity"] for n in novelty["neighbours"]]
    assert sims == sorted(sims, reverse=True)
    assert novelty["raw"] == pytest.approx(1 - sum(sims) / 10, abs=1e-5)

    no_abstract = [pid for pid, f in facts.items() if not f["abstract"]][:200]
    fields = scores.score_fields(engine, no_abstract)
    assert all(f["novelty"] is None for f in fields.values())
    assert all(f["ai_score"] is not None for f in fields.values())  # metadata still gives an AI Score


def test_predicted_categories_only_where_the_source_gives_none(scored) -> None:
    engine, _ = scored
    facts = _facts(engine)
    fields = scores.score_fields(engine, list(facts))
    predicted = {pid for pid, f in fields.items() if f["predicted_category"]}
    assert predicted and all(facts[pid]["primary_category"] is None for pid in predicted)
    assert all(facts[pid]["abstract"] for pid in predicted)  # a bare title is too little to classify
    card = scores.model_cards(engine)["category"]
    assert card["status"] == "trained"
    assert card["held_out"]["accuracy"] > card["held_out"]["majority_baseline"]
    assert card["listing_check"]["n"] >= 90 and card["listing_check"]["accuracy"] > 0.5


def test_code_detection_against_listing_badges(scored) -> None:
    engine, _ = scored
    report = scores.code_detection(engine)
    assert report["badges"] == 51 and report["cards"] == 96
    assert report["precision"] >= 0.95
    assert report["recall"] >= 0.90


def test_author_scores_are_means_over_their_papers(scored) -> None:
    engine, _ = scored
    s = schema.authorships
    paper_id = _paper_id(engine, DEEPINCEPTION)
    with engine.connect() as connection:
        author = connection.execute(
            select(s.c.author_id).where(s.c.paper_id == paper_id, s.c.position == 0)
        ).scalar_one()
        papers = [
            r
            for (r,) in connection.execute(
                select(s.c.paper_id).where(s.c.author_id == author, s.c.origin == "source")
            )
        ]
    fields = scores.score_fields(engine, papers)
    ai = [f["ai_score"] for f in fields.values() if f["ai_score"] is not None]
    nov = [f["novelty"] for f in fields.values() if f["novelty"] is not None]
    out = scores.author_scores(engine, [author])[author]
    assert out["ai_score"] == pytest.approx(sum(ai) / len(ai))
    assert out["novelty"] == pytest.approx(sum(nov) / len(nov))


def test_cli_model_card_and_explain(scored) -> None:
    engine, url = scored
    runner = CliRunner()
    env = {"PAPERSCOPE_DATABASE_URL": url}
    card = runner.invoke(app, ["model", "card"], env=env, catch_exceptions=False)
    assert card.exit_code == 0, card.output
    assert "Spearman" in card.output and "graph:aan" in card.output and "precision 100.0%" in card.output
    explain = runner.invoke(
        app, ["explain", _paper_id(engine, DEEPINCEPTION)], env=env, catch_exceptions=False
    )
    assert explain.exit_code == 0, explain.output
    assert "nearest earlier papers" in explain.output and "AI Score" in explain.output
    missing = runner.invoke(app, ["explain", "arXiv:0000.00000"], env=env)
    assert missing.exit_code == 1 and "no paper" in missing.output
    again = runner.invoke(app, ["score"], env=env, catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert "0 embedded" in again.output  # nothing changed since the first run
