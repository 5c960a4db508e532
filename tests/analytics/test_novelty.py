"""Novelty: nearest earlier papers, percentiles within (category, year), and the None cases."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from paperscope.analytics.novelty import (
    Previous,
    compute_author_novelty,
    compute_novelty,
    earlier_prefix,
    nearest_earlier,
    percentile_within,
)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _is_earlier(yb, db, ya, da) -> bool:  # type: ignore[no-untyped-def]
    if yb is None or ya is None:
        return False
    return yb < ya or (yb == ya and db is not None and da is not None and db < da)


def test_nearest_earlier_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    n, k = 700, 5
    vectors = _unit(rng.normal(size=(n, 16)))
    years = [int(y) for y in rng.integers(2000, 2006, size=n)]
    years[7] = None  # type: ignore[call-overload]
    dates = [date(y, int(rng.integers(1, 13)), 1) if y and rng.random() < 0.6 else None for y in years]
    result = compute_novelty(vectors, years, dates, ["LG"] * n, k=k, min_peers=1)
    sims = vectors @ vectors.T
    for i in range(n):
        earlier = [j for j in range(n) if _is_earlier(years[j], dates[j], years[i], dates[i])]
        assert result.earlier[i] == len(earlier)
        if len(earlier) < k:
            assert np.isnan(result.raw[i])
            continue
        best = sorted(earlier, key=lambda j: -sims[i, j])[:k]
        assert np.allclose(result.similarities[i], sims[i, best], atol=1e-5)
        assert result.raw[i] == pytest.approx(1 - sims[i, best].mean(), abs=1e-5)
    assert np.isnan(result.raw[7])  # no year: nothing is known to be earlier


def test_copy_of_an_earlier_paper_has_novelty_zero_and_names_it() -> None:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.normal(size=(6, 32)))
    vectors[5] = vectors[2]  # paper 5 (2021) repeats paper 2 (2019)
    years = [2018, 2018, 2019, 2019, 2020, 2021]
    result = compute_novelty(vectors, years, [None] * 6, [None] * 6, k=1, min_peers=1)
    assert result.raw[5] == pytest.approx(0.0, abs=1e-6)
    assert result.neighbours[5, 0] == 2
    assert result.similarities[5, 0] == pytest.approx(1.0, abs=1e-6)
    # The original is not "near" its later copy: only earlier papers count.
    assert result.neighbours[2, 0] in (0, 1)


def test_too_few_earlier_papers_gives_none() -> None:
    vectors = _unit(np.eye(4, dtype=np.float32) + 0.1)
    years = [2020, 2020, 2020, 2021]
    result = compute_novelty(vectors, years, [None] * 4, [None] * 4, k=3, min_peers=1)
    # Papers dated only by year are never earlier than one of the same year.
    assert list(result.earlier) == [0, 0, 0, 3]
    assert np.isnan(result.raw[:3]).all()
    assert not np.isnan(result.raw[3])


def test_same_year_dates_order_papers_and_undated_ones_wait_for_the_next_year() -> None:
    years = [2020, 2020, 2020, 2020, 2021]
    dates = [date(2020, 5, 1), date(2020, 1, 1), None, date(2020, 5, 1), None]
    order, prefix = earlier_prefix(years, dates)
    earlier_of = {int(order[i]): int(prefix[i]) for i in range(len(order))}
    assert earlier_of[1] == 0  # January: first
    assert earlier_of[0] == 1 and earlier_of[3] == 1  # same day: neither is earlier than the other
    assert earlier_of[2] == 0  # 2020 without a date: nothing of 2020 is surely earlier
    assert earlier_of[4] == 4


def test_percentile_within_groups_with_ties_and_small_groups() -> None:
    values = np.array([0.1, 0.2, 0.2, 0.4, 0.9, np.nan, 0.5])
    groups = ["a", "a", "a", "a", "a", "a", "b"]
    pct, sizes = percentile_within(values, groups, min_peers=5)
    assert pct[0] == pytest.approx(10.0)  # lowest of five: half a rank below nobody
    assert pct[1] == pytest.approx(40.0) and pct[2] == pytest.approx(40.0)  # ties share the mid rank
    assert pct[4] == pytest.approx(90.0)
    assert np.isnan(pct[5])  # no value
    assert np.isnan(pct[6]) and sizes[6] == 1  # a group of one is too small


def test_author_novelty_is_the_mean_of_known_percentiles() -> None:
    out = compute_author_novelty({"a": [40.0, None, 80.0], "b": [None], "c": []})
    assert out == {"a": pytest.approx(60.0), "b": None, "c": None}


def test_blocks_and_chunks_do_not_change_the_answer() -> None:
    rng = np.random.default_rng(5)
    vectors = _unit(rng.normal(size=(500, 8)))
    prefix = np.minimum(np.arange(500), rng.integers(0, 500, size=500))
    whole_idx, whole_sim = nearest_earlier(vectors, prefix, 7, block=1024, chunk=100_000)
    small_idx, small_sim = nearest_earlier(vectors, prefix, 7, block=64, chunk=37)
    assert np.array_equal(np.isnan(whole_sim), np.isnan(small_sim))
    assert np.allclose(np.nan_to_num(whole_sim), np.nan_to_num(small_sim))
    assert np.array_equal(whole_idx[whole_sim > -1], small_idx[small_sim > -1])


def test_incremental_novelty_reuses_older_papers_and_matches_a_full_run() -> None:
    rng = np.random.default_rng(11)
    n, k = 400, 5
    vectors = _unit(rng.normal(size=(n, 12)))
    years = [int(y) for y in rng.integers(2000, 2010, size=n)]
    dates: list[date | None] = [None] * n
    first = compute_novelty(vectors, years, dates, ["LG"] * n, k=k, min_peers=1)
    previous = Previous(np.ones(n, dtype=bool), first.earlier, first.neighbours, first.similarities)

    # One paper of 2008 gets a new abstract: only papers of 2009 and itself need a new search.
    changed = np.zeros(n, dtype=bool)
    target = years.index(2008)
    changed[target] = True
    vectors[target] = _unit(rng.normal(size=(1, 12)))[0]
    again = compute_novelty(vectors, years, dates, ["LG"] * n, k=k, min_peers=1, changed=changed, previous=previous)
    full = compute_novelty(vectors, years, dates, ["LG"] * n, k=k, min_peers=1)
    assert again.searched == 1 + sum(1 for y in years if y == 2009)
    assert np.allclose(np.nan_to_num(again.raw), np.nan_to_num(full.raw))
    assert np.array_equal(again.neighbours, full.neighbours)
    assert np.allclose(np.nan_to_num(again.percentile), np.nan_to_num(full.percentile))

    # Nothing changed and everything stored: nothing is searched.
    stored = Previous(np.ones(n, dtype=bool), full.earlier, full.neighbours, full.similarities)
    idle = compute_novelty(
        vectors, years, dates, ["LG"] * n, k=k, min_peers=1, changed=np.zeros(n, dtype=bool), previous=stored
    )
    assert idle.searched == 0 and np.array_equal(idle.neighbours, full.neighbours)
