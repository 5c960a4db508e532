"""Bibliometric indices of many authors at once, vectorised in numpy.

Input is one row per (identity, paper) pair as integer arrays; every index is computed for all
identities in a few sorts and bincounts, with no Python loop over authors:

- h-index (Hirsch 2005): the largest h such that h of the papers have at least h citations each.
- i10-index: papers with at least 10 citations.
- g-index (Egghe 2006): the largest g such that the g most cited papers have, together, at least
  g² citations; capped at the number of papers (no fictitious zero-cited papers are added).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Indices:
    papers: np.ndarray
    citations: np.ndarray
    h_index: np.ndarray
    i10_index: np.ndarray
    g_index: np.ndarray


def compute_indices(owner: np.ndarray, cites: np.ndarray, n_owners: int) -> Indices:
    """Indices per owner (0..n_owners-1) from pairs (owner[i], cites[i]) of one paper each."""
    owner = np.asarray(owner, dtype=np.int64)
    cites = np.asarray(cites, dtype=np.int64)
    papers = np.bincount(owner, minlength=n_owners)
    total = np.bincount(owner, weights=cites, minlength=n_owners).astype(np.int64)
    if owner.size == 0:
        zero = np.zeros(n_owners, dtype=np.int64)
        return Indices(papers, total, zero, zero.copy(), zero.copy())
    # Sort by owner, then citations descending: a paper's rank within its owner is its position.
    order = np.lexsort((-cites, owner))
    o, c = owner[order], cites[order]
    starts = np.zeros(n_owners + 1, dtype=np.int64)
    np.cumsum(papers, out=starts[1:])
    rank = np.arange(o.size, dtype=np.int64) - starts[o] + 1
    h = np.bincount(o[c >= rank], minlength=n_owners)
    i10 = np.bincount(o[c >= 10], minlength=n_owners)
    running = np.cumsum(c)
    before = np.concatenate(([0], running))[starts[o]]  # citations of earlier owners
    top_sum = running - before
    g = np.bincount(o[top_sum >= rank * rank], minlength=n_owners)
    return Indices(papers, total, h, i10, g)


def h_index(cites: list[int] | np.ndarray) -> int:
    """The h-index of one list of citation counts (the same rule as compute_indices)."""
    values = np.sort(np.asarray(cites, dtype=np.int64))[::-1]
    return int(np.sum(values >= np.arange(1, values.size + 1)))


def unique_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique int64 keys and how often each occurs (a sort and a diff: faster than
    np.unique's hashing on millions of keys)."""
    ordered = np.sort(np.asarray(keys, dtype=np.int64), kind="stable")
    if ordered.size == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(starts, ordered.size))
    return ordered[starts], counts


def sum_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique int64 keys and the sum of `values` for each."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=values, minlength=unique.size).astype(np.int64)


def mean_by_owner(owner: np.ndarray, values: np.ndarray, n_owners: int) -> np.ndarray:
    """Mean of the non-NaN `values` per owner; NaN where an owner has none."""
    known = ~np.isnan(values)
    count = np.bincount(owner[known], minlength=n_owners)
    total = np.bincount(owner[known], weights=values[known], minlength=n_owners)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def mode_by_owner(owner: np.ndarray, label: np.ndarray, n_owners: int, n_labels: int) -> np.ndarray:
    """The most common label (>= 0) per owner, -1 where none; ties go to the lower label code."""
    known = label >= 0
    if not known.any():
        return np.full(n_owners, -1, dtype=np.int64)
    key = owner[known].astype(np.int64) * n_labels + label[known]
    unique, counts = np.unique(key, return_counts=True)
    owners, labels = unique // n_labels, unique % n_labels
    # Per owner: highest count, then lowest label. Sort so the winner comes first.
    order = np.lexsort((labels, -counts, owners))
    owners, labels = owners[order], labels[order]
    first = np.ones(owners.size, dtype=bool)
    first[1:] = owners[1:] != owners[:-1]
    out = np.full(n_owners, -1, dtype=np.int64)
    out[owners[first]] = labels[first]
    return out
