""""Recommended for you": a per-user linear model over the paper embeddings, as arxiv-sanity does
per tag. The user's saved papers are the positives, the other candidate papers the negatives; a
linear SVM (class-balanced) learns the direction of the user's taste and ranks the unsaved
candidates by its decision value. Each recommendation is explained by the saved papers it is
closest to (cosine similarity of the embeddings): the papers the model learned from.

The candidates (the newest embedded papers) and their vectors are gathered once per process and
kept until the active generation's vector files change (`candidate_pool`): only those rows are read
from the memory-mapped vector files, never the whole set (a served worker holds 50,000 vectors, not
every paper's). A request reads the user's saved ids; the model is fitted once per library and pool,
and a fit reads the saved papers' vectors, fits the SVM and scores the pool, nothing row by row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.services import accounts
from paperscope.services.cards import build_cards
from paperscope.store import browse as browse_store
from paperscope.store import generations, vector_files
from paperscope.store import users as store
from paperscope.store.generations import Generation

CANDIDATES = 50_000  # the newest embedded papers the model ranks (and draws its negatives from)
NEGATIVES = 10_000  # negatives sampled from the candidates at most
C = 0.1
EXPLAIN = 3
SEED = 7


def recommend(engine: Engine, user_id: int, limit: int = 20, today: date | None = None) -> dict[str, Any]:
    """{"papers": [card + "because": [{id, title, similarity}]], "model": {...}, "notes": [...]}"""
    saved = accounts.saved_ids(engine, user_id)
    out: dict[str, Any] = {"papers": [], "model": None, "notes": []}
    if not saved:
        out["notes"].append("save papers to get recommendations: the model learns from your saved papers")
        return out
    with engine.connect() as connection:
        generation = generations.active_generation(connection)
    if generation is None:
        out["notes"].append("the store has no paper embeddings yet: run paperscope score")
        return out
    pool = candidate_pool(engine, generation)
    saved_set = set(saved)
    # The pool less the user's saved papers, as row numbers: the pool's matrix is never copied.
    keep = np.fromiter((pid not in saved_set for pid in pool.ids), dtype=bool, count=len(pool.ids))
    cand_rows = np.flatnonzero(keep)
    key = (pool.files, tuple(saved), limit)
    ranked = _rankings.get(key)
    if ranked is None:
        # One fit at a time per process: each holds a copy of its negatives and scores every
        # candidate, so concurrent first visits would multiply the worker's memory; a reader
        # waiting here finds the ranking another thread just fitted for the same library.
        with _fitting:
            ranked = _rankings.get(key)
            if ranked is None:
                pos_ids, pos = vector_files.read_rows(generation.folder, generation.dim, saved)
                ranked = _rank(engine, pool, pos_ids, pos, keep, cand_rows, limit)
                with _pool_lock:
                    _rankings[key] = ranked
                    while len(_rankings) > RANKINGS_KEPT:
                        _rankings.popitem(last=False)
    if not ranked.positives:
        out["notes"].append("none of your saved papers has an embedding yet: run paperscope score")
        return out
    if len(cand_rows) == 0:
        out["notes"].append("no other embedded papers to recommend")
        return out
    by_id = {c.id: c for c in build_cards(engine, [pid for pid, _, _ in ranked.chosen], today)}
    for pid, model_score, because in ranked.chosen:
        if pid in by_id:
            out["papers"].append({**by_id[pid].as_dict(), "model_score": model_score, "because": because})
    out["model"] = {"kind": "linear SVM (class-balanced) on paper embeddings", "embedder": generation.embedder,
                    "embedder_version": generation.version, "embedder_generation": generation.id,
                    "positives": ranked.positives, "negatives": ranked.negatives,
                    "candidates": len(cand_rows), "C": C}
    return out


@dataclass(frozen=True)
class Ranking:
    """A reader's recommendations for one library and one candidate pool: (id, model score, the saved
    papers it is closest to) best first, and the negatives the model was fitted on."""

    chosen: list[tuple[str, float, list[dict[str, Any]]]]
    negatives: int
    positives: int


# The same library over the same pool ranks the same papers: fitted once per (pool, library, limit).
RANKINGS_KEPT = 256
_rankings: OrderedDict[tuple[Any, ...], Ranking] = OrderedDict()
_fitting = threading.Lock()


def _rank(engine: Engine, pool: CandidatePool, pos_ids: list[str], pos: np.ndarray, keep: np.ndarray,
          cand_rows: np.ndarray, limit: int) -> Ranking:
    """Fit the reader's model (saved papers against sampled candidates) and rank the candidates."""
    if not pos_ids or not len(cand_rows):
        return Ranking([], 0, len(pos_ids))
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(SEED)
    neg_rows = rng.choice(cand_rows, size=min(NEGATIVES, len(cand_rows)), replace=False)
    x = np.vstack([pos, pool.matrix[neg_rows]])
    y = np.concatenate([np.ones(len(pos_ids)), np.zeros(len(neg_rows))])
    svm = LinearSVC(C=C, class_weight="balanced", max_iter=10_000, tol=1e-5)
    svm.fit(x, y)
    scores = svm.decision_function(pool.matrix)
    scores[~keep] = -np.inf  # a saved paper is never recommended back
    top = np.argsort(-scores, kind="stable")[:min(limit, len(cand_rows))]
    sims = _unit(pool.matrix[top]) @ _unit(pos).T  # candidates x saved
    with engine.connect() as connection:
        titles = {r["id"]: r["title"] for r in browse_store.papers_by_ids(connection, pos_ids)}
    chosen = []
    for row, i in enumerate(top):
        order = np.argsort(-sims[row], kind="stable")[:EXPLAIN]
        because = [{"id": pos_ids[j], "title": titles.get(pos_ids[j], pos_ids[j]),
                    "similarity": round(float(sims[row, j]), 3)} for j in order]
        chosen.append((pool.ids[i], round(float(scores[i]), 4), because))
    return Ranking(chosen, int(len(neg_rows)), len(pos_ids))


@dataclass(frozen=True)
class CandidatePool:
    """The newest embedded papers (at most CANDIDATES) and their vectors, as one contiguous matrix."""

    files: tuple[int, tuple[str, ...]]  # the generation and its vector files it was read from
    ids: list[str]
    matrix: np.ndarray


_pools: dict[int, CandidatePool] = {}
_pool_lock = threading.Lock()


def candidate_pool(engine: Engine, generation: Generation) -> CandidatePool:
    """The generation's candidate pool, rebuilt only when its vector files change (a paper is a
    candidate once it has a vector, and vectors arrive with new files): once per process and
    vector version, a bounded index read of the newest ids and one gather of their rows."""
    key = (generation.id, vector_files.list_files(generation.folder))
    pool = _pools.get(generation.id)
    if pool is not None and pool.files == key:
        return pool
    with _pool_lock:
        pool = _pools.get(generation.id)
        if pool is not None and pool.files == key:
            return pool
        with engine.connect() as connection:
            # Twice as many as needed: some of the newest papers may have no vector yet.
            newest = store.newest_paper_ids(connection, CANDIDATES * 2)
        ids, matrix = vector_files.read_rows(generation.folder, generation.dim, newest)
        pool = CandidatePool(key, ids[:CANDIDATES], np.ascontiguousarray(matrix[:CANDIDATES]))
        _pools.clear()  # only the active generation's pool is kept
        _pools[generation.id] = pool
        return pool


def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)
