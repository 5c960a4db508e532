"""Fault sweep: hundreds of mutated source files, SIGKILLs in the middle of an ingest, and many web
clients while an ingest writes, each counted as tried / survived / lost.

- Mutations: tests/faults/fuzz.py over every importer's recorded responses and the saved listing
  pages (BENCH_FAULT_SEEDS
  seeds of each of its mutation kinds). Survived: no traceback, every entry a per-entry parse can
  keep came through, every lost one quarantined with a position and a reason.
- Kills: `paperscope ingest snapshot` of a synthetic snapshot killed with SIGKILL at a random
  moment BENCH_FAULT_KILLS times, then run to the end. Survived: the run resumes and finishes;
  lost: papers of the file missing from the store at the end.
- Clients: BENCH_FAULT_CLIENTS threads reading pages from `paperscope serve` while an ingest
  of the same SQLite store runs. Survived: a request answered below 500; lost: 5xx answers and
  dropped connections.

Run: bench/run.sh faults (needs ../shared/fixtures for the mutations).
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # tests.faults.fuzz

from bench._common import CACHE, ROOT, write_result  # noqa: E402
from paperscope.sources.synthetic import write_snapshot  # noqa: E402
from tests.faults.fuzz import MUTATIONS, sweep, targets  # noqa: E402

SEEDS = int(os.environ.get("BENCH_FAULT_SEEDS", "10"))
KILLS = int(os.environ.get("BENCH_FAULT_KILLS", "20"))
CLIENTS = int(os.environ.get("BENCH_FAULT_CLIENTS", "16"))
PAPERS = int(os.environ.get("BENCH_FAULT_PAPERS", "20000"))
FIXTURES = ROOT.parent / "shared" / "fixtures"


def _env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PAPERSCOPE_DATA_DIR": str(folder / "data"),
           "PAPERSCOPE_BATCH_SIZE": "500"}
    env.pop("PAPERSCOPE_DATABASE_URL", None)
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "paperscope", *args]


def _stored_papers(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "data" / "paperscope.db") as db:
        return int(db.execute("SELECT count(*) FROM papers").fetchone()[0])


def mutations(folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cpu = time.process_time()
    outcomes = sweep(FIXTURES, folder, per_kind=SEEDS, seed=1)
    files = targets(FIXTURES)
    return {
        "importers": len({t.source for t in files}),
        "files": len(files),
        "tried": len(outcomes),
        "survived": sum(o.survived for o in outcomes),
        "tracebacks": sum(o.traceback is not None for o in outcomes),
        "lost": sum(len(o.lost) for o in outcomes),
        "unaccounted": sum(o.unaccounted for o in outcomes),
        "quarantined": sum(o.quarantined for o in outcomes),
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
    }


def kills(folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = write_snapshot(folder / "snap.jsonl", PAPERS, seed=11)
    env = _env(folder)
    subprocess.run(_cli("db", "upgrade"), env=env, check=True, capture_output=True)
    rng = random.Random(5)
    started = time.perf_counter()
    killed = tracebacks = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(_cli("ingest", "snapshot", str(snapshot), "--no-refresh"), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(rng.uniform(1.0, 4.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        out = proc.communicate()[0].decode("utf-8", "replace")
        tracebacks += "Traceback" in out
    final = subprocess.run(_cli("ingest", "snapshot", str(snapshot), "--no-refresh"), env=env,
                           capture_output=True, text=True)
    tracebacks += "Traceback" in final.stdout + final.stderr
    stored = _stored_papers(folder)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"tried": KILLS, "killed": killed, "survived": KILLS if final.returncode == 0 else 0,
            "lost": PAPERS - stored, "stored": stored, "tracebacks": tracebacks,
            "wall_s": round(time.perf_counter() - started, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1)}


def clients(folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    env = _env(folder)
    first = write_snapshot(folder / "first.jsonl", 2000, seed=21)
    second = write_snapshot(folder / "second.jsonl", PAPERS, seed=22)
    subprocess.run(_cli("ingest", "snapshot", str(first), "--no-refresh"), env=env, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(_cli("serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(url + "/", timeout=5)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("paperscope serve did not start") from None
            time.sleep(0.3)
    ingest = subprocess.Popen(_cli("ingest", "snapshot", str(second), "--no-refresh"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    paths = ["/", "/?period=month", "/search?q=learning", "/api/v1/papers", "/api/v1/search?q=model",
             "/authors", "/login"]
    counts = {"tried": 0, "survived": 0, "server_errors": 0, "dropped": 0}
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            i = n
            while ingest.poll() is None:
                path = paths[i % len(paths)]
                i += 1
                try:
                    status = c.get(path).status_code
                    outcome = "survived" if status < 500 else "server_errors"
                except httpx.TransportError:
                    outcome = "dropped"
                with lock:
                    counts["tried"] += 1
                    counts[outcome] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.terminate()
    server.wait(30)
    return {**counts, "lost": counts["server_errors"] + counts["dropped"], "ingest_rc": ingest.returncode,
            "wall_s": round(time.perf_counter() - started, 1)}


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="faults-", dir=CACHE if CACHE.exists() else None))
    load = os.getloadavg()[0]
    try:
        mut = mutations(scratch / "mutations") if FIXTURES.is_dir() else None
        print("mutations:", mut, flush=True)
        kill = kills(scratch / "kills")
        print("kills:", kill, flush=True)
        web = clients(scratch / "clients")
        print("clients:", web, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    if mut:
        rows.append([f"mutated source files ({SEEDS} seeds × {len(MUTATIONS)} kinds × {mut['importers']} importers, "
                     f"{mut['files']} files)", f"{mut['tried']:,}",
                     f"{mut['survived']:,}", f"{mut['lost']:,} keepable entries", f"{mut['tracebacks']}",
                     f"{mut['wall_s']} / {mut['cpu_s']}"])
    rows.append([f"SIGKILL during `ingest snapshot` ({PAPERS:,} papers)", f"{kill['tried']}", f"{kill['survived']}",
                 f"{kill['lost']:,} papers", f"{kill['tracebacks']}", f"{kill['wall_s']} / {kill['cpu_s']}"])
    rows.append([f"{CLIENTS} web clients during an ingest", f"{web['tried']:,} requests", f"{web['survived']:,}",
                 f"{web['server_errors']} 5xx, {web['dropped']} dropped", "—", f"{web['wall_s']} / —"])
    notes = [
        f"Load average {load:.1f} when it started (a shared 2-core machine); wall and CPU seconds are "
        "the section's own.",
        "Goal: 0 tracebacks, 0 keepable entries lost, 0 papers lost to kills, 0 server errors.",
        "A keepable entry is one whose bytes the mutation did not touch; a byte that breaks the format's "
        "structure (a quote, a bracket, a tag) makes every later entry of that file damaged, which then "
        "only has to be quarantined.",
    ]
    if mut is None:
        notes.append("The mutation sweep was skipped: ../shared/fixtures is absent.")
    command = (f"BENCH_FAULT_SEEDS={SEEDS} BENCH_FAULT_KILLS={KILLS} BENCH_FAULT_CLIENTS={CLIENTS} "
               f"BENCH_FAULT_PAPERS={PAPERS} bench/run.sh faults")
    write_result("faults", title="Fault sweep: mutated inputs, killed ingests, clients during an ingest",
                 command=command, columns=["Fault", "Tried", "Survived", "Lost", "Tracebacks", "Wall s / CPU s"],
                 rows=rows, notes=notes, raw={"mutations": mut, "kills": kill, "clients": web})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
