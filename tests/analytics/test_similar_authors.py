"""Similar authors at scale: above EXACT_UP_TO identities the HNSW path answers, and it must agree
with comparing every pair (the exact path) while still leaving co-authors and oneself out."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from paperscope.analytics import similar


def _clustered(n: int, dim: int, seed: int) -> tuple[np.ndarray, csr_matrix]:
    """Identities whose centroids fall in 60 topics, each writing 2 papers, some with a co-author."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(60, dim))
    centroids = topics[rng.integers(0, 60, n)] + 0.6 * rng.normal(size=(n, dim))
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    owner = np.repeat(np.arange(n), 2)
    paper = np.arange(2 * n)
    paper[1::4] = paper[0::4][: len(paper[1::4])] + 2  # every other identity shares a paper with the next
    incidence = csr_matrix((np.ones(2 * n, dtype=np.float32), (owner, paper)), shape=(n, 2 * n + 4))
    return centroids.astype(np.float32), incidence


def test_hnsw_path_agrees_with_every_pair_and_leaves_coauthors_out() -> None:
    n, k = 6_000, 10
    centroids, incidence = _clustered(n, 32, seed=3)
    exact = similar._exact(centroids, incidence, k)
    saved = similar.EXACT_UP_TO
    similar.EXACT_UP_TO = 1_000  # force the graph path on this size
    try:
        approx = similar.most_similar(centroids, incidence, k)
    finally:
        similar.EXACT_UP_TO = saved
    assert len(approx) == len(exact) == n
    overlap = np.mean([len({j for j, _ in a} & {j for j, _ in e}) / max(len(e), 1)
                       for a, e in zip(approx, exact, strict=True)])
    assert overlap >= 0.9, overlap
    shared = (incidence @ incidence.T).tocsr()
    for row, found in enumerate(approx):
        partners = set(shared.indices[shared.indptr[row]:shared.indptr[row + 1]].tolist())
        assert row not in {j for j, _ in found} and not partners & {j for j, _ in found}
        sims = [s for _, s in found]
        assert sims == sorted(sims, reverse=True) and all(s > 0 for s in sims)
    # the exact path too leaves a co-author out even when it is the nearest
    assert all(not ({j for j, _ in e} & set(shared.indices[shared.indptr[r]:shared.indptr[r + 1]].tolist()))
               for r, e in enumerate(exact))
