"""Scoring a real store: incremental embeddings, Novelty evidence, and no AI Score without labels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperscope.core.records import AuthorRecord, Batch, PaperRecord
from paperscope.ingest.pipeline import run_ingest
from paperscope.services import embeddings, scores
from paperscope.store import generations
from tests.conftest import BACKENDS

TOPICS = [
    "graph neural networks message passing over molecules predicts binding affinity",
    "reinforcement learning agents explore sparse reward mazes with intrinsic curiosity bonuses",
    "diffusion models denoise images progressively and sample photorealistic faces",
    "speech recognition transducers stream audio tokens with low latency on phones",
    "protein folding structure prediction from amino acid sequences with attention",
    "federated learning clients share gradients while keeping hospital data private",
    "adversarial examples fool image classifiers through imperceptible pixel perturbations",
    "machine translation between low resource languages with back translation",
    "recommender systems rank products for shoppers from click histories",
    "robot grasping policies learned in simulation transfer to real arms",
    "time series forecasting of electricity demand with temporal convolutions",
    "question answering over long documents retrieves passages before reading",
    "quantum circuits simulated with tensor networks on classical hardware",
    "autonomous driving perception fuses lidar point clouds and camera frames",
    "code generation language models write python functions from docstrings",
    "medical image segmentation of tumours in magnetic resonance scans",
    "causal inference estimates treatment effects from observational records",
    "neural architecture search finds compact networks for mobile devices",
    "weather prediction with graph networks over the globe mesh",
    "music generation with transformers conditioned on chord progressions",
]


def record(i: int, year: int, abstract: str, title: str | None = None, **extra) -> PaperRecord:  # type: ignore[no-untyped-def]
    fields = dict(
        source="arxiv_api",
        source_key=f"http://arxiv.org/abs/{2001 + i % 9}.{i:05d}v1",
        title=title or f"Study {i} of {abstract.split()[0]} {abstract.split()[1]}",
        abstract=abstract,
        arxiv_id=f"{2001 + i % 9}.{i:05d}",
        arxiv_version=1,
        published=date(year, 1 + i % 12, 1),
        year=year,
        primary_category="cs.LG",
        categories=["cs.LG"],
        authors=[AuthorRecord(name=f"Author {i}")],
    )
    fields.update(extra)
    return PaperRecord(**fields)  # type: ignore[arg-type]


def load(engine: Engine, records: list[PaperRecord], target: str = "test") -> None:
    run_ingest(engine, "arxiv_api", target, lambda cursor: iter([Batch(records=records, label="test")]), resume=False)


def corpus() -> list[PaperRecord]:
    return [record(i, 2010 + i // 5, f"{TOPICS[i]} and we report experiments") for i in range(len(TOPICS))]


@BACKENDS
def test_embeddings_are_incremental_and_a_refit_is_a_new_generation(engine: Engine, tmp_path: Path) -> None:
    papers = corpus()
    load(engine, papers)
    first, summary, reason = embeddings.update(engine, "tfidf", tmp_path)
    assert reason == "no fitted model in the store yet"
    assert first.active and (summary.embedded, summary.unchanged) == (20, 0)
    _, summary, _ = embeddings.update(engine, "tfidf", tmp_path)
    assert (summary.embedded, summary.unchanged) == (0, 20)

    changed = record(3, 2010, "a completely rewritten abstract about curiosity driven exploration")
    load(engine, [changed], target="update")
    again, summary, reason = embeddings.update(engine, "tfidf", tmp_path)
    assert reason is None and again.id == first.id  # the fit is reused from the store: same generation
    assert (summary.embedded, summary.unchanged) == (1, 19)
    ids, matrix = generations.vectors_for(engine, [f"arXiv:{p.arxiv_id}" for p in papers])
    assert len(ids) == 20 and matrix.shape == (20, first.dim)
    assert abs(float((matrix[0] ** 2).sum()) - 1.0) < 1e-5

    # A quarter more papers: the fitted vocabulary is stale, so it is refitted: a new generation,
    # every paper embedded into it, and it replaces the active one (the same embedder, refitted).
    load(engine, [record(100 + i, 2015, f"extra paper {i} on {TOPICS[i]}") for i in range(6)], "more")
    refitted, summary, reason = embeddings.update(engine, "tfidf", tmp_path)
    assert reason is not None and "grew from 20 to 26" in reason
    assert refitted.id != first.id and refitted.version != first.version
    assert (summary.embedded, summary.unchanged) == (26, 0)
    with engine.connect() as connection:
        assert generations.active_generation(connection).id == refitted.id  # type: ignore[union-attr]
        old = generations.get_generation(connection, first.id)
    assert old is not None and not old.active and len(generations.open_vectors(old)) == 20


@BACKENDS
def test_scores_on_a_small_store(engine: Engine, tmp_path: Path) -> None:
    papers = corpus()
    copy = record(50, 2016, papers[7].abstract, title="Study of machine translation again")  # type: ignore[arg-type]
    load(engine, [*papers, copy])
    summary = scores.run_scores(engine, "tfidf", data_dir=tmp_path, k=1)
    assert summary.papers == 21 and summary.embedded == 21

    copy_view = scores.explain_paper(engine, f"arXiv:{copy.arxiv_id}")
    assert copy_view is not None
    novelty = copy_view["novelty"]
    assert novelty["raw"] < 0.25  # the same abstract, a different title
    assert novelty["neighbours"][0]["id"] == f"arXiv:{papers[7].arxiv_id}"
    assert novelty["neighbours"][0]["similarity"] > 0.75
    # One paper of 2016: no peers to rank it among, so no percentile, and it says why.
    assert novelty["percentile"] is None and "scored papers in its category and year" in novelty["reason"]

    first = scores.explain_paper(engine, f"arXiv:{papers[0].arxiv_id}")
    assert first is not None and first["novelty"]["raw"] is None
    assert first["novelty"]["reason"] == "only 0 earlier papers with an abstract (1 needed)"

    # 2011 has five papers and each has earlier ones: they all get a percentile among each other.
    fields = scores.score_fields(engine, [f"arXiv:{p.arxiv_id}" for p in papers[5:10]])
    assert sorted(round(f["novelty"]) for f in fields.values()) == [10, 30, 50, 70, 90]

    # No citation counts anywhere: no AI Score for anyone, and the card says why.
    assert summary.ai_status == "insufficient" and summary.ai_scored == 0
    assert "at least 200 are needed" in (summary.ai_reason or "")
    assert all(f["ai_score"] is None for f in fields.values())
    assert copy_view["ai_score"]["score"] is None and "200" in copy_view["ai_score"]["reason"]
    # Every paper has a source category and there are too few to train on: nothing predicted.
    assert summary.category_status == "insufficient" and summary.categories_predicted == 0

    cards = scores.model_cards(engine)
    assert cards["ai_score"]["status"] == "insufficient"
    assert summary.novelty_searched == 21  # the first run searches every paper

    # A newer paper: only it is searched; the stored neighbours of the others are reused.
    newest = record(60, 2017, "a survey of music generation with transformers and chord progressions")
    load(engine, [newest], target="newest")
    again = scores.run_scores(engine, "tfidf", data_dir=tmp_path, k=1)
    assert again.embedded == 1 and again.novelty_searched == 1
    view = scores.explain_paper(engine, f"arXiv:{newest.arxiv_id}")
    assert view is not None and view["novelty"]["neighbours"][0]["id"] == f"arXiv:{papers[19].arxiv_id}"
    assert scores.score_fields(engine, [f"arXiv:{copy.arxiv_id}"])[f"arXiv:{copy.arxiv_id}"]["novelty"] is None

    # An abstract rewritten and embedded by something else first (the search index build does):
    # the Novelty stage still sees the change through the text hash its evidence names.
    rewritten = record(2, 2010, "tensor network simulation of quantum circuits on classical hardware")
    load(engine, [rewritten], target="rewrite")
    _, embedded, _ = embeddings.update(engine, "tfidf", tmp_path)
    assert (embedded.embedded, embedded.unchanged) == (1, 21)
    third = scores.run_scores(engine, "tfidf", data_dir=tmp_path, k=1)
    assert third.embedded == 0
    assert third.novelty_searched >= 18  # the paper itself and every paper after March 2010
    quantum = scores.explain_paper(engine, f"arXiv:{papers[12].arxiv_id}")  # 2012, on quantum circuits
    assert quantum is not None
    assert quantum["novelty"]["neighbours"][0]["id"] == f"arXiv:{rewritten.arxiv_id}"
    assert cards["coverage"]["ai_score"] == 0 and cards["coverage"]["novelty_raw"] == summary.novelty_raw


@BACKENDS
def test_a_large_store_keeps_its_novelty_graph_for_the_daily_run(engine: Engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from paperscope.analytics import novelty
    from paperscope.analytics.earlier_graph import AnnParams, EarlierGraph

    # This store stands for a large one: the approximate search from the first earlier paper on.
    monkeypatch.setattr(novelty, "EXACT_UP_TO", 0)
    monkeypatch.setattr(novelty, "DEFAULT_ANN", AnnParams(exact_prefix=1))
    papers = corpus()
    copy = record(50, 2016, papers[7].abstract, title="Study of machine translation again")  # type: ignore[arg-type]
    load(engine, [*papers, copy])
    summary = scores.run_scores(engine, "tfidf", k=1, data_dir=tmp_path)
    assert summary.novelty_search == "approximate, new graph" and summary.novelty_searched == 21
    with engine.connect() as connection:
        active = generations.active_generation(connection)
    assert active is not None
    folder = scores.novelty_graph_folder(tmp_path, active)
    assert len(EarlierGraph.load(folder)) == 21
    view = scores.explain_paper(engine, f"arXiv:{copy.arxiv_id}")
    assert view is not None and view["novelty"]["neighbours"][0]["id"] == f"arXiv:{papers[7].arxiv_id}"

    newest = record(60, 2017, "a survey of music generation with transformers and chord progressions")
    load(engine, [newest], target="newest")
    again = scores.run_scores(engine, "tfidf", k=1, data_dir=tmp_path)
    assert again.novelty_search == "approximate, kept graph" and again.novelty_searched == 1
    view = scores.explain_paper(engine, f"arXiv:{newest.arxiv_id}")
    assert view is not None and view["novelty"]["neighbours"][0]["id"] == f"arXiv:{papers[19].arxiv_id}"
    assert len(EarlierGraph.load(folder)) == 22

    # Back to the exact search (a small store): the graph would go stale, so it is removed.
    monkeypatch.setattr(novelty, "EXACT_UP_TO", 50_000)
    load(engine, [record(61, 2017, "robot grasping in clutter with tactile sensing")], target="more")
    third = scores.run_scores(engine, "tfidf", k=1, data_dir=tmp_path)
    assert third.novelty_search == "exact" and not folder.exists()


def test_the_chosen_embedder_comes_from_the_settings() -> None:
    from paperscope.core.settings import SettingsError, load_settings

    assert load_settings({}).embedder == embeddings.default_embedder() == "minilm"
    assert load_settings({"PAPERSCOPE_EMBEDDER": " TFIDF "}).embedder == "tfidf"
    assert load_settings({"PAPERSCOPE_EMBEDDER": "model2vec"}).embedder == "model2vec"
    with pytest.raises(SettingsError, match="PAPERSCOPE_EMBEDDER='bert'"):
        load_settings({"PAPERSCOPE_EMBEDDER": "bert"})
    with pytest.raises(ValueError, match="unknown embedder 'bert'"):
        from paperscope.analytics.embedders import make_embedder

        make_embedder("bert")
