"""HNSW parameters of the semantic index: build time and recall@10 per (M, ef_construction, ef).

The vectors and queries of bench/search.py (BENCH_HNSW_N vectors drawn around the real seed
embeddings; the queries are real few-word phrases encoded by the same embedder: out of the data's
distribution, the hard case), the exact top 10 by numpy as the reference. For each parameter set
of BENCH_HNSW_CONFIGS ("M,ef_construction;..."; default "16,100;16,200;32,200") the index is built
on 2 threads (wall and CPU seconds) and queried one query at a time at every ef of BENCH_HNSW_EFS
(default 64,128,256,512,1024): recall@10 and CPU ms per query. The build at 2.7M is projected
from its CPU seconds over 2 cores, n log n. Goal: recall@10 >= 0.95 at 1M, build <= 15 min at 2.7M on 2 cores,
lookup p99 < 2 ms.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, write_result  # noqa: E402

NAME = "hnsw"
TARGET_N = 2_700_000


def main() -> None:
    import hnswlib
    from search import exact_top10, semantic_inputs

    n = int(os.environ.get("BENCH_HNSW_N") or 1_000_000)
    configs = [tuple(int(x) for x in c.split(",")) for c in
               (os.environ.get("BENCH_HNSW_CONFIGS") or "16,100;16,200;32,200").split(";")]
    efs = [int(x) for x in (os.environ.get("BENCH_HNSW_EFS") or "64,128,256,512,1024").split(",")]
    load = os.getloadavg()
    vectors, embedder, texts = semantic_inputs(n)
    queries = embedder.embed(texts)
    queries = queries[np.any(queries, axis=1)]
    truth = exact_top10(vectors, queries)
    rows: list[list[str]] = []
    raw: dict = {"n": n, "queries": len(queries), "configs": []}
    for m, efc in configs:
        index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        index.init_index(max_elements=n, M=m, ef_construction=efc)
        index.set_num_threads(2)
        wall, cpu = time.perf_counter(), time.process_time()
        index.add_items(vectors, np.arange(n))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # A shared machine: project from CPU seconds spread over the 2 build threads, scaled n log n.
        projected = cpu / 2 * (TARGET_N / n) * np.log(TARGET_N) / np.log(n)
        index.set_num_threads(1)
        found = []
        for ef in efs:
            index.set_ef(ef)
            spent = time.process_time()
            labels = [index.knn_query(q, 10)[0][0] for q in queries]
            spent = (time.process_time() - spent) / len(queries) * 1000
            recall = float(np.mean([len(set(map(int, g)) & set(map(int, t))) / 10
                                    for g, t in zip(labels, truth, strict=True)]))
            found.append({"ef": ef, "recall": recall, "cpu_ms": spent})
        raw["configs"].append({"M": m, "ef_construction": efc, "build_s": wall, "build_cpu_s": cpu,
                               "projected_s": projected, "lookups": found})
        rows.append([f"M={m}, ef_construction={efc}", f"{n:,}",
                     f"{wall:.0f} s wall, {cpu:.0f} CPU s (2.7M projected ~{projected / 60:.0f} min)",
                     "; ".join(f"ef {f['ef']}: {f['recall']:.3f} ({f['cpu_ms']:.2f} ms)" for f in found)])
        print(rows[-1], flush=True)
        del index
    write_result(
        NAME,
        title="HNSW parameters of the semantic index (recall@10 against exact search)",
        command="bench/run.sh hnsw",
        columns=["parameters", "vectors", "build (2 threads)", "recall@10 (CPU ms per query) by ef"],
        rows=rows,
        notes=[
            "Goal: recall@10 >= 0.95 at 1M vectors, build <= 15 min at 2.7M on 2 cores, lookup p99 < 2 ms.",
            f"{len(queries)} queries: real few-word phrases encoded by the fitted TF-IDF + SVD embedder (out of the "
            "data's distribution: the hard case); vectors as in bench/search.py.",
            "2.7M projection: the build's CPU seconds over 2 cores, scaled by n log n.",
            f"Load average at start: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on 2 CPUs (shared machine: wall "
            "times include waiting for a CPU; CPU s is the better measure).",
            f"Peak RSS of the run: {peak_rss_mib():,.0f} MiB.",
        ],
        raw=raw,
    )


if __name__ == "__main__":
    main()
