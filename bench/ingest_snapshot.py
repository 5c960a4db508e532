"""Snapshot ingest end to end: synthetic arXiv snapshot lines -> a fresh SQLite store.

The same path as `paperscope ingest snapshot FILE`: `files_plan("snapshot", ...)` and `run_ingest`
on a store opened (and migrated) from settings. Each size runs in a subprocess of its own, so the
peak resident memory reported is that run's. Inputs come from `paperscope.sources.synthetic` and
are cached in bench/.cache (generation is not timed).

Environment:
  BENCH_INGEST_SIZES    comma-separated line counts (default 100000,1000000)
  BENCH_INGEST_PROFILE  a line count: also run that size under cProfile and print the top 25
                        functions by own time (the profile's figures are not recorded)
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, current_rss_mib, peak_rss_mib, write_result  # noqa: E402

NAME = "ingest_snapshot"
SEED = 20240601
GOAL_RECORDS_PER_S = 20_000
DEFAULT_SIZES = "100000,1000000"


def snapshot(n: int) -> Path:
    """The cached synthetic snapshot of `n` lines, generated once (atomically) on first use."""
    from paperscope.sources.synthetic import write_snapshot

    path = CACHE / f"snapshot-{n}-seed{SEED}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        partial = write_snapshot(path.with_suffix(".partial"), n, seed=SEED)
        partial.rename(path)
        print(f"  generated {path.name} in {time.perf_counter() - started:.0f}s", flush=True)
    return path


def _ingest(n: int, path: Path, profile_to: Path | None) -> dict:
    """One run in this process: fresh store, ingest, figures. Called in the child process."""
    from sqlalchemy import func, select

    from paperscope.core.settings import load_settings
    from paperscope.ingest.pipeline import run_ingest
    from paperscope.ingest.registry import files_plan
    from paperscope.services.store import open_store
    from paperscope.store.schema import papers

    store_dir = CACHE / f"store-{n}"
    shutil.rmtree(store_dir, ignore_errors=True)
    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(store_dir)})
    engine = open_store(settings)
    rss_before = current_rss_mib()
    plan = files_plan("snapshot", [path], batch_size=settings.batch_size)
    profiler = cProfile.Profile() if profile_to else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = run_ingest(engine, plan.source, plan.target, plan.batches)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(papers)).scalar_one()
    engine.dispose()
    store_bytes = sum(f.stat().st_size for f in store_dir.iterdir() if f.is_file())
    shutil.rmtree(store_dir, ignore_errors=True)
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
    return {
        "lines": n,
        "records": summary.counts["records"],
        "papers_stored": stored,
        "quarantined": summary.counts["quarantined"],
        "seconds": elapsed,
        "records_per_s": summary.counts["records"] / elapsed,
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
        "store_mib": store_bytes / 2**20,
        "batch_size": settings.batch_size,
        "status": summary.status,
    }


def run_child(n: int, profile_to: Path | None = None) -> dict:
    path = snapshot(n)
    command = [sys.executable, __file__, "--child", str(n), str(path)]
    if profile_to:
        command += ["--profile-to", str(profile_to)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_profile(path: Path, top: int = 25) -> str:
    buffer = io.StringIO()
    pstats.Stats(str(path), stream=buffer).strip_dirs().sort_stats("tottime").print_stats(top)
    text = buffer.getvalue()
    print(text)
    return text


def main() -> int:
    sizes = [int(s) for s in os.environ.get("BENCH_INGEST_SIZES", DEFAULT_SIZES).split(",") if s.strip()]
    CACHE.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in sizes:
        print(f"  ingesting {n:,} lines ...", flush=True)
        run = run_child(n)
        print(f"  {n:,} lines: {run['records_per_s']:,.0f} records/s, {run['seconds']:.1f}s, "
              f"peak RSS {run['peak_rss_mib']:.0f} MiB", flush=True)
        runs.append(run)

    rows = [
        [f"{r['lines']:,}", f"{r['records']:,}", f"{r['papers_stored']:,}", f"{r['seconds']:.1f}",
         f"{r['records_per_s']:,.0f}", f"{r['peak_rss_mib']:.0f}", f"{r['rss_before_mib']:.0f}",
         f"{r['store_mib']:.0f}"]
        for r in runs
    ]
    slowest = min(r["records_per_s"] for r in runs)
    notes = [
        f"Goal: ≥ {GOAL_RECORDS_PER_S:,} records/s end to end, and memory flat in N. "
        + (f"Met: the slowest size ran at {slowest:,.0f} records/s." if slowest >= GOAL_RECORDS_PER_S
           else f"Not met: the slowest size ran at {slowest:,.0f} records/s "
                f"({slowest / GOAL_RECORDS_PER_S:.0%} of the goal)."),
    ]
    if len(runs) > 1:
        small, large = runs[0], runs[-1]
        growth = large["peak_rss_mib"] / small["peak_rss_mib"]
        notes.append(
            f"Memory: peak RSS {small['peak_rss_mib']:.0f} MiB at {small['lines']:,} lines, "
            f"{large['peak_rss_mib']:.0f} MiB at {large['lines']:,} lines "
            f"({growth:.2f}x for {large['lines'] / small['lines']:.0f}x the input)."
        )
    notes.append(
        "End to end: open the snapshot file, parse each JSON line into records, normalise, match and "
        "merge, upsert papers, authors, code links and provenance, one transaction per batch of "
        f"{runs[0]['batch_size']:,}, then resolve citation targets. Input generation is not timed. "
        "Peak RSS is the whole process (Python, libraries and the store's page cache included); "
        "'RSS before' is after imports and migration, before the first record."
    )
    write_result(
        NAME,
        title="Snapshot ingest (arXiv metadata JSON lines into SQLite)",
        command="bench/run.sh ingest_snapshot",
        columns=["lines", "records", "papers stored", "seconds", "records/s", "peak RSS MiB",
                 "RSS before MiB", "store MiB"],
        rows=rows,
        notes=notes,
        raw=runs,
    )

    profile_n = os.environ.get("BENCH_INGEST_PROFILE")
    if profile_n:
        profile_path = CACHE / f"ingest-{int(profile_n)}.prof"
        print(f"  profiling {int(profile_n):,} lines ...", flush=True)
        run_child(int(profile_n), profile_to=profile_path)
        text = print_profile(profile_path)
        (CACHE / f"ingest-{int(profile_n)}.profile.txt").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        profile_to = Path(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--profile-to" else None
        print(json.dumps(_ingest(int(sys.argv[2]), Path(sys.argv[3]), profile_to)))
        sys.exit(0)
    sys.exit(main())
