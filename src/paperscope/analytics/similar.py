"""Similar authors: identities whose work reads alike, by the embeddings of their papers.

Each identity with at least `min_papers` papers gets a centroid: the mean of its papers' vectors
in the active embedder generation, or, when no generation is active, the mean of its papers'
TF-IDF vectors over titles and abstracts (sublinear tf, English stop words). Centroids are
L2-normalised and compared by cosine; co-authors (identities sharing a paper) are left out, since
sharing the papers says nothing more about the work.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.analytics.authors import stored_identity
from paperscope.store import authors as store
from paperscope.store import generations

BLOCK = 2048
CELLS = 20_000_000  # similarity cells held at once (rows per block x identities)
EXACT_UP_TO = 20_000  # identities compared pair by pair; above, through an HNSW graph


def _incidence(owner: np.ndarray, paper: np.ndarray, n_owners: int, n_papers: int):  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix

    data = np.ones(owner.size, dtype=np.float32)
    matrix = csr_matrix((data, (owner, paper)), shape=(n_owners, n_papers))
    matrix.data[:] = 1.0  # duplicates summed: back to 0/1
    return matrix


def _normalise(matrix):  # type: ignore[no-untyped-def]
    from scipy.sparse import diags, issparse

    if issparse(matrix):
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        return diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)) @ matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def most_similar(centroids: Any, incidence: Any, k: int) -> list[list[tuple[int, float]]]:
    """For each row of `centroids` (unit rows), its `k` most similar other rows by cosine, best first,
    leaving out the rows it shares a paper with (`incidence`: rows x papers) and similarities ≤ 0.

    Up to EXACT_UP_TO rows (or sparse TF-IDF centroids) every pair is compared, a block of rows at a
    time. Above that, comparing every pair is quadratic (hours at a million papers): the rows go into
    an HNSW graph and each asks it for its nearest 4k + 16, from which co-authors are then removed
    (tests/analytics/test_similar_authors.py measures the agreement with the exact answer)."""
    from scipy.sparse import issparse

    n = centroids.shape[0]
    if n == 0:
        return []
    if n <= EXACT_UP_TO or issparse(centroids):
        return _exact(centroids, incidence, k)
    import hnswlib

    dense = np.ascontiguousarray(centroids, dtype=np.float32)
    index = hnswlib.Index(space="ip", dim=dense.shape[1])
    index.init_index(max_elements=n, M=16, ef_construction=100, random_seed=7)
    index.set_num_threads(max(1, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else 2)
    index.add_items(dense, np.arange(n))
    fetch = min(n, 4 * k + 16)
    index.set_ef(max(2 * fetch, 64))
    labels, distances = index.knn_query(dense, k=fetch)
    out: list[list[tuple[int, float]]] = []
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        shared = (incidence[start:stop] @ incidence.T).tocsr()  # co-authors and oneself, sparse
        for row in range(stop - start):
            partners = set(shared.indices[shared.indptr[row]:shared.indptr[row + 1]].tolist())
            partners.add(start + row)
            found = [(int(j), round(float(1.0 - d), 4))
                     for j, d in zip(labels[start + row], distances[start + row], strict=True)
                     if int(j) not in partners and 1.0 - d > 0]
            out.append(found[:k])
    return out


def _exact(centroids: Any, incidence: Any, k: int) -> list[list[tuple[int, float]]]:
    n = centroids.shape[0]
    out: list[list[tuple[int, float]]] = []
    block = max(16, min(BLOCK, CELLS // max(n, 1)))
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = centroids[start:stop] @ centroids.T
        sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
        shared = (incidence[start:stop] @ incidence.T).toarray() > 0  # co-authors and oneself
        sims[shared] = -1.0
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        out.extend([(int(j), round(float(sims[row, j]), 4)) for j in best if sims[row, j] > 0]
                   for row, best in enumerate(top))
    return out


def compute_similar_authors(engine: Engine, k: int = 10, min_papers: int = 2,
                            progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the `k` most similar identities of every identity with `min_papers` papers or more."""
    say = progress or (lambda _m: None)
    identity = stored_identity(engine)
    with engine.connect() as connection:
        authorships = store.load_authorships(connection)
        generation = generations.active_generation(connection)
        texts = None if generation is not None else store.load_paper_texts(connection)
    vectors = generations.open_vectors(generation) if generation is not None else None
    owners: dict[str, int] = {}
    pairs: dict[tuple[int, str], None] = {}
    for paper_id, _pos, author_id in authorships:
        ident = identity.identity_of(paper_id, author_id)
        pairs[(owners.setdefault(ident, len(owners)), paper_id)] = None
    counts = np.bincount(np.fromiter((o for o, _ in pairs), dtype=np.int64, count=len(pairs)),
                         minlength=len(owners))
    keep = counts >= min_papers
    if vectors is not None and generation is not None:
        paper_index = vectors.row_of
        features = np.asarray(vectors.matrix, dtype=np.float32)
        method = f"embeddings:{generation.embedder}"
    else:
        from sklearn.feature_extraction.text import TfidfVectorizer

        paper_index = {r[0]: i for i, r in enumerate(texts or [])}
        docs = [f"{r[1]}. {r[2] or ''}" for r in texts or []]
        if len(docs) < 2:
            return {"method": "tfidf", "identities": 0}
        features = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=1, max_df=0.5,
                                   dtype=np.float32).fit_transform(docs)
        method = "tfidf"
    rows = [(o, paper_index[p]) for o, p in pairs if keep[o] and p in paper_index]
    if not rows:
        return {"method": method, "identities": 0}
    selected = np.flatnonzero(keep)
    remap = np.full(len(owners), -1, dtype=np.int64)
    remap[selected] = np.arange(selected.size)
    owner = remap[np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))]
    paper = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    incidence = _incidence(owner, paper, selected.size, features.shape[0])
    centroids = _normalise(incidence @ features)
    names = list(owners)
    now = datetime.now(UTC)
    out = [(names[selected[row]], [[names[selected[j]], sim] for j, sim in found], method, now)
           for row, found in enumerate(most_similar(centroids, incidence, k))]
    with engine.begin() as connection:
        store.replace_similar(connection, out)
    say(f"similar authors ({method}) for {len(out):,} identities")
    return {"method": method, "identities": len(out)}
