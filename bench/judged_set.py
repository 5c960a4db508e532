"""The judged query set (tests/data/search/judged.jsonl) measured per embedder: nDCG@10 of keyword,
semantic and hybrid search, the hybrid fusion's parameters, and the pasted abstract.

The store is the one tests/search/test_judged_set.py builds (every listing and recorded fixture of
../shared, SQLite), ingested once into BENCH_JUDGED_DIR (default bench/.cache/judged) and copied for
each embedder of BENCH_JUDGED_EMBEDDERS (default tfidf,minilm,model2vec), whose generation is the only
and active one (`search.build_indexes`), so each embedder is measured alone on the same papers.

Hybrid's fusion (reciprocal rank fusion: RRF_K, and RRF_WEIGHTS or the embedder's HYBRID_WEIGHTS, in
services/search.py) is measured over a grid on the typed queries (every query but the pasted abstract),
chosen on the even-numbered queries and checked on the odd ones, as the defaults were chosen. The
pasted abstract is measured in each mode and, in hybrid, with both fusions search knows (the typed
queries' one over its 32 rarest terms, and the related-paper one over all its terms led by the dense
ranking).

Pooling: a paper no judged run returned was never judged and counts as not relevant. The pool is the
top 10 of the three modes with TF-IDF vectors and, since the MiniLM default, with MiniLM vectors
(docs/search.md says how each was judged); each run's top 10 lists are in the raw figures, so what a
new embedder or fusion brings that the pool lacks can be listed and judged.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, ROOT, write_result  # noqa: E402

SHARED = ROOT.parent / "shared"
JUDGED = ROOT / "tests" / "data" / "search" / "judged.jsonl"
GRID_KS = (10, 60)
GRID_SEMANTIC_WEIGHTS = (0.3, 0.5, 1.0, 2.0)  # beside keyword's 1.0


class Clock:
    """CPU seconds of this process (all its threads) and wall seconds of a step."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def read(self) -> dict[str, float]:
        return {"cpu_s": round(time.process_time() - self.cpu, 1), "wall_s": round(time.perf_counter() - self.wall, 1),
                "load": round(os.getloadavg()[0], 1)}


def base_store(folder: Path) -> tuple[Path, dict[str, float] | None]:
    """The fixture store, ingested once (None: it was there already)."""
    from paperscope.ingest.pipeline import run_ingest
    from paperscope.services.demo import fixture_plans, listing_plans
    from paperscope.store.engine import open_engine
    from paperscope.store.migrate import upgrade

    db = folder / "base" / "paperscope.db"
    if db.is_file():
        return db, None
    clock = Clock()
    work = db.with_suffix(".partial")
    work.parent.mkdir(parents=True, exist_ok=True)
    work.unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{work}")
    upgrade(engine)
    for plan in listing_plans(SHARED) + fixture_plans(SHARED):
        run_ingest(engine, plan.source, plan.target, plan.batches)
    engine.dispose()
    work.replace(db)
    took = clock.read()
    lexical_index(db)
    return db, took


def lexical_index(db: Path) -> Path:
    """The keyword index of the base store, built once and copied into every embedder's copy: tantivy
    breaks ties in BM25 score by where a document sits in its segments, which differs from one build
    to the next, so separate builds would give the embedders different keyword rankings."""
    from paperscope.index.lexical import LexicalIndex, update_lexical
    from paperscope.store.engine import open_engine

    folder = db.parent / "index" / "lexical"
    if not LexicalIndex.exists(folder):
        engine = open_engine(f"sqlite:///{db}")
        update_lexical(engine, folder)
        engine.dispose()
    return folder


def embedder_store(folder: Path, base: Path, name: str):  # type: ignore[no-untyped-def]
    """A copy of the fixture store whose only generation is `name`'s, with both indexes built."""
    from paperscope.services import search
    from paperscope.store.engine import open_engine
    from paperscope.store.migrate import upgrade

    data_dir = folder / name
    db = data_dir / "paperscope.db"
    if not (data_dir / "built").is_file():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        shutil.copyfile(base, db)
    shutil.rmtree(data_dir / "index" / "lexical", ignore_errors=True)
    shutil.copytree(lexical_index(base), data_dir / "index" / "lexical")
    engine = open_engine(f"sqlite:///{db}")
    upgrade(engine)
    if (data_dir / "built").is_file():  # built by an earlier run: its build figures stand
        return engine, data_dir, json.loads((data_dir / "built").read_text())
    clock = Clock()
    summary = search.build_indexes(engine, data_dir, name)
    if summary.semantic_skipped or summary.query_model_problem:
        raise SystemExit(f"{name}: {summary.semantic_skipped or summary.query_model_problem}")
    built = {**clock.read(), "embedded": summary.embedded}
    (data_dir / "built").write_text(json.dumps(built))
    return engine, data_dir, built


@contextmanager
def fusion(k: int | None = None, weights: dict[str, float] | None = None,
           related: dict[str, dict[str, float]] | None = None) -> Iterator[None]:
    """Search with other fusion parameters for the duration (module constants read per query)."""
    from paperscope.services import search

    saved = search.RRF_K, search.RRF_WEIGHTS, search.HYBRID_WEIGHTS, search.RELATED_WEIGHTS
    search.RRF_K = search.RRF_K if k is None else k
    if weights is not None:  # the same weights for every embedder
        search.RRF_WEIGHTS, search.HYBRID_WEIGHTS = weights, {}
    search.RELATED_WEIGHTS = search.RELATED_WEIGHTS if related is None else related
    try:
        yield
    finally:
        search.RRF_K, search.RRF_WEIGHTS, search.HYBRID_WEIGHTS, search.RELATED_WEIGHTS = saved


def top10(searcher: Any, judged: list[dict[str, Any]], mode: str) -> list[list[str]]:
    return [[h.paper_id for h in searcher.search(item["query"], mode, limit=10).hits] for item in judged]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def measure(searcher: Any, judged: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    from paperscope.services.search import ndcg_at_k

    ranked = top10(searcher, judged, mode)
    per_query = [ndcg_at_k(r, item["relevant"]) for r, item in zip(ranked, judged, strict=True)]
    return {"per_query": per_query, "top10": ranked}


def main() -> int:
    from paperscope.index.lexical import is_pasted_text
    from paperscope.services import search

    folder = Path(os.environ.get("BENCH_JUDGED_DIR", str(CACHE / "judged")))
    names = [n for n in os.environ.get("BENCH_JUDGED_EMBEDDERS", "tfidf,minilm,model2vec").split(",") if n]
    if not (SHARED / "fixtures").is_dir():
        raise SystemExit(f"../shared/fixtures not found at {SHARED}: the judged store cannot be built")
    judged = [json.loads(line) for line in JUDGED.read_text().splitlines()]
    pasted = [i for i, item in enumerate(judged) if is_pasted_text(item["query"])]
    typed = [i for i in range(len(judged)) if i not in pasted]
    base, ingest = base_store(folder)
    raw: dict[str, Any] = {"queries": len(judged), "pasted": [judged[i]["query"][:60] for i in pasted],
                           "ingest": ingest, "embedders": {}}
    for name in names:
        engine, data_dir, built = embedder_store(folder, base, name)
        searcher = search.Searcher(engine, data_dir)
        gen = searcher.generation
        clock = Clock()
        out: dict[str, Any] = {"generation": f"{gen.embedder} {gen.version}", "build": built, "modes": {}}
        for mode in search.MODES:
            out["modes"][mode] = measure(searcher, judged, mode)
        out["grid"] = {}
        for k in GRID_KS:
            for w in GRID_SEMANTIC_WEIGHTS:
                with fusion(k, {"keyword": 1.0, "semantic": w}):
                    scores = measure(searcher, [judged[i] for i in typed], "hybrid")["per_query"]
                by_index = dict(zip(typed, scores, strict=True))
                out["grid"][f"k={k} w_semantic={w:g}"] = {
                    "k": k, "w_semantic": w, "typed": mean(scores),
                    "even": mean([s for i, s in by_index.items() if i % 2 == 0]),
                    "odd": mean([s for i, s in by_index.items() if i % 2 == 1])}
        # The pasted abstract in hybrid: ranked as typed queries are, and as related papers are (all its
        # terms, the dense ranking leading), whichever the embedder's default is.
        lead = {"keyword": 0.5, "semantic": 1.0}
        pasted_items = [judged[i] for i in pasted]
        with fusion(related={}):
            as_typed = measure(searcher, pasted_items, "hybrid")["per_query"]
        with fusion(related={gen.embedder: lead}):
            as_related = measure(searcher, pasted_items, "hybrid")["per_query"]
        out["pasted"] = {"hybrid as typed (32 rarest terms, the typed queries' weights)": mean(as_typed),
                         "hybrid as related papers (all terms, semantic 1 + keyword 0.5)": mean(as_related),
                         "default": "related" if searcher.dense_leads() else "typed"}
        out["evaluate"] = clock.read()
        raw["embedders"][name] = out
        print(name, json.dumps({m: mean(r["per_query"]) for m, r in out["modes"].items()}), flush=True)
        engine.dispose()

    rows: list[list[str]] = []
    for name, out in raw["embedders"].items():
        for mode, r in out["modes"].items():
            scores = r["per_query"]
            rows.append([name, mode, f"{mean(scores):.3f}", f"{mean([scores[i] for i in typed]):.3f}",
                         f"{mean([scores[i] for i in typed if i % 2 == 0]):.3f}",
                         f"{mean([scores[i] for i in typed if i % 2 == 1]):.3f}",
                         " ".join(f"{scores[i]:.3f}" for i in pasted)])
        for label, g in out["grid"].items():
            rows.append([name, f"hybrid {label}", "", f"{g['typed']:.3f}", f"{g['even']:.3f}", f"{g['odd']:.3f}", ""])
        for label, value in out["pasted"].items():
            if label != "default":
                rows.append([name, f"pasted abstract: {label}", "", "", "", "", f"{value:.3f}"])
    notes = [
        f"{len(judged)} judged queries ({len(typed)} typed, {len(pasted)} pasted abstract) over the store of every "
        "listing and recorded fixture; nDCG@10, gain 2^grade - 1. Each embedder's store is a copy of the same "
        "ingested store with that embedder's generation the only one.",
        "Mode rows use search's defaults: hybrid = RRF k 10 for typed queries, keyword 1 + semantic 0.5 (TF-IDF) or "
        "1 + 1 (MiniLM, HYBRID_WEIGHTS); with MiniLM the pasted abstract in hybrid is ranked as related papers are "
        "(all its terms, semantic 1 + keyword 0.5).",
        "Grid rows: hybrid on the typed queries with keyword weight 1 and the semantic weight and k shown; chosen on "
        "the even-numbered queries, checked on the odd ones.",
        "Judgements: the pool of the three modes' top 10 with TF-IDF vectors (2026-11-25) and with MiniLM vectors "
        "(2026-12-07); a paper outside it counts as not relevant.",
        "Build and evaluation CPU/wall seconds and load are in the raw figures; "
        + "; ".join(f"{n}: indexes {o['build']['cpu_s']:.0f} CPU s ({o['build']['wall_s']:.0f} s wall, "
                    f"{o['build']['embedded']:,} papers embedded), evaluation {o['evaluate']['cpu_s']:.0f} CPU s"
                    for n, o in raw["embedders"].items()) + ".",
    ]
    write_result("judged_set", title="Search quality: the judged query set per embedder",
                 command="bench/run.sh judged_set",
                 columns=["embedder", "mode", "nDCG@10 (all)", "typed queries", "even", "odd", "pasted abstract"],
                 rows=rows, notes=notes, raw=raw)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
