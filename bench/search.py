"""Search: index build time and size, query latency and semantic recall on synthetic papers.

1. Keyword: the tantivy index paperscope builds (same documents, same query path) over
   BENCH_SEARCH_N synthetic papers (default 1,000,000; the generator's Zipfian vocabulary), built
   from the generated records (the store read that feeds it in `paperscope index` is not timed).
   Latency of top-10 queries: "typical" (two or three words of document frequency 0.01-1%) and
   "very common" (one word in over 20% of the papers). bm25s and SQLite FTS5 bm25() are measured on
   the first BENCH_SEARCH_OTHERS_N papers (default 200000; 0 skips them).
2. Semantic: BENCH_SEARCH_N vectors drawn around the real TF-IDF + SVD embeddings of the seed
   abstracts (see semantic_inputs: the made-up words have no topics to cluster), the hnswlib HNSW
   index built (M=16, ef_construction=100, 2 threads), lookups at ef 32/64/128; recall@10 against
   exact (numpy) search; end to end = encoding a few real words + the lookup.
   BENCH_SEARCH_ANN_N (default 200000) compares hnswlib, usearch and faiss HNSW on a prefix.
3. Hybrid: keyword + encoding + lookup + reciprocal rank fusion of the top 100 of each (the store
   read of the result cards is not included).
BENCH_SEARCH_REUSE=1 keeps the indexes of a previous run at the same size (with its build, keyword
alternatives and ANN comparison rows) and measures the queries again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, RESULTS, peak_rss_mib, write_result  # noqa: E402

NAME = "search"
VECTORS_VERSION = 2  # how semantic_inputs draws the vectors (1: one seed plus noise; 2: blends of two)
SEED = 20240601
QUERIES = 300


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def records(n: int) -> list[dict]:
    from paperscope.sources.synthetic import write_snapshot

    lines = CACHE / f"snapshot-{n}-seed{SEED}.jsonl"
    if not lines.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        write_snapshot(lines.with_suffix(".partial"), n, seed=SEED).rename(lines)
    rows = []
    with lines.open("rb") as handle:
        for line in handle:
            r = orjson.loads(line)
            cats = (r.get("categories") or "").split()
            rows.append({
                "id": f"arXiv:{r['id']}",
                "title": " ".join(r["title"].split()),
                "abstract": " ".join(r["abstract"].split()),
                "authors": [" ".join(reversed([x for x in a[:2] if x])) for a in r.get("authors_parsed", [])],
                "primary_category": cats[0] if cats else None,
                "categories": cats,
                "published": (r.get("update_date") or "")[:10] or None,
                "has_code": "github.com" in r["abstract"],
            })
    return rows


def build_lexical(rows: list[dict], folder: Path) -> float:
    from paperscope.index.lexical import (
        BUILD_HEAP_BYTES,
        SCHEMA_VERSION,
        WRITER_THREADS,
        LexicalIndex,
        _document,
        _write_state,
    )

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    index = LexicalIndex(folder)
    writer = index.index.writer(heap_size=BUILD_HEAP_BYTES, num_threads=WRITER_THREADS)
    for row in rows:
        writer.add_document(_document(row))
    writer.commit()
    writer.wait_merging_threads()
    del writer
    seconds = time.perf_counter() - started
    _write_state(folder, {"schema_version": SCHEMA_VERSION, "docs": len(rows)})
    return seconds


def pick_terms(index, rows: list[dict], n: int) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    from paperscope.index.lexical import analyse

    rng = np.random.default_rng(SEED)
    seen: dict[str, int] = {}
    for row in rows[:3000]:
        for term in analyse(row["abstract"]):
            if term not in seen:
                seen[term] = index.searcher.doc_freq("abstract", term)
    typical = [t for t, df in seen.items() if 1e-4 * n <= df <= 1e-2 * n]
    common = [t for t, df in seen.items() if df >= 0.2 * n]
    queries = [" ".join(rng.choice(typical, int(rng.integers(2, 4)), replace=False)) for _ in range(QUERIES)]
    return queries, common


def time_queries(fn, queries: list) -> list[float]:  # type: ignore[no-untyped-def]
    for q in queries[:10]:
        fn(q)
    out = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    n = _int_env("BENCH_SEARCH_N", 1_000_000)
    ann_n = min(n, _int_env("BENCH_SEARCH_ANN_N", 200_000))
    rows_out: list[list[str]] = []
    raw: dict = {"n": n}
    # BENCH_SEARCH_REUSE=1: keep the indexes a previous run built (and its build, alternatives and
    # ANN comparison rows) and measure the queries again.
    reuse = bool(os.environ.get("BENCH_SEARCH_REUSE"))
    result_path = RESULTS / f"{NAME}.json"
    prior = json.loads(result_path.read_text()) if result_path.is_file() else {}
    previous = prior.get("rows", []) if (prior.get("raw") or {}).get("n") == n else []
    prior_vectors = (prior.get("raw") or {}).get("vectors_version", 1)

    def carry(what: str) -> list[str] | None:
        for row in previous:
            if row[1].startswith(what):
                return row
        return None
    print(f"  generating/reading {n:,} synthetic papers", flush=True)
    rows = records(n)

    # --- keyword -------------------------------------------------------------------------------
    from paperscope.index.lexical import LexicalIndex

    folder = CACHE / f"search-{n}" / "lexical"
    if reuse and carry("tantivy index build") and (folder / "state.json").is_file():
        rows_out.append(carry("tantivy index build"))
    else:
        build = build_lexical(rows, folder)
        size = dir_size(folder)
        raw["lexical"] = {"build_s": build, "bytes": size}
        rows_out.append(["keyword", "tantivy index build", f"{n:,} papers",
                         f"{build:.0f} s, {size / 2**20:,.0f} MiB"])
    index = LexicalIndex(folder)
    typical, common = pick_terms(index, rows, n)
    lat = time_queries(lambda q: index.search(q, 10), typical)
    raw.setdefault("lexical", {})["typical"] = lat
    rows_out.append(["keyword", "tantivy top-10, typical queries (2-3 words)", f"{len(typical)} queries",
                     f"p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])
    common_q = (common * (QUERIES // max(1, len(common)) + 1))[:QUERIES] if common else []
    if common_q:
        lat = time_queries(lambda q: index.search(q, 10), common_q)
        raw["lexical"]["common"] = lat
        rows_out.append(["keyword", f"tantivy top-10, very common single words ({len(common)} words in >20%)",
                         f"{len(common_q)} queries", f"p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])
    lat = time_queries(lambda q: index.search(q, 10, category="cs.LG", since=__import__("datetime").date(2018, 1, 1)),
                       typical)
    rows_out.append(["keyword", "tantivy top-10, typical + category and date filters in the index",
                     f"{len(typical)} queries", f"p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])
    print("  keyword done", flush=True)

    others = min(n, _int_env("BENCH_SEARCH_OTHERS_N", 200_000))
    if reuse and carry("bm25s"):
        rows_out.extend(r for r in previous if r[0] == "keyword alternatives")
    elif others:
        lexical_others(rows[:others], typical, common_q, rows_out, raw)

    # --- semantic -------------------------------------------------------------------------------
    # The generator's made-up words give TF-IDF vectors without structure (no topics): HNSW recall on
    # them says nothing about real papers. The vectors are instead drawn around the real embeddings
    # of the seed abstracts (../shared): each synthetic paper is a seed paper's vector plus Gaussian
    # noise (cosine about 0.8 to it), so topics cluster as they do in a real store; the queries are
    # real few-word phrases (the first words of seed titles) encoded by the same fitted embedder.
    vectors, embedder, query_texts = semantic_inputs(n)
    qv = embedder.embed(query_texts)
    keep = np.any(qv, axis=1)
    qv, query_texts = qv[keep], [q for q, k in zip(query_texts, keep, strict=True) if k]
    exact = exact_top10(vectors, qv)
    raw["semantic"] = {}
    import hnswlib

    from paperscope.index.vectors import EF_CONSTRUCTION, EF_SEARCH, M
    from paperscope.services.search import RRF_K, RRF_WEIGHTS, query_encoder

    path = CACHE / f"search-{n}" / f"hnsw-{VECTORS_VERSION}.bin"
    hnsw = hnswlib.Index(space="ip", dim=vectors.shape[1])
    if reuse and carry("hnswlib HNSW build") and path.is_file() and prior_vectors == VECTORS_VERSION:
        hnsw.load_index(str(path), max_elements=n)
        rows_out.append(carry("hnswlib HNSW build"))
    else:
        started = time.perf_counter()
        hnsw.init_index(max_elements=n, M=M, ef_construction=EF_CONSTRUCTION)
        hnsw.set_num_threads(2)
        hnsw.add_items(vectors, np.arange(n))
        build = time.perf_counter() - started
        hnsw.save_index(str(path))
        rows_out.append(["semantic", f"hnswlib HNSW build (M={M}, ef_construction={EF_CONSTRUCTION}, 2 threads)",
                         f"{n:,} x {vectors.shape[1]}", f"{build:.0f} s, {path.stat().st_size / 2**20:,.0f} MiB"])
        print(f"  hnsw built in {build:.0f}s", flush=True)
    hnsw.set_num_threads(1)
    for ef in sorted({32, EF_SEARCH, 128, 256}):
        hnsw.set_ef(ef)
        got = [hnsw.knn_query(v, 10)[0][0] for v in qv]
        recall = float(np.mean([len(set(g) & set(e)) / 10 for g, e in zip(got, exact, strict=True)]))
        lat = time_queries(lambda v: hnsw.knn_query(v, 10), list(qv))
        raw["semantic"][f"ef{ef}"] = {"recall": recall}
        rows_out.append(["semantic", f"hnswlib lookup top-10, ef={ef}", f"{len(qv)} queries",
                         f"recall@10 {recall:.3f}, p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])
    hnsw.set_ef(EF_SEARCH)
    lat = time_queries(lambda v: exact_top10(vectors, v.reshape(1, -1)), list(qv[:50]))
    rows_out.append(["semantic", "exact numpy top-10 (the recall reference)", "50 queries",
                     f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms"])
    encode = query_encoder(embedder)
    lat = time_queries(lambda q: hnsw.knn_query(encode(q), 10), query_texts)
    rows_out.append(["semantic", "end to end: encode a few words + lookup", f"{len(query_texts)} queries",
                     f"p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])

    # --- hybrid ---------------------------------------------------------------------------------
    ids = [r["id"] for r in rows]

    def hybrid(q: str) -> list[str]:
        kw = index.search(q, 100)
        labels, _ = hnsw.knn_query(encode(q), 100)
        fused: dict[str, float] = {}
        for rank, (pid, _) in enumerate(kw, 1):
            fused[pid] = fused.get(pid, 0.0) + RRF_WEIGHTS["keyword"] / (RRF_K + rank)
        for rank, label in enumerate(labels[0], 1):
            pid = ids[int(label)]
            fused[pid] = fused.get(pid, 0.0) + RRF_WEIGHTS["semantic"] / (RRF_K + rank)
        return sorted(fused, key=fused.__getitem__, reverse=True)[:10]

    # Hybrid queries: a typical keyword pair plus a real phrase, so both halves have work to do.
    query_texts = [f"{a} {b}" for a, b in zip(typical, query_texts, strict=False)]
    lat = time_queries(hybrid, query_texts)
    raw["hybrid"] = lat
    rows_out.append(["hybrid", "keyword top-100 + encode + lookup top-100 + RRF", f"{len(query_texts)} queries",
                     f"p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])
    print("  hybrid done", flush=True)

    if reuse and carry("hnswlib (M=16") and prior_vectors == VECTORS_VERSION:
        rows_out.extend(r for r in previous if r[0] == "ann choice")
    elif ann_n:
        compare_ann(vectors[:ann_n], qv, rows_out, raw)

    rows_out.append(["memory", "peak resident memory of the run", "", f"{peak_rss_mib():,.0f} MiB"])
    write_result(
        NAME,
        title="Search (keyword, semantic, hybrid)",
        command="bench/run.sh search",
        columns=["part", "what", "input", "result"],
        rows=rows_out,
        notes=[
            "Goals: keyword p99 < 10 ms typical, < 30 ms very common terms; semantic lookup p99 < 2 ms "
            "at recall@10 >= 0.95, < 25 ms end to end; hybrid p99 < 30 ms.",
            "Synthetic papers: the generator's Zipfian vocabulary of 20,000 made-up words; the query "
            "words are drawn from it by document frequency.",
            "Latency is one query at a time in one thread, on a machine shared with other work "
            "(see load_at_start).",
        ] + ([f"Index build, keyword alternatives and ANN comparison rows: the run of {prior.get('date')} "
              "(BENCH_SEARCH_REUSE); the query rows were measured again on its indexes."] if reuse else []),
        raw={"n": n, "vectors_version": VECTORS_VERSION, "reused_indexes": reuse,
             "prior_date": prior.get("date") if reuse else None},
    )


def semantic_inputs(n: int):  # type: ignore[no-untyped-def]
    from scores import seed_abstracts

    from paperscope.analytics.embedders import TfidfSvdEmbedder

    texts = seed_abstracts()
    embedder = TfidfSvdEmbedder().fit(texts)
    seeds = embedder.embed(texts)
    rng = np.random.default_rng(SEED)
    dim = seeds.shape[1]
    vectors = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        # A blend of two seed papers (topics mix along a continuum, no clusters of near-ties) plus noise.
        mix = rng.random((size, 1), dtype=np.float32)
        block = (mix * seeds[rng.integers(0, len(seeds), size)]
                 + (1 - mix) * seeds[rng.integers(0, len(seeds), size)]
                 + rng.standard_normal((size, dim), dtype=np.float32) * (0.5 / np.sqrt(dim)))
        vectors[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    titles = [t.split(".")[0] for t in texts]
    phrases = [" ".join(t.split()[:4]) for t in titles[:: max(1, len(titles) // QUERIES)]][:QUERIES]
    return vectors, embedder, phrases


def exact_top10(vectors: np.ndarray, queries: np.ndarray) -> list[np.ndarray]:
    out = []
    for start in range(0, len(queries), 32):
        sims = queries[start : start + 32] @ vectors.T
        top = np.argpartition(-sims, 10, axis=1)[:, :10]
        out.extend(top)
    return out


def compare_ann(vectors: np.ndarray, qv: np.ndarray, rows_out: list[list[str]], raw: dict) -> None:
    n, dim = vectors.shape
    exact = exact_top10(vectors, qv)

    def recall(got: list) -> float:
        return float(np.mean([len(set(map(int, g)) & set(map(int, e))) / 10 for g, e in zip(got, exact, strict=True)]))

    import hnswlib

    started = time.perf_counter()
    h = hnswlib.Index(space="ip", dim=dim)
    h.init_index(max_elements=n, M=16, ef_construction=100)
    h.set_num_threads(2)
    h.add_items(vectors, np.arange(n))
    build = time.perf_counter() - started
    h.set_num_threads(1)
    h.set_ef(64)
    lat = time_queries(lambda v: h.knn_query(v, 10), list(qv))
    r = recall([h.knn_query(v, 10)[0][0] for v in qv])
    rows_out.append(["ann choice", "hnswlib (M=16, efC=100, ef=64)", f"{n:,} x {dim}",
                     f"build {build:.0f} s; recall@10 {r:.3f}; p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms"])
    try:
        from usearch.index import Index

        started = time.perf_counter()
        u = Index(ndim=dim, metric="ip", dtype="f32", connectivity=16, expansion_add=100, expansion_search=64)
        u.add(np.arange(n), vectors, threads=2)
        build = time.perf_counter() - started
        lat = time_queries(lambda v: u.search(v, 10), list(qv))
        r = recall([u.search(v, 10).keys for v in qv])
        rows_out.append(["ann choice", "usearch (connectivity=16, expansion 100/64)", f"{n:,} x {dim}",
                         f"build {build:.0f} s; recall@10 {r:.3f}; p50 {pct(lat, 50):.2f} ms, "
                         f"p99 {pct(lat, 99):.2f} ms"])
    except ImportError:
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(2)
        started = time.perf_counter()
        f = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
        f.hnsw.efConstruction = 100
        f.add(vectors)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        f.hnsw.efSearch = 64
        lat = time_queries(lambda v: f.search(v.reshape(1, -1), 10), list(qv))
        r = recall([f.search(v.reshape(1, -1), 10)[1][0] for v in qv])
        rows_out.append(["ann choice", "faiss IndexHNSWFlat (M=16, efC=100, ef=64)", f"{n:,} x {dim}",
                         f"build {build:.0f} s; recall@10 {r:.3f}; p50 {pct(lat, 50):.2f} ms, "
                         f"p99 {pct(lat, 99):.2f} ms"])
    except ImportError:
        pass
    print("  ann comparison done", flush=True)


def lexical_others(rows: list[dict], typical: list[str], common: list[str], rows_out: list[list[str]],
                   raw: dict) -> None:
    n = len(rows)
    try:
        import bm25s

        started = time.perf_counter()
        corpus = [f"{r['title']} {r['abstract']}" for r in rows]
        tokens = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        build = time.perf_counter() - started
        del corpus
        words = [q.split()[0] for q in typical]

        def query(q: str) -> None:
            retriever.retrieve(bm25s.tokenize([q], stopwords="en", show_progress=False), k=10,
                               show_progress=False, n_threads=1)

        lat = time_queries(query, words)
        rows_out.append(["keyword alternatives", "bm25s build; top-10 typical single words", f"{n:,} papers",
                         f"build {build:.0f} s; p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms"])
        if common:
            lat = time_queries(query, common[:100])
            rows_out.append(["keyword alternatives", "bm25s top-10 very common words", "100 queries",
                             f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms"])
    except ImportError:
        pass
    path = CACHE / f"search-{n}-fts5.db"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    started = time.perf_counter()
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, abstract, tokenize='porter')")
    db.executemany("INSERT INTO docs(title, abstract) VALUES (?, ?)", ((r["title"], r["abstract"]) for r in rows))
    db.commit()
    build = time.perf_counter() - started

    def fts(q: str) -> None:
        db.execute("SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT 10", (q,)).fetchall()

    words = [q.split()[0] for q in typical][:100]
    lat = time_queries(fts, words)
    rows_out.append(["keyword alternatives", "SQLite FTS5 build; bm25() top-10 typical single words",
                     f"{n:,} papers", f"build {build:.0f} s, {path.stat().st_size / 2**20:,.0f} MiB; "
                     f"p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms"])
    if common:
        lat = time_queries(fts, common[:20])
        rows_out.append(["keyword alternatives", "SQLite FTS5 bm25() top-10 very common words", "20 queries",
                         f"p50 {pct(lat, 50):.0f} ms, p99 {pct(lat, 99):.0f} ms"])
    db.close()
    path.unlink(missing_ok=True)
    print("  keyword alternatives done", flush=True)


if __name__ == "__main__":
    main()
