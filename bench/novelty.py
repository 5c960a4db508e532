"""Novelty: the approximate nearest-earlier search against the exact one, time and agreement.

Inputs: BENCH_NOVELTY_N vectors (default 1,000,000) drawn as in bench/search.py (blends of two
real seed embeddings plus noise), with publication days spread evenly over 2007-2026 (about the
arXiv rate; 1% known only by their year) and one of ten categories each: the dates are random with
respect to the content, so every paper has neighbours of every age.

1. The search of `compute_novelty` with method "ann" (analytics.novelty.nearest_earlier_ann at its
   default parameters), timed (wall and CPU seconds), and the percentiles.
2. The exact search (`nearest_earlier`) for a random sample of BENCH_NOVELTY_SAMPLE papers (default
   2,000): its time, projected to all papers; overlap@10 = the share of the exact 10 nearest earlier
   papers the approximate search also returns, averaged over the sample.
3. Percentile agreement: up to BENCH_NOVELTY_FULL_N papers (default 100,000) the exact search runs
   for every paper and the two percentile columns are compared over all papers (Spearman); above
   it, each sampled paper's exact raw Novelty is ranked among the approximate raw values of its
   (category, year) group and compared with its approximate percentile (Spearman over the sample).
4. BENCH_NOVELTY_SWEEP=1 first tries a few HNSW parameter sets on BENCH_NOVELTY_SWEEP_N papers
   (default 30,000): the choice of the defaults.
Goals: overlap@10 >= 0.9, percentile rank correlation >= 0.98, <= 15 min at 2.7M papers on 2 cores.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import peak_rss_mib, write_result  # noqa: E402

NAME = "novelty"
SEED = 7
TARGET_N = 2_700_000


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def papers(n: int) -> tuple[np.ndarray, list[int | None], list[date | None], list[str]]:
    from search import semantic_inputs

    vectors, _, _ = semantic_inputs(n)
    rng = np.random.default_rng(SEED)
    first, days = date(2007, 1, 1), (date(2026, 12, 31) - date(2007, 1, 1)).days
    offsets = rng.integers(0, days, size=n)
    dates: list[date | None] = [first + timedelta(days=int(d)) for d in offsets]
    years: list[int | None] = [d.year for d in dates]  # type: ignore[union-attr]
    for i in rng.choice(n, n // 100, replace=False).tolist():
        dates[i] = None
    categories = [f"C{c}" for c in rng.integers(0, 10, size=n)]
    return vectors, years, dates, categories


def cpu() -> float:
    return time.process_time()


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of b's neighbours (rows) found in a's."""
    shares = [len(set(x[x >= 0].tolist()) & set(y[y >= 0].tolist())) / max(1, (y >= 0).sum())
              for x, y in zip(a, b, strict=True)]
    return float(np.mean(shares))


def rank_in_group(value: float, group_values: np.ndarray) -> float:
    below = np.searchsorted(group_values, value, side="left")
    upto = np.searchsorted(group_values, value, side="right")
    return 100.0 * (below + 0.5 * (upto - below)) / len(group_values)


def sweep(rows: list[list[str]], raw: dict) -> None:
    from paperscope.analytics import novelty

    n = _int_env("BENCH_NOVELTY_SWEEP_N", 30_000)
    vectors, years, dates, cats = papers(n)
    order, prefix = novelty.earlier_prefix(years, dates)
    sv = np.ascontiguousarray(vectors[order])
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(np.flatnonzero(prefix >= 10), 1000, replace=False))
    exact_idx, _ = novelty.nearest_earlier(sv, prefix, 10, rows=sample)
    raw["sweep"] = []
    for m, efc, ef in [(8, 64, 64), (16, 80, 96), (16, 100, 128)]:
        params = novelty.AnnParams(M=m, ef_construction=efc, ef=ef)
        t, c = time.perf_counter(), cpu()
        idx, _ = novelty.nearest_earlier_ann(sv, prefix, 10, params=params)
        wall, used = time.perf_counter() - t, cpu() - c
        share = overlap(idx[sample], exact_idx[sample])
        raw["sweep"].append({"M": m, "ef_construction": efc, "ef": ef, "wall_s": wall, "cpu_s": used,
                             "overlap10": share})
        rows.append(["parameter sweep", f"M={m}, ef_construction={efc}, ef={ef}", f"{n:,}",
                     f"{wall:.0f} s wall, {used:.0f} CPU s; overlap@10 {share:.3f}"])
        print(rows[-1], flush=True)


def main() -> None:
    from scipy.stats import spearmanr

    from paperscope.analytics import novelty

    n = _int_env("BENCH_NOVELTY_N", 1_000_000)
    sample_n = _int_env("BENCH_NOVELTY_SAMPLE", 2_000)
    full_n = _int_env("BENCH_NOVELTY_FULL_N", 100_000)
    rows: list[list[str]] = []
    raw: dict = {"n": n, "sample": sample_n}
    load = os.getloadavg()
    if os.environ.get("BENCH_NOVELTY_SWEEP"):
        sweep(rows, raw)
    vectors, years, dates, cats = papers(n)
    params = novelty.AnnParams()
    t, c = time.perf_counter(), cpu()
    ann = novelty.compute_novelty(vectors, years, dates, cats, method="ann")
    ann_wall, ann_cpu = time.perf_counter() - t, cpu() - c
    print(f"ann {ann_wall:.0f}s wall {ann_cpu:.0f} cpu", flush=True)
    rows.append(["approximate (HNSW grown in time order)",
                 f"M={params.M}, ef_construction={params.ef_construction}, ef={params.ef}, 2 threads",
                 f"{n:,}", f"{ann_wall:.0f} s wall, {ann_cpu:.0f} CPU s ({n / ann_wall:,.0f} papers/s)"])
    # The machine is shared: project from CPU seconds spread over the 2 cores (hnswlib builds and
    # queries on both threads), scaled n log n.
    projected = ann_cpu / 2 * (TARGET_N / n) * np.log(TARGET_N) / np.log(n)
    rows.append(["approximate, projected", "CPU s of the run above / 2 cores, scaled n log n", f"{TARGET_N:,}",
                 f"~{projected / 60:.1f} min on 2 free cores (goal <= 15 min)"])

    order, prefix = novelty.earlier_prefix(years, dates)
    sv = np.ascontiguousarray(vectors[order])
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    ann_sorted = np.where(ann.neighbours[order] >= 0, position[np.maximum(ann.neighbours[order], 0)], -1)
    rng = np.random.default_rng(2)
    sample = np.sort(rng.choice(np.flatnonzero(prefix >= novelty.DEFAULT_K), min(sample_n, n), replace=False))
    t, c = time.perf_counter(), cpu()
    exact_idx, exact_sim = novelty.nearest_earlier(sv, prefix, novelty.DEFAULT_K, rows=sample)
    ex_wall, ex_cpu = time.perf_counter() - t, cpu() - c
    mean_prefix = float(prefix.mean())
    sample_prefix = float(prefix[sample].mean())
    exact_all = ex_wall * (n / len(sample)) * (mean_prefix / sample_prefix)
    rows.append(["exact (matrix products), sample", f"{len(sample):,} random papers", f"{n:,}",
                 f"{ex_wall:.0f} s wall, {ex_cpu:.0f} CPU s; all papers projected ~{exact_all / 3600:.1f} h"])
    share = overlap(ann_sorted[sample], exact_idx[sample])
    raw.update(ann_wall_s=ann_wall, ann_cpu_s=ann_cpu, exact_sample_wall_s=ex_wall, exact_sample_cpu_s=ex_cpu,
               overlap10=share, projected_min_at_target=projected / 60)

    groups = [(cats[i], years[i]) for i in range(n)]
    if n <= full_n:
        t = time.perf_counter()
        exact = novelty.compute_novelty(vectors, years, dates, cats, method="exact")
        print(f"exact all {time.perf_counter() - t:.0f}s", flush=True)
        both = ~np.isnan(exact.percentile) & ~np.isnan(ann.percentile)
        rho = float(spearmanr(exact.percentile[both], ann.percentile[both]).statistic)
        gap = np.abs(exact.percentile[both] - ann.percentile[both])
        over = f"all {int(both.sum()):,} papers with a percentile"
        rows.append(["exact (matrix products), every paper", "", f"{n:,}", f"{time.perf_counter() - t:.0f} s wall"])
    else:
        raw_exact = 1.0 - exact_sim[sample].astype(np.float64).mean(axis=1)
        values: dict[object, list[float]] = {}
        for i in np.flatnonzero(~np.isnan(ann.raw)).tolist():
            values.setdefault(groups[i], []).append(float(ann.raw[i]))
        sorted_values = {g: np.sort(np.array(v)) for g, v in values.items()}
        mine = order[sample]  # input positions of the sampled papers
        ok = ~np.isnan(ann.percentile[mine])
        exact_pct = np.array([rank_in_group(r, sorted_values[groups[i]]) for r, i in zip(raw_exact, mine, strict=True)])
        rho = float(spearmanr(exact_pct[ok], ann.percentile[mine][ok]).statistic)
        gap = np.abs(exact_pct[ok] - ann.percentile[mine][ok])
        over = f"the {int(ok.sum()):,} sampled papers (exact raw ranked in its group's approximate values)"
    raw.update(spearman=rho, pct_gap_mean=float(gap.mean()), pct_gap_p99=float(np.percentile(gap, 99)))
    rows.append(["agreement", "overlap@10 with the exact neighbours", f"{len(sample):,} sampled papers",
                 f"{share:.3f} (goal >= 0.9)"])
    rows.append(["agreement", "percentile rank correlation (Spearman)", over,
                 f"{rho:.4f} (goal >= 0.98); |percentile gap| mean {gap.mean():.2f}, p99 {np.percentile(gap, 99):.1f}"])
    write_result(
        NAME,
        title="Novelty: approximate nearest earlier papers vs the exact search",
        command="bench/run.sh novelty",
        columns=["search", "what", "papers", "result"],
        rows=rows,
        notes=[
            "Goals: overlap@10 >= 0.9 and percentile rank correlation >= 0.98 against the exact search; "
            "<= 15 min at 2.7M papers on 2 cores.",
            "Vectors: blends of two real seed embeddings plus noise (bench/search.py); dates random with respect "
            "to content, spread over 2007-2026, 1% known only by their year; 10 categories.",
            f"Load average at start: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on 2 CPUs (a shared machine: "
            "CPU s is the better measure of the work).",
            f"Peak RSS of the run: {peak_rss_mib():,.0f} MiB.",
        ],
        raw=raw,
    )


if __name__ == "__main__":
    main()
