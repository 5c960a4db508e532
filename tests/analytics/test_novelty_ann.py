"""Novelty's approximate search: against the exact one on a small store (agreement floors), the
time rule kept exactly (only earlier papers are ever neighbours), and the kept graph's daily update."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from scipy.stats import spearmanr

from paperscope.analytics.earlier_graph import AnnParams, EarlierGraph
from paperscope.analytics.novelty import Previous, compute_novelty, earlier_prefix

K = 10
PARAMS = AnnParams(exact_prefix=64)  # small, so that nearly every query goes through the graph


def _store(n: int, seed: int, dim: int = 48) -> tuple[np.ndarray, list, list, list[str], list[str]]:
    """Papers in topic clusters (as abstracts are), with dates over 2010-2019, some known only by year."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim))
    vectors = centres[rng.integers(0, 40, size=n)] + rng.normal(size=(n, dim)) * 0.8
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    days = rng.integers(0, 3650, size=n)
    dates: list[date | None] = [date(2010, 1, 1) + timedelta(days=int(d)) for d in days]
    years: list[int | None] = [d.year for d in dates]  # type: ignore[union-attr]
    for i in rng.choice(n, n // 20, replace=False).tolist():
        dates[i] = None
    categories = [f"C{c}" for c in rng.integers(0, 3, size=n)]
    return vectors, years, dates, categories, [f"p{i}" for i in range(n)]


def _overlap(a: np.ndarray, b: np.ndarray, rows: np.ndarray) -> float:
    return float(np.mean([len(set(a[i].tolist()) & set(b[i].tolist())) / K for i in rows]))


def _assert_only_earlier(result, years, dates) -> None:  # type: ignore[no-untyped-def]
    order, prefix = earlier_prefix(years, dates)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    for i in range(len(order)):
        found = result.neighbours[i][result.neighbours[i] >= 0]
        assert len(found) == min(K, result.earlier[i])
        assert (position[found] < prefix[position[i]]).all(), f"paper {i} has a neighbour not earlier than it"


def test_approximate_search_agrees_with_the_exact_one() -> None:
    vectors, years, dates, cats, ids = _store(3000, seed=1)
    exact = compute_novelty(vectors, years, dates, cats, k=K, method="exact")
    ann = compute_novelty(vectors, years, dates, cats, k=K, method="ann", ann=PARAMS, ids=ids)
    _assert_only_earlier(ann, years, dates)
    assert np.array_equal(ann.earlier, exact.earlier)
    assert np.array_equal(np.isnan(ann.raw), np.isnan(exact.raw))
    searched = np.flatnonzero(exact.earlier >= PARAMS.exact_prefix)
    assert len(searched) > 2500  # the graph answered most papers
    assert _overlap(ann.neighbours, exact.neighbours, searched) >= 0.9
    both = ~np.isnan(exact.percentile)
    assert spearmanr(ann.percentile[both], exact.percentile[both]).statistic >= 0.98
    assert ann.graph is not None and len(ann.graph) == 3000  # every paper, for the next run


def test_the_kept_graph_answers_the_daily_update_and_matches_the_exact_search(tmp_path) -> None:  # type: ignore[no-untyped-def]
    vectors, years, dates, cats, ids = _store(3200, seed=2)
    old = slice(0, 3000)
    first = compute_novelty(vectors[old], years[old], dates[old], cats[old], k=K, method="ann", ann=PARAMS,
                            ids=ids[old])
    assert first.graph is not None
    first.graph.save(tmp_path / "graph", {"model": "test@1"})
    kept = EarlierGraph.load(tmp_path / "graph")
    assert len(kept) == 3000 and kept.ids == sorted(ids[old], key=kept.ids.index)

    # The day after: 200 new papers dated after everything, and among the last week's papers one
    # re-embedded and one merged away (a change to an older paper redoes every later one anyway).
    last = max(d for d in dates[old] if d is not None)
    for i in range(3000, 3200):
        dates[i], years[i] = last + timedelta(days=1), (last + timedelta(days=1)).year
    recent = sorted(range(3000), key=lambda i: dates[i] or date.min)
    gone, redone = recent[-1], recent[-2]
    keep = np.array([i for i in range(3200) if i != gone])
    vectors[redone] = vectors[recent[100]]
    previous = Previous(np.ones(3200, dtype=bool), np.full(3200, -1), np.full((3200, K), -1),
                        np.full((3200, K), np.nan, dtype=np.float32))
    previous.valid[3000:] = False
    previous.earlier[:3000] = first.earlier
    previous.neighbours[:3000] = first.neighbours
    previous.similarities[:3000] = first.similarities
    changed = np.zeros(3200, dtype=bool)
    changed[3000:] = True
    changed[redone] = True

    def sub(values):  # type: ignore[no-untyped-def]
        return [values[i] for i in keep.tolist()]

    # A paper merged away: its neighbours elsewhere are not valid any more, they search again.
    position_of = {int(j): pos for pos, j in enumerate(keep.tolist())}
    prev = Previous(previous.valid[keep].copy(), previous.earlier[keep].copy(),
                    np.vectorize(lambda j: position_of.get(int(j), -1))(previous.neighbours[keep]),
                    previous.similarities[keep].copy())
    prev.valid &= ~(previous.neighbours[keep] == gone).any(axis=1)
    daily = compute_novelty(vectors[keep], sub(years), sub(dates), sub(cats), k=K, method="ann", ann=PARAMS,
                            ids=sub(ids), changed=changed[keep], previous=prev, graph=kept)
    assert daily.graph is kept  # the kept graph answered: no new graph was grown
    assert daily.searched < 0.2 * len(keep)
    assert len(kept) == 3199 and ids[gone] not in {kept.ids[i] for i in np.flatnonzero(kept.live)}
    _assert_only_earlier(daily, sub(years), sub(dates))
    exact = compute_novelty(vectors[keep], sub(years), sub(dates), sub(cats), k=K, method="exact")
    new = np.arange(len(keep) - 200, len(keep))
    assert _overlap(daily.neighbours, exact.neighbours, new) >= 0.9
    assert np.array_equal(daily.earlier, exact.earlier)


def test_a_backfilled_paper_queries_the_kept_graph_through_the_time_filter() -> None:
    vectors, years, dates, cats, ids = _store(3000, seed=3)
    first = compute_novelty(vectors[:2990], years[:2990], dates[:2990], cats[:2990], k=K, method="ann",
                            ann=PARAMS, ids=ids[:2990])
    # Ten papers arrive late, dated inside the stored span: the graph holds later papers than they.
    newest = sorted(d for d in dates[:2990] if d is not None)
    for j, i in enumerate(range(2990, 3000)):
        dates[i] = newest[-40 + j]
        years[i] = dates[i].year  # type: ignore[union-attr]
    previous = Previous(np.zeros(3000, dtype=bool), np.full(3000, -1), np.full((3000, K), -1),
                        np.full((3000, K), np.nan, dtype=np.float32))
    previous.valid[:2990] = True
    previous.earlier[:2990] = first.earlier
    previous.neighbours[:2990] = first.neighbours
    previous.similarities[:2990] = first.similarities
    changed = np.zeros(3000, dtype=bool)
    changed[2990:] = True
    daily = compute_novelty(vectors, years, dates, cats, k=K, method="ann", ann=PARAMS, ids=ids,
                            changed=changed, previous=previous, graph=first.graph)
    assert daily.graph is first.graph
    _assert_only_earlier(daily, years, dates)
    exact = compute_novelty(vectors, years, dates, cats, k=K, method="exact")
    assert _overlap(daily.neighbours, exact.neighbours, np.arange(2990, 3000)) >= 0.9


def test_unknown_search_method_is_refused() -> None:
    vectors, years, dates, cats, _ = _store(20, seed=4)
    with pytest.raises(ValueError, match="'fast'"):
        compute_novelty(vectors, years, dates, cats, method="fast")
