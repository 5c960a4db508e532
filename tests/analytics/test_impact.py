"""AI Score: labels, leakage-free features, time-split evaluation and exact explanations."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from paperscope.analytics.impact import (
    BASE_FEATURES,
    compute_author_ai_score,
    compute_base_features,
    compute_citation_labels,
    explain_rows,
    ndcg_at_k,
    spearman,
    time_split,
    train_ai_score,
)


def _fact(pid: str, year: int | None, cited: int | None = None, category: str | None = "LG", **extra) -> dict:  # type: ignore[no-untyped-def]
    row = {
        "id": pid,
        "title": f"Paper {pid}",
        "published": None,
        "year": year,
        "primary_category": category,
        "venue": None,
        "journal_ref": None,
        "has_code": False,
        "author_count": None,
        "cited_by_count": cited,
        "cited_by_source": "s2" if cited is not None else None,
        "abstract_chars": 900,
    }
    row.update(extra)
    return row


def test_labels_are_percentiles_within_category_year_and_count_source() -> None:
    facts = [_fact(f"p{i}", 2015, cited=c) for i, c in enumerate([0, 5, 10, 50, 500])]
    facts += [_fact(f"q{i}", 2015, category="CV", cited=c) for i, c in enumerate([1, 2, 3, 4, 5])]
    facts += [_fact("young", 2025, cited=9999), _fact("g1", 2010), _fact("nothing", 2010)]
    facts += [_fact(f"g{i}", 2010) for i in range(2, 6)]
    graph = {"aan": {"g1", "g2", "g3", "g4", "g5"}}
    incoming = {"g1": 7, "g2": 1}
    labels, sources, counts = compute_citation_labels(facts, incoming, graph, as_of_year=2026, min_group=5)
    by_id = {f["id"]: i for i, f in enumerate(facts)}
    assert labels[by_id["p4"]] == pytest.approx(90.0)  # the most cited of its five peers
    assert labels[by_id["p0"]] == pytest.approx(10.0)
    # CV papers rank among CV papers only: the top CV paper is at 90 with 5 citations.
    assert labels[by_id["q4"]] == pytest.approx(90.0)
    assert np.isnan(labels[by_id["young"]])  # one year old: impact not known yet
    assert sources[by_id["g1"]] == "graph:aan" and counts[by_id["g1"]] == 7
    assert counts[by_id["g3"]] == 0  # in the closed graph and never cited: zero, not unknown
    assert np.isnan(counts[by_id["nothing"]]) and sources[by_id["nothing"]] is None
    assert labels[by_id["g1"]] == pytest.approx(90.0)


def test_author_features_use_only_what_was_known_before_publication() -> None:
    facts = [
        _fact("old", 2000),
        _fact("cites_old_2003", 2003),
        _fact("cites_old_2010", 2010),
        _fact("new", 2005),
    ]
    authorships = [
        ("old", "ada"),
        ("new", "ada"),
        ("new", "bob"),
        ("cites_old_2003", "cat"),
        ("cites_old_2010", "dan"),
    ]
    citations = [("cites_old_2003", "old"), ("cites_old_2010", "old"), ("cites_old_2010", "new")]
    base = compute_base_features(facts, authorships, citations, {"new": 3})
    row = dict(zip(BASE_FEATURES, base[3], strict=True))
    assert row["authors (log)"] == pytest.approx(np.log1p(2))
    assert row["authors' earlier papers, max (log)"] == pytest.approx(np.log1p(1))  # ada's 2000 paper
    assert row["authors' earlier papers, mean (log)"] == pytest.approx(np.log1p(1) / 2)
    # Before 2005, ada's earlier work had one citation (2003); the 2010 one is in the future.
    assert row["citations to authors' earlier work before publication, max (log)"] == pytest.approx(
        np.log1p(1)
    )
    assert row["references (log)"] == pytest.approx(np.log1p(3))
    # The paper's own citations (from 2010) appear nowhere among its features.
    assert (
        base[3].tolist() == compute_base_features(facts, authorships, citations[:2], {"new": 3})[3].tolist()
    )


def test_time_split_tests_on_the_newest_papers() -> None:
    years = np.array([2001] * 40 + [2002] * 40 + [2003] * 20)
    train, test = time_split(years, np.zeros(100, dtype=np.int64), 0.2)
    assert len(test) == 20 and set(years[test]) == {2003}
    assert years[train].max() < years[test].min()


def test_ranking_metrics() -> None:
    truth = np.array([90.0, 10.0, 50.0, 70.0])
    assert ndcg_at_k(truth, truth, k=3) == pytest.approx(1.0)
    assert ndcg_at_k(truth, -truth, k=3) < 0.6
    assert spearman(truth, truth * 2) == pytest.approx(1.0)
    assert spearman(truth, -truth) == pytest.approx(-1.0)


def _synthetic(n: int, seed: int = 1):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, len(BASE_FEATURES)))
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    years = [int(y) for y in rng.integers(1990, 2020, size=n)]
    quality = base[:, 0] + 0.3 * rng.normal(size=n)
    order = quality.argsort().argsort()
    labels = 100.0 * (order + 0.5) / n
    return base, vectors, years, labels


def test_training_reports_a_time_split_and_explanations_add_up() -> None:
    base, vectors, years, labels = _synthetic(600)
    training = train_ai_score(base, vectors, ["LG"] * 600, years, [None] * 600, labels, ["reported:s2"] * 600)
    card = training.card
    assert card["status"] == "trained" and card["n_labelled"] == 600
    ev = card["evaluation"]
    assert ev["train"]["years"][1] <= ev["test"]["years"][0]
    assert ev["spearman"] > 0.8  # the label follows feature 0: the model must find it
    assert ev["ndcg@20"] > ev["ndcg@20_random"]
    assert card["strongest_features"][0][0] == BASE_FEATURES[0]
    model, space = training.model, training.space
    assert model is not None and space is not None
    X = space.build(base, vectors, ["LG"] * 600)
    linear = model.linear(X)
    for i, explanation in enumerate(explain_rows(model, X[:20], top=5)):
        shown = sum(c for _, _, c in explanation["contributions"])
        assert len(explanation["contributions"]) == 5
        assert explanation["baseline"] + shown + explanation["other"] == pytest.approx(linear[i], abs=1e-9)


def test_too_few_labelled_papers_means_no_model() -> None:
    base, vectors, years, labels = _synthetic(300)
    labels[150:] = np.nan
    training = train_ai_score(base, vectors, [None] * 300, years, [None] * 300, labels, ["reported:s2"] * 300)
    assert training.model is None
    assert training.card["status"] == "insufficient"
    assert "only 150 papers" in training.card["reason"]


def test_author_ai_score_is_the_mean_over_scored_papers() -> None:
    assert compute_author_ai_score({"a": [20.0, 60.0, None], "b": []}) == {
        "a": pytest.approx(40.0),
        "b": None,
    }


def test_dates_take_part_in_the_time_split() -> None:
    years = np.array([2020] * 10)
    days = np.array([date(2020, m, 1).toordinal() for m in range(1, 11)])
    train, test = time_split(years, days, 0.2)
    assert sorted(test.tolist()) == [8, 9]
