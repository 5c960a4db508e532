""""Recommended for you": a per-user linear model over the paper embeddings, as arxiv-sanity does
per tag. The user's saved papers are the positives, the other candidate papers the negatives; a
linear SVM (class-balanced) learns the direction of the user's taste and ranks the unsaved
candidates by its decision value. Each recommendation is explained by the saved papers it is
closest to (cosine similarity of the embeddings): the papers the model learned from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.services import accounts
from paperscope.services.cards import build_cards
from paperscope.store import browse as browse_store
from paperscope.store import generations
from paperscope.store import users as store

CANDIDATES = 50_000  # the newest embedded papers the model ranks (and draws its negatives from)
NEGATIVES = 10_000  # negatives sampled from the candidates at most
C = 0.1
EXPLAIN = 3
SEED = 7


def recommend(engine: Engine, user_id: int, limit: int = 20, today: date | None = None) -> dict[str, Any]:
    """{"papers": [card + "because": [{id, title, similarity}]], "model": {...}, "notes": [...]}"""
    from sklearn.svm import LinearSVC

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
        recent = store.recent_paper_ids(connection, None, CANDIDATES * 2)
    pos_ids, pos = generations.vectors_for(engine, saved, generation)
    saved_set = set(saved)
    cand_ids, cand = generations.vectors_for(engine, [p for p in recent if p not in saved_set], generation)
    cand_ids, cand = cand_ids[:CANDIDATES], cand[:CANDIDATES]
    if len(pos_ids) == 0:
        out["notes"].append("none of your saved papers has an embedding yet: run paperscope score")
        return out
    if len(cand_ids) == 0:
        out["notes"].append("no other embedded papers to recommend")
        return out
    rng = np.random.default_rng(SEED)
    neg_rows = rng.choice(len(cand_ids), size=min(NEGATIVES, len(cand_ids)), replace=False)
    x = np.vstack([pos, cand[neg_rows]])
    y = np.concatenate([np.ones(len(pos_ids)), np.zeros(len(neg_rows))])
    svm = LinearSVC(C=C, class_weight="balanced", max_iter=10_000, tol=1e-5)
    svm.fit(x, y)
    scores = svm.decision_function(cand)
    top = np.argsort(-scores, kind="stable")[:limit]
    chosen = [cand_ids[i] for i in top]
    sims = _unit(cand[top]) @ _unit(pos).T  # candidates x saved
    with engine.connect() as connection:
        titles = {r["id"]: r["title"] for r in browse_store.papers_by_ids(connection, pos_ids)}
    by_id = {c.id: c for c in build_cards(engine, chosen, today)}
    for row, pid in enumerate(chosen):
        if pid not in by_id:
            continue
        order = np.argsort(-sims[row], kind="stable")[:EXPLAIN]
        because = [{"id": pos_ids[j], "title": titles.get(pos_ids[j], pos_ids[j]),
                    "similarity": round(float(sims[row, j]), 3)} for j in order]
        out["papers"].append({**by_id[pid].as_dict(), "model_score": round(float(scores[top[row]]), 4),
                              "because": because})
    out["model"] = {"kind": "linear SVM (class-balanced) on paper embeddings", "embedder": generation.embedder,
                    "embedder_version": generation.version, "embedder_generation": generation.id,
                    "positives": len(pos_ids), "negatives": int(len(neg_rows)),
                    "candidates": len(cand_ids), "C": C}
    return out


def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)
