"""The web app under load: author pages and search with 32 concurrent clients on loopback, over a
store of 100k papers (the synthetic arXiv snapshot, ingested and with author profiles computed).

The server is `paperscope serve` in its own process(es); the clients are asyncio tasks in this one,
each sending its next request as soon as the last one answered (closed loop). Every reply is read
in full; an error is any status other than 200 or a failed connection. Latency is per request, from
send to last byte, measured by the client.

Environment:
  BENCH_WEB_PAPERS    papers in the store (default 100000)
  BENCH_WEB_CLIENTS   concurrent clients, comma-separated (default "1,32": alone, then the goal's load)
  BENCH_WEB_SECONDS   seconds per scenario (default 20)
  BENCH_WEB_WORKERS   server worker processes to try, comma-separated (default "1,<cores>")
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, ROOT, write_result  # noqa: E402
from ingest_snapshot import snapshot  # noqa: E402

NAME = "web"
SEED = 20261125
GOAL_P99_MS = 100.0


def build_store(n: int) -> Path:
    """The cached store: the snapshot ingested, author profiles computed, search index if available."""
    data_dir = CACHE / f"web-{n}"
    db = data_dir / "paperscope.db"
    if (data_dir / "ready").exists():
        return data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    from paperscope.core.settings import load_settings
    from paperscope.ingest.pipeline import run_ingest
    from paperscope.ingest.registry import files_plan
    from paperscope.services.authors import recompute
    from paperscope.services.store import open_store

    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(data_dir)})
    engine = open_store(settings)
    started = time.perf_counter()
    plan = files_plan("snapshot", [snapshot(n)], batch_size=settings.batch_size)
    run_ingest(engine, plan.source, plan.target, plan.batches)
    print(f"  ingested {n:,} papers in {time.perf_counter() - started:.0f}s", flush=True)
    started = time.perf_counter()
    recompute(engine, similar=True)
    print(f"  author profiles in {time.perf_counter() - started:.0f}s", flush=True)
    try:
        from paperscope.services.search import build_indexes

        started = time.perf_counter()
        build_indexes(engine, data_dir, embed=False)
        print(f"  keyword index in {time.perf_counter() - started:.0f}s", flush=True)
    except ImportError:
        print("  no search index service: search uses the store's keyword match", flush=True)
    engine.dispose()
    assert db.exists()
    (data_dir / "ready").write_text("ok\n")
    return data_dir


def sample_targets(data_dir: Path, k: int = 300) -> tuple[list[str], list[str], list[str]]:
    """Authors to open: a random sample of those with two papers or more, and apart the 20 most
    prolific (the synthetic corpus's Zipf-like popularity gives them thousands of papers); queries."""
    rng = random.Random(SEED)
    db = sqlite3.connect(data_dir / "paperscope.db")
    authors = [r[0] for r in db.execute(
        "SELECT identity_id FROM author_metrics WHERE papers >= 2 ORDER BY identity_id")]
    top = [r[0] for r in db.execute("SELECT identity_id FROM author_metrics ORDER BY papers DESC LIMIT 20")]
    titles = [r[0] for r in db.execute("SELECT title FROM papers ORDER BY id LIMIT 5000")]
    db.close()
    typical = rng.sample(authors, min(k, len(authors)))
    words = [w for t in titles for w in t.lower().split() if len(w) > 4]
    queries = [" ".join(rng.sample(words, 2)) for _ in range(k // 2)] + [rng.choice(words) for _ in range(k // 2)]
    return typical, top, queries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PAPERSCOPE_DATA_DIR": str(data_dir), "PAPERSCOPE_SECRET_KEY": "bench"}
    env.pop("PAPERSCOPE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "paperscope"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v1/papers", timeout=5).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("server did not answer within 60s")


async def load(url: str, paths: list[str], clients: int, seconds: float, *,
               cookies: dict[str, str] | None = None, timeout: float = 60) -> dict[str, Any]:
    """Closed loop: `clients` tasks, each sending its next request as soon as its last one answered."""
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop = 0.0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(i: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(SEED + i)
        while time.perf_counter() < stop:
            path = rng.choice(paths)
            started = time.perf_counter()
            try:
                r = await http.get(path)
                await r.aread()
                if r.status_code != 200:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, cookies=cookies) as http:
        # Warm up: every worker opens its store and fills its caches.
        await asyncio.gather(*(http.get(p) for p in paths[:4]))
        started = time.perf_counter()
        stop = started + seconds
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        raise RuntimeError("no request completed")

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": q(0.50), "p90": q(0.90),
            "p99": q(0.99), "max": latencies[-1] * 1000, "errors": errors}


def main() -> int:
    from urllib.parse import quote

    n = int(os.environ.get("BENCH_WEB_PAPERS", "100000"))
    client_counts = [int(c) for c in os.environ.get("BENCH_WEB_CLIENTS", "1,32").split(",")]
    clients = max(client_counts)
    seconds = float(os.environ.get("BENCH_WEB_SECONDS", "20"))
    cores = len(os.sched_getaffinity(0))
    workers_list = [int(w) for w in os.environ.get("BENCH_WEB_WORKERS", f"1,{cores}").split(",")]
    workers_list = sorted(set(workers_list))
    data_dir = build_store(n)
    authors, prolific, queries = sample_targets(data_dir)
    scenarios = {
        "author page (HTML)": [f"/authors/{quote(a, safe=':~')}" for a in authors],
        "author (JSON)": [f"/api/v1/authors/{quote(a, safe=':~')}" for a in authors],
        "20 most prolific authors' pages (HTML)": [f"/authors/{quote(a, safe=':~')}" for a in prolific],
        "search page (HTML)": [f"/search?q={quote(q)}" for q in queries],
        "search (JSON)": [f"/api/v1/search?q={quote(q)}" for q in queries],
    }
    rows, raw = [], []
    for workers in workers_list:
        proc, url = start_server(data_dir, workers)
        try:
            for count in client_counts:
                for name, paths in scenarios.items():
                    r = asyncio.run(load(url, paths, count, seconds))
                    errors = sum(r["errors"].values())
                    print(f"  {workers} worker(s), {count} client(s), {name}: {r['requests']:,} requests, "
                          f"{r['rps']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {errors}",
                          flush=True)
                    rows.append([name, str(workers), str(count), f"{r['requests']:,}", f"{r['rps']:.0f}",
                                 f"{r['p50']:.1f}", f"{r['p90']:.1f}", f"{r['p99']:.1f}", f"{r['max']:.0f}",
                                 str(errors)])
                    raw.append({"scenario": name, "workers": workers, "clients": count, **r})
        finally:
            proc.terminate()
            proc.wait(30)
    try:
        import paperscope.services.search  # noqa: F401

        backend = "the keyword index (services.search, BM25)"
    except ImportError:
        backend = "the store's keyword match (LIKE over titles and abstracts)"
    write_result(
        NAME,
        title=f"Web: author pages and search, {clients} concurrent clients, {n:,} papers",
        command="bench/run.sh web",
        columns=["scenario", "server workers", "clients", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                 "errors"],
        rows=rows,
        notes=[
            f"Goal: p99 < {GOAL_P99_MS:.0f} ms and zero errors with {clients} concurrent clients; one client "
            "alone shows the latency of a request without queueing.",
            f"Store: SQLite, {n:,} synthetic snapshot papers (bench/ingest_snapshot.py's corpus) with author "
            f"profiles; {len(authors)} author profiles (two papers or more) and {len(queries)} queries drawn "
            f"at random (seed {SEED}); the 20 most prolific authors apart (thousands of papers each).",
            f"Search ran on {backend}.",
            f"Clients and server share this machine's {cores} cores: the client's own work is in the figures.",
            f"{seconds:.0f} s per scenario after a warm-up; closed loop (a client sends when its reply is in).",
        ],
        raw=raw,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
