"""Where a generation's vectors live, measured: one Arrow IPC file (what store/vector_files.py
writes), a raw `.npy` matrix with its ids in a text file, and one blob per paper in a SQLite table
(how the vectors were stored before generations). BENCH_VECTOR_ROWS papers (default 200,000) of
BENCH_VECTOR_DIM dimensions (default 384, MiniLM's): write, open and read every vector (what
Novelty and the semantic index build do), and gather 1,000 papers' vectors by id (what similar
papers and recommendations do).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402


def _timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    from paperscope.store import vector_files

    n = int(os.environ.get("BENCH_VECTOR_ROWS", "200000"))
    dim = int(os.environ.get("BENCH_VECTOR_DIM", "384"))
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(n, dim)).astype(np.float32)
    ids = [f"arXiv:{2300 + i // 100000}.{i % 100000:05d}" for i in range(n)]
    hashes = [f"{i:032x}" for i in range(n)]
    pick = [ids[i] for i in rng.choice(n, size=1000, replace=False)]
    rows: list[list[str]] = []
    raw: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)

        def arrow_write():  # type: ignore[no-untyped-def]
            return vector_files.write_vectors(folder / "base-1.arrow", ids, hashes, matrix)

        def arrow_read():  # type: ignore[no-untyped-def]
            s = vector_files.open_set(folder, dim)
            return s, float(np.asarray(s.matrix).sum())

        _, w, wc = _timed(arrow_write)
        (opened, _), r, rc = _timed(arrow_read)
        _, g, gc = _timed(lambda: opened.rows(pick))
        raw["arrow"] = {"write_s": w, "read_s": r, "gather_s": g, "write_cpu": wc, "read_cpu": rc, "gather_cpu": gc,
                        "bytes": (folder / "base-1.arrow").stat().st_size}

        def npy_write():  # type: ignore[no-untyped-def]
            np.save(folder / "v.npy", matrix)
            (folder / "ids.txt").write_text("\n".join(ids))

        def npy_read():  # type: ignore[no-untyped-def]
            m = np.load(folder / "v.npy", mmap_mode="r")
            got = (folder / "ids.txt").read_text().split("\n")
            return {pid: i for i, pid in enumerate(got)}, m, float(np.asarray(m).sum())

        _, w, wc = _timed(npy_write)
        (row_of, m, _), r, rc = _timed(npy_read)
        _, g, gc = _timed(lambda: np.asarray(m[[row_of[p] for p in pick]]))
        raw["npy"] = {"write_s": w, "read_s": r, "gather_s": g, "write_cpu": wc, "read_cpu": rc, "gather_cpu": gc,
                      "bytes": (folder / "v.npy").stat().st_size + (folder / "ids.txt").stat().st_size}

        db = sqlite3.connect(folder / "blobs.db")
        db.execute("CREATE TABLE e (paper_id TEXT PRIMARY KEY, text_hash TEXT, vector BLOB)")

        def sql_write():  # type: ignore[no-untyped-def]
            with db:
                db.executemany("INSERT INTO e VALUES (?, ?, ?)",
                               ((ids[i], hashes[i], matrix[i].tobytes()) for i in range(n)))

        def sql_read():  # type: ignore[no-untyped-def]
            got = db.execute("SELECT paper_id, vector FROM e ORDER BY paper_id").fetchall()
            return float(np.frombuffer(b"".join(v for _, v in got), dtype="<f4").sum())

        def sql_gather():  # type: ignore[no-untyped-def]
            marks = ",".join("?" * len(pick))
            return db.execute(f"SELECT paper_id, vector FROM e WHERE paper_id IN ({marks})", pick).fetchall()

        _, w, wc = _timed(sql_write)
        _, r, rc = _timed(sql_read)
        _, g, gc = _timed(sql_gather)
        db.close()
        raw["sqlite blobs"] = {"write_s": w, "read_s": r, "gather_s": g, "write_cpu": wc, "read_cpu": rc,
                               "gather_cpu": gc, "bytes": (folder / "blobs.db").stat().st_size}
    labels = {"arrow": "Arrow IPC file, memory-mapped (chosen)", "npy": ".npy matrix (memory-mapped) + ids.txt",
              "sqlite blobs": "one blob per paper in SQLite (before)"}
    for key, r in raw.items():
        rows.append([labels[key], f"{r['write_s']:.2f} s ({r['write_cpu']:.2f} CPU s)",
                     f"{r['read_s']:.2f} s ({r['read_cpu']:.2f} CPU s)",
                     f"{r['gather_s'] * 1000:.1f} ms", f"{r['bytes'] / 2**20:,.0f} MiB"])
    write_result(
        "vector_files", title="Vector files: where a generation's vectors live",
        command="bench/run.sh vector_files", columns=["storage", "write all", "open and read all",
                                                      "gather 1,000 by id", "size"],
        rows=rows, raw=raw,
        notes=[f"{n:,} papers x {dim} float32 dimensions; one process; the machine was shared (load average "
               "in the header). Arrow keeps ids, text hashes and vectors in one file written atomically, "
               "readable without copying; .npy needs its ids beside it in a second file; blobs need a "
               "row per paper and a copy of every vector on read."],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
