"""The bibliometric indices (analytics.metrics) against their definitions, one author at a time."""

from __future__ import annotations

import numpy as np
import pytest

from paperscope.analytics.metrics import compute_indices, h_index, mean_by_owner, mode_by_owner


def _h(cites: list[int]) -> int:
    ranked = sorted(cites, reverse=True)
    return max([r for r in range(1, len(ranked) + 1) if ranked[r - 1] >= r], default=0)


def _g(cites: list[int]) -> int:
    ranked = sorted(cites, reverse=True)
    return max([g for g in range(1, len(ranked) + 1) if sum(ranked[:g]) >= g * g], default=0)


def test_textbook_examples() -> None:
    # Hirsch's definition: 4 papers with >= 4 citations, not 5 with >= 5.
    result = compute_indices(np.zeros(5, dtype=int), np.array([10, 8, 5, 4, 3]), 1)
    assert result.h_index[0] == 4
    assert result.i10_index[0] == 1
    # g: top-5 sum 30 >= 25, so g = 5 (capped at the number of papers).
    assert result.g_index[0] == 5
    assert result.papers[0] == 5 and result.citations[0] == 30
    assert h_index([0, 0, 0]) == 0
    assert h_index([100]) == 1
    assert h_index([3, 3, 3]) == 3


def test_many_owners_match_one_at_a_time() -> None:
    rng = np.random.default_rng(7)
    owners = rng.integers(0, 300, 5000)
    cites = (rng.pareto(1.2, 5000) * 5).astype(int)
    result = compute_indices(owners, cites, 310)  # owners 300-309 have no papers
    for owner in range(310):
        mine = cites[owners == owner].tolist()
        assert result.h_index[owner] == _h(mine), owner
        assert result.g_index[owner] == _g(mine), owner
        assert result.i10_index[owner] == sum(c >= 10 for c in mine)
        assert result.citations[owner] == sum(mine)
        assert result.papers[owner] == len(mine)


def test_empty_input() -> None:
    result = compute_indices(np.array([], dtype=int), np.array([], dtype=int), 3)
    assert result.h_index.tolist() == [0, 0, 0]


def test_mode_and_mean() -> None:
    owner = np.array([0, 0, 0, 1, 1, 2])
    label = np.array([2, 1, 2, 0, 1, -1])
    # owner 1 has a tie (0 and 1): the lower code wins; owner 2 has no known label.
    assert mode_by_owner(owner, label, 3, 3).tolist() == [2, 0, -1]
    values = np.array([10.0, np.nan, 20.0, np.nan, np.nan, 5.0])
    means = mean_by_owner(owner, values, 3)
    assert means[0] == pytest.approx(15.0) and np.isnan(means[1]) and means[2] == 5.0
