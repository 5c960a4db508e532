"""Keyword index build: tantivy writer threads and memory budget.

The documents of bench/search.py (BENCH_LEXICAL_N synthetic papers, default 200,000), built into a
fresh tantivy index the way `paperscope index` builds it (index.lexical._document, one writer,
commit, wait for the merges) with each (threads, memory budget) of BENCH_LEXICAL_WRITERS
("threads,MB;...", default "1,256;2,256;2,1000"). Per setting: wall and CPU seconds of the whole
build (CPU counts tantivy's indexing and merging threads) and documents per CPU second; building
the Python documents alone is timed apart. The 2.7M projection scales the CPU seconds linearly
and spreads them over 2 cores (indexing is per document; merging grows slightly faster).
Goal: <= 5 min at 2.7M papers on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, peak_rss_mib, write_result  # noqa: E402

NAME = "lexical_build"
TARGET_N = 2_700_000


def main() -> None:
    from search import records

    from paperscope.index.lexical import LexicalIndex, _document

    n = int(os.environ.get("BENCH_LEXICAL_N") or 200_000)
    writers = [tuple(int(x) for x in w.split(",")) for w in
               (os.environ.get("BENCH_LEXICAL_WRITERS") or "1,256;2,256;2,1000").split(";")]
    load = os.getloadavg()
    rows = records(n)
    cpu = time.process_time()
    for row in rows:
        _document(row)
    docs_cpu = time.process_time() - cpu
    out: list[list[str]] = [["documents only (Python)", f"{n:,}", "", f"{docs_cpu:.1f} CPU s"]]
    raw: dict = {"n": n, "documents_cpu_s": docs_cpu, "writers": []}
    for threads, megabytes in writers:
        folder = CACHE / f"lexical-build-{threads}-{megabytes}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        index = LexicalIndex(folder)
        wall, cpu = time.perf_counter(), time.process_time()
        writer = index.index.writer(heap_size=megabytes * 1_000_000, num_threads=threads)
        for row in rows:
            writer.add_document(_document(row))
        writer.commit()
        writer.wait_merging_threads()
        del writer
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        projected = cpu * TARGET_N / n / 2
        segments = len(list(folder.glob("*.idx")))
        raw["writers"].append({"threads": threads, "heap_mb": megabytes, "wall_s": wall, "cpu_s": cpu,
                               "segments": segments, "projected_wall_s": projected})
        out.append([f"{threads} thread(s), {megabytes} MB", f"{n:,}",
                    f"{wall:.0f} s wall, {cpu:.1f} CPU s ({n / cpu:,.0f} docs per CPU s), {segments} segment(s)",
                    f"2.7M: ~{projected / 60:.1f} min on 2 free cores"])
        print(out[-1], flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    write_result(
        NAME,
        title="Keyword index build: tantivy writer threads and memory budget",
        command="bench/run.sh lexical_build",
        columns=["writer", "papers", "build", "projection"],
        rows=out,
        notes=[
            "Goal: the keyword index of 2.7M papers in <= 5 min on 2 cores.",
            "The store read that feeds `paperscope index` is not included (bench/search.py's documents).",
            f"Load average at start: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on 2 CPUs (a shared machine: wall "
            "times include waiting for a CPU; CPU s is the measure of the work).",
            f"Peak RSS of the run: {peak_rss_mib():,.0f} MiB.",
        ],
        raw=raw,
    )


if __name__ == "__main__":
    main()
