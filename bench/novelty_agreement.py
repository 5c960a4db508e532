"""Novelty from different embedders: how far the percentiles agree between generations.

The same sample of the AAN citation graph as bench/minilm_runtime.py (BENCH_RUNTIME_QUERIES and
BENCH_RUNTIME_PAPERS pick it; titles, a year each, the venue as the category), embedded by MiniLM
(torch and int8 ONNX vectors cached by that section) and by TF-IDF + SVD fitted on the sample's own
texts (as `paperscope score` fits it on the store). Novelty is `compute_novelty` at its defaults
(exact search at this size); agreement = Spearman rank correlation of the percentiles over the papers
that have one under both embedders, and the share of one embedder's top decile that the other also
puts in its top decile.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, write_result  # noqa: E402
from embeddings import AAN  # noqa: E402


def _agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    both = ~np.isnan(a) & ~np.isnan(b)
    x, y = a[both], b[both]
    top_x, top_y = x >= np.quantile(x, 0.9), y >= np.quantile(y, 0.9)
    return {"papers": int(both.sum()), "spearman": float(spearmanr(x, y).statistic),
            "top_decile_shared": float((top_x & top_y).sum() / max(1, top_x.sum()))}


def main() -> int:
    from paperscope.analytics import evaluation as ev
    from paperscope.analytics.embedders import TfidfSvdEmbedder
    from paperscope.analytics.novelty import compute_novelty
    from paperscope.core.records import PaperRecord
    from paperscope.sources.aan import read_folder

    cache = Path(os.environ.get("BENCH_RUNTIME_CACHE", str(CACHE / "runtime")))
    queries_n = int(os.environ.get("BENCH_RUNTIME_QUERIES", "1000"))
    papers_n = int(os.environ.get("BENCH_RUNTIME_PAPERS", "3500"))
    load_start = os.getloadavg()
    full = ev.load_aan(AAN)
    corpus, _ = ev.subset(full, ev.sample_queries(full, queries_n), papers_n)
    years_of = {r.source_key: r.year for b in read_folder(AAN) for r in b.records if isinstance(r, PaperRecord)}
    years = [years_of.get(i) for i in corpus.ids]
    dates = [None] * len(corpus)
    vectors: dict[str, np.ndarray] = {}
    for label, runtime in (("MiniLM (fp32: torch or ONNX)", "torch"), ("MiniLM, ONNX int8", "onnx-int8")):
        path = cache / f"aan-{len(corpus)}-{queries_n}-{runtime}.npy"
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run bench/minilm_runtime.py first (same BENCH_RUNTIME_* values)")
        vectors[label] = np.load(path)
    vectors["TF-IDF + SVD 256 (fitted on the sample)"] = TfidfSvdEmbedder().fit(corpus.texts).embed(corpus.texts)
    raw: dict[str, dict] = {"corpus": {"papers": len(corpus), "with_year": sum(y is not None for y in years),
                                       "venues": len(set(corpus.labels))}}
    percentiles: dict[str, np.ndarray] = {}
    for label, matrix in vectors.items():
        cpu, wall = time.process_time(), time.perf_counter()
        novelty = compute_novelty(matrix, years, dates, corpus.labels)
        percentiles[label] = novelty.percentile
        raw[label] = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                      "with_percentile": int((~np.isnan(novelty.percentile)).sum())}
        if int((~np.isnan(novelty.percentile)).sum()) < 100:
            # Venues split the sample too finely for peers: percentiles within each year instead.
            novelty = compute_novelty(matrix, years, dates, [None] * len(corpus))
            percentiles[label] = novelty.percentile
            raw[label]["groups"] = "year"
    reference = "MiniLM (fp32: torch or ONNX)"
    rows = []
    for label in percentiles:
        if label == reference:
            continue
        agree = _agreement(percentiles[reference], percentiles[label])
        raw[f"{reference} vs {label}"] = agree
        rows.append([f"{reference} vs {label}", f"{agree['papers']:,}", f"{agree['spearman']:.3f}",
                     f"{agree['top_decile_shared']:.2f}"])
    notes = [
        f"{len(corpus):,} AAN papers (titles only; {raw['corpus']['with_year']:,} with a year), the sample of the "
        "MiniLM runtimes section; Novelty percentiles within (venue, year) groups of 5+ papers"
        + (" (within years: venues split the sample too finely)" if any(
            raw[k].get("groups") == "year" for k in percentiles) else "")
        + f"; load average {load_start[0]:.1f} at the start.",
    ]
    write_result("novelty_agreement", title="Novelty percentiles between embedder generations",
                 command="bench/run.sh novelty_agreement",
                 columns=["generations compared", "papers", "Spearman", "top decile shared"],
                 rows=rows, notes=notes, raw=raw)
    print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
