"""The scores recomputed from each embedder generation's vectors on the fixture store: the AI Score
model card (Spearman and NDCG@20 per count source), Novelty's agreement between generations, and
the category classifier's card.

The stores are bench/judged_set.py's (every listing and recorded fixture, ingested once into
BENCH_JUDGED_DIR, one copy per embedder of BENCH_SCORE_EMBEDDERS, default tfidf,minilm, whose
generation is the only and active one; built here when absent). `services.scores.run_scores` runs on
each copy as `paperscope score` does (nothing to embed when the copy was indexed already), as of the
year BENCH_SCORE_AS_OF (default 2026, the year the documented model card was measured in).
Novelty agreement: Spearman rank correlation of the percentiles over the papers that have one under
both generations, and the share of one's top decile in the other's top decile.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, write_result  # noqa: E402
from judged_set import Clock, base_store, embedder_store  # noqa: E402
from novelty_agreement import _agreement  # noqa: E402


def vector_classifier(engine) -> dict[str, float | int]:  # type: ignore[no-untyped-def]
    """Held-out accuracy of a logistic regression on the active generation's vectors, on the category
    classifier's own split (the same papers, classes and seed): would the vectors classify better than
    the classifier's words?"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from paperscope.analytics import categories
    from paperscope.store import generations
    from paperscope.store import scores as score_store

    with engine.connect() as connection:
        rows = score_store.list_texts(connection)
    labels = [r["primary_category"] for r in rows]
    idx = np.flatnonzero(categories._trainable(labels, categories.MIN_PER_CLASS))
    train, test = train_test_split(idx, test_size=0.2, random_state=0, stratify=[labels[i] for i in idx])
    ids, matrix = generations.vectors_for(engine, [rows[i]["id"] for i in idx])
    vector = dict(zip(ids, matrix, strict=True))
    if any(rows[i]["id"] not in vector for i in idx):
        raise SystemExit("a categorised paper has no vector in the active generation")
    model = LogisticRegression(max_iter=2000).fit(np.stack([vector[rows[i]["id"]] for i in train]),
                                                  [labels[i] for i in train])
    predicted = model.predict(np.stack([vector[rows[i]["id"]] for i in test]))
    return {"n_test": len(test), "accuracy": float(np.mean(predicted == np.array([labels[i] for i in test])))}


def main() -> int:
    from sqlalchemy import text

    from paperscope.services import scores

    folder = Path(os.environ.get("BENCH_JUDGED_DIR", str(CACHE / "judged")))
    names = [n for n in os.environ.get("BENCH_SCORE_EMBEDDERS", "tfidf,minilm").split(",") if n]
    as_of = int(os.environ.get("BENCH_SCORE_AS_OF", "2026"))
    base, _ = base_store(folder)
    raw: dict[str, Any] = {"as_of_year": as_of, "generations": {}}
    novelty: dict[str, dict[str, float | None]] = {}
    for name in names:
        engine, data_dir, _ = embedder_store(folder, base, name)
        clock = Clock()
        summary = scores.run_scores(engine, name, data_dir=data_dir, as_of_year=as_of)
        took = clock.read()
        cards = scores.model_cards(engine)
        with engine.connect() as connection:
            ids = [row[0] for row in connection.execute(text("SELECT id FROM papers"))]
        fields = scores.score_fields(engine, ids)
        novelty[name] = {pid: f["novelty"] for pid, f in fields.items()}
        ai, category = cards["ai_score"] or {}, cards["category"] or {}
        raw["generations"][name] = {
            "generation": f"{summary.embedder} {summary.version}", "run": took, "stages_s": summary.seconds,
            "embedded": summary.embedded, "novelty_pct": summary.novelty_pct,
            "ai_score": {"status": ai.get("status"), "n_labelled": ai.get("n_labelled"),
                         "evaluation": ai.get("evaluation")},
            "category": {"status": category.get("status"), "held_out": category.get("held_out"),
                         "listing_check": category.get("listing_check"),
                         "on_the_vectors": vector_classifier(engine)},
        }
        print(name, json.dumps(raw["generations"][name]["ai_score"]["evaluation"], default=str)[:600], flush=True)
        engine.dispose()

    rows: list[list[str]] = []
    for g in raw["generations"].values():
        ev = g["ai_score"]["evaluation"] or {}
        parts = [("all", ev)] + sorted((ev.get("by_label_source") or {}).items())
        for source, r in parts:
            if not r:
                continue
            n = r.get("n", ev.get("test", {}).get("n"))
            rows.append([g["generation"], f"AI Score, test set: {source}", f"{n:,}",
                         f"{r['spearman']:.2f}" if r.get("spearman") is not None else "–",
                         f"{r['ndcg@20']:.2f}" if r.get("ndcg@20") is not None else "–",
                         f"{r['ndcg@20_random']:.2f}" if r.get("ndcg@20_random") is not None else "–"])
        held = g["category"]["held_out"] or {}
        if held:
            rows.append([g["generation"], "category classifier, held-out accuracy (TF-IDF words: no vectors)",
                         f"{held.get('n_test', '')}", "", f"{held['accuracy']:.2f}", ""])
        alt = g["category"]["on_the_vectors"]
        rows.append([g["generation"], "logistic regression on the vectors instead, same split",
                     f"{alt['n_test']}", "", f"{alt['accuracy']:.2f}", ""])
    if len(names) == 2:
        a, b = names
        ids = sorted(set(novelty[a]) & set(novelty[b]))
        x = np.array([np.nan if novelty[a][i] is None else novelty[a][i] for i in ids], dtype=float)
        y = np.array([np.nan if novelty[b][i] is None else novelty[b][i] for i in ids], dtype=float)
        agreement = _agreement(x, y)
        raw["novelty_agreement"] = {"between": [a, b], **agreement}
        rows.append([f"{a} vs {b}", "Novelty percentiles: Spearman (papers with one under both)",
                     f"{agreement['papers']:,}", f"{agreement['spearman']:.3f}", "", ""])
        rows.append([f"{a} vs {b}", "Novelty: share of the top decile shared", f"{agreement['papers']:,}",
                     f"{agreement['top_decile_shared']:.2f}", "", ""])
    notes = [
        "The fixture store of the judged set (every listing and recorded fixture; papers with an abstract are "
        f"the ones Novelty ranks), scored by services.scores.run_scores as of {as_of} with each generation active.",
        "AI Score rows: the model card's time split (newest 20% of each count source's labelled papers tested); "
        "the NDCG column is NDCG@20, the last its random ranking's. The features that change with the generation "
        "are the top 16 principal components of the paper's vector; the others are the same facts.",
        "Run time per generation (CPU s, wall s, load): "
        + "; ".join(f"{n}: {g['run']['cpu_s']:.0f} CPU s, {g['run']['wall_s']:.0f} s wall, load {g['run']['load']}"
                    for n, g in raw["generations"].items()) + ".",
    ]
    write_result("score_generations", title="Scores from each embedder generation (fixture store)",
                 command="bench/run.sh score_generations",
                 columns=["generation", "measure", "n", "Spearman", "NDCG@20 / accuracy", "NDCG@20, random"],
                 rows=rows, notes=notes, raw=raw)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
