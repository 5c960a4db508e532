"""Related papers ranked by measurement: MiniLM vectors alone (dense), BM25 over all of the paper's
terms (the keyword index's `related` query), or the two fused by reciprocal rank fusion.

The same sample of the AAN citation graph as bench/minilm_runtime.py (BENCH_RUNTIME_QUERIES query
papers in a subset of BENCH_RUNTIME_PAPERS, titles only), the same MiniLM (torch, 256 pieces)
vectors, cached there (computed when absent). Each method ranks the BENCH_RELATED_DEPTH (default
1,000) best papers per query; MAP over that depth (a relevant paper outside it counts as not
found), nDCG@10, and the share of the 10 first with the query's venue. Fusion weights and k are
chosen on the even-numbered queries and reported on the odd-numbered ones (held out), so the
choice is not fitted to the figures that justify it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, write_result  # noqa: E402
from embeddings import AAN  # noqa: E402

KEYWORD_WEIGHTS = (0.25, 0.5, 1.0, 2.0)  # BM25's weight beside the dense ranking's 1.0
FUSION_KS = (10, 60)


def main() -> int:
    from paperscope.analytics import evaluation as ev
    from paperscope.analytics.embedders import MiniLMEmbedder, TfidfSvdEmbedder
    from paperscope.index.lexical import index_rows

    cache = Path(os.environ.get("BENCH_RUNTIME_CACHE", str(CACHE / "runtime")))
    queries_n = int(os.environ.get("BENCH_RUNTIME_QUERIES", "1000"))
    papers_n = int(os.environ.get("BENCH_RUNTIME_PAPERS", "3500"))
    depth = int(os.environ.get("BENCH_RELATED_DEPTH", "1000"))
    load_start = os.getloadavg()
    full = ev.load_aan(AAN)
    corpus, queries = ev.subset(full, ev.sample_queries(full, queries_n), papers_n)
    path = cache / f"aan-{len(corpus)}-{queries_n}-torch.npy"
    if path.is_file():
        vectors = np.load(path)
    else:
        cache.mkdir(parents=True, exist_ok=True)
        vectors = ev.embed_corpus(MiniLMEmbedder().embed, corpus, batch=512)
        np.save(path, vectors)
    cocites = ev.cocited(corpus)
    raw: dict[str, dict] = {"corpus": {"papers": len(corpus), "queries": len(queries), "depth": depth}}

    cpu, wall = time.process_time(), time.perf_counter()
    dense = ev.dense_lists(vectors, queries, depth)
    raw["dense_cpu_s"] = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        rows = ({"id": str(i), "title": text} for i, text in enumerate(corpus.texts))
        index = index_rows(Path(tmp) / "lexical", rows)
        cpu, wall = time.process_time(), time.perf_counter()
        bm25 = [[int(pid) for pid, _ in index.related(corpus.texts[int(q)], depth + 1) if int(pid) != int(q)][:depth]
                for q in queries]
        raw["bm25_cpu_s"] = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
        del index

    def measure(ranked: list[list[int]], rows: np.ndarray) -> dict[str, float]:
        chosen = [ranked[i] for i in rows]
        qs = queries[rows]
        cite = ev.list_scores(chosen, qs, corpus.cites, len(corpus) - 1)
        cocite = ev.list_scores(chosen, qs, cocites, len(corpus) - 1)
        return {"cite_map": cite.map, "cite_ndcg10": cite.ndcg_at_10, "cocite_map": cocite.map,
                "cocite_ndcg10": cocite.ndcg_at_10, "cocite_queries": cocite.queries,
                "venue_at10": ev.list_label_share(chosen, qs, corpus.labels)}

    every = np.arange(len(queries))
    even, odd = every[0::2], every[1::2]
    methods: dict[str, list[list[int]]] = {"dense (MiniLM)": dense, "BM25, all terms": bm25}
    for k in FUSION_KS:
        for w in KEYWORD_WEIGHTS:
            methods[f"fused: dense 1 + BM25 {w:g}, k={k}"] = [
                ev.fuse_lists([d, b], [1.0, w], k)[:depth] for d, b in zip(dense, bm25, strict=True)]
    for name, ranked in methods.items():
        raw[name] = {"all": measure(ranked, every), "choose": measure(ranked, even), "held_out": measure(ranked, odd)}
        print(name, json.dumps(raw[name]["all"]), flush=True)
    # The same with TF-IDF + SVD vectors (fitted on the sample's texts): does the choice hold for a weaker embedder?
    tfidf = ev.dense_lists(TfidfSvdEmbedder().fit(corpus.texts).embed(corpus.texts), queries, depth)
    weaker = {"TF-IDF: dense alone": tfidf}
    for dense_w, bm25_w in ((1.0, 0.5), (0.5, 1.0)):
        weaker[f"TF-IDF: fused dense {dense_w:g} + BM25 {bm25_w:g}, k=10"] = [
            ev.fuse_lists([d, b], [dense_w, bm25_w], 10)[:depth] for d, b in zip(tfidf, bm25, strict=True)]
    for name, ranked in weaker.items():
        raw[name] = {"all": measure(ranked, every), "choose": measure(ranked, even), "held_out": measure(ranked, odd)}
        print(name, json.dumps(raw[name]["all"]), flush=True)
    fusions = [name for name in methods if name.startswith("fused")]
    best = max(fusions, key=lambda name: raw[name]["choose"]["cite_map"])
    raw["chosen_fusion"] = {"name": best}
    winner = max(["dense (MiniLM)", "BM25, all terms", best], key=lambda name: raw[name]["choose"]["cite_map"])
    raw["winner"] = {"name": winner}

    def row(name: str, part: str) -> list[str]:
        r = raw[name][part]
        return [name, f"{r['cite_map']:.3f}", f"{r['cite_ndcg10']:.3f}", f"{r['cocite_map']:.3f}",
                f"{r['cocite_ndcg10']:.3f}", f"{r['venue_at10']:.3f}"]

    rows = [row(name, "held_out") for name in ("dense (MiniLM)", "BM25, all terms", best)]
    rows += [[f"(all {len(queries):,} queries) {r[0]}", *r[1:]] for r in
             (row(name, "all") for name in [*methods, *weaker])]
    notes = [
        f"{len(queries):,} query papers of the AAN citation graph in a subset of {len(corpus):,} papers (titles only), "
        f"the same sample and MiniLM vectors as the MiniLM runtimes section; each method ranks {depth:,} papers per "
        "query; MAP over that depth.",
        f"The first three rows are the {len(odd):,} held-out (odd-numbered) queries; the fusion shown there, {best}, "
        f"was chosen on the {len(even):,} even-numbered ones by cite MAP. Best on the choosing half: {winner}.",
        f"CPU: dense rankings {raw['dense_cpu_s']['cpu_s']:.1f} CPU s, BM25 {raw['bm25_cpu_s']['cpu_s']:.1f} CPU s for "
        f"all queries; load average {load_start[0]:.1f} at the start.",
        "TF-IDF rows: the same rankings from TF-IDF + SVD 256 vectors fitted on the sample's titles, the fusion "
        "led by the dense ranking (MiniLM's choice) and by BM25 (the judged set's weights).",
    ]
    write_result("related_ranking", title="Related papers: dense, BM25 over all terms, or fused",
                 command="bench/run.sh related_ranking",
                 columns=["ranking", "cite MAP", "cite nDCG@10", "co-cite MAP", "co-cite nDCG@10", "venue@10"],
                 rows=rows, notes=notes, raw=raw)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
