"""The web app under load: every page type over a store of a million synthetic papers, with 1 and
32 concurrent clients on loopback.

The store is the synthetic arXiv snapshot through `paperscope build` (ingest, embeddings, author
profiles, keyword and vector indexes, AI Score), made once and cached; a user with saved papers is
added for the recommendations. The server is `paperscope serve` in its own process(es); the clients
are asyncio tasks in this one, each sending its next request as soon as the last one answered
(closed loop). Every reply is read in full; an error is any status other than 200 or a failed
connection. Latency is per request, from send to last byte, measured by the client. The server's
peak memory is the largest sum of the resident sets of its processes, sampled every 0.2 s.

Environment:
  BENCH_WEB_PAPERS    papers in the store (default 1000000)
  BENCH_WEB_DATA_DIR  a data dir already built from that snapshot (default: build one in the cache)
  BENCH_WEB_CLIENTS   concurrent clients, comma-separated (default "1,32": alone, then the goal's load)
  BENCH_WEB_SECONDS   seconds per scenario (default 10)
  BENCH_WEB_WORKERS   server worker processes, comma-separated (default: the cores)
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, ROOT, write_result  # noqa: E402
from ingest_snapshot import snapshot  # noqa: E402

NAME = "web"
SEED = 20261125
GOAL_P99_MS = 100.0


BUILD_STAGES = ("ingest", "embed", "authors", "keyword_index", "vector_index", "ai_score")
BENCH_EMAIL = "bench-reader@example.org"
BENCH_PASSWORD = "correct horse battery staple 2026"


def build_store(n: int) -> Path:
    """The cached store: `paperscope build` over the snapshot, one stage per process (Novelty and
    categories are left out: no page of this benchmark waits for them)."""
    given = os.environ.get("BENCH_WEB_DATA_DIR")
    data_dir = Path(given) if given else CACHE / f"web-{n}"
    if given or (data_dir / "ready").exists():
        return data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**os.environ, "PAPERSCOPE_DATA_DIR": str(data_dir)}
    env.pop("PAPERSCOPE_DATABASE_URL", None)
    for stage in BUILD_STAGES:
        started = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "paperscope"), "build", "--snapshot", str(snapshot(n)),
                        "--stage", stage], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"  {stage} in {time.perf_counter() - started:.0f}s", flush=True)
    (data_dir / "ready").write_text("ok\n")
    return data_dir


def reader_session(data_dir: Path, saved: list[str]) -> str:
    """A confirmed reader who saved `saved`; returns a session cookie for the recommendations."""
    from paperscope.core.settings import load_settings
    from paperscope.services import accounts
    from paperscope.services.store import open_store
    from paperscope.store import users

    engine = open_store(load_settings({"PAPERSCOPE_DATA_DIR": str(data_dir)}))
    try:
        user = accounts.sign_up(engine, BENCH_EMAIL, BENCH_PASSWORD).user
        with engine.begin() as connection:
            users.update_user(connection, user["id"], confirmed_at=datetime.now(UTC))
        for paper_id in saved:
            accounts.save(engine, user["id"], paper_id)
        return accounts.start_session(engine, user)
    finally:
        engine.dispose()


def sample_targets(data_dir: Path, k: int = 300) -> dict[str, list[str]]:
    """What the clients open, drawn at random (seed SEED): authors with two papers or more, apart
    the 20 most prolific; papers; two-word and one-word queries from titles; papers to save."""
    rng = random.Random(SEED)
    db = sqlite3.connect(f"file:{data_dir / 'paperscope.db'}?mode=ro", uri=True)
    authors = [r[0] for r in db.execute("SELECT identity_id FROM author_metrics WHERE papers >= 2")]
    top = [r[0] for r in db.execute("SELECT identity_id FROM author_metrics ORDER BY papers DESC LIMIT 20")]
    count = db.execute("SELECT max(rowid) FROM papers").fetchone()[0]
    rows = rng.sample(range(1, count + 1), min(k + 5, count))
    papers = [r[0] for r in db.execute(f"SELECT id FROM papers WHERE rowid IN ({','.join(map(str, rows))})")]
    titles = [r[0] for r in db.execute(f"SELECT title FROM papers WHERE rowid IN ({','.join(map(str, rows))})")]
    db.close()
    words = [w for t in titles for w in t.lower().split() if len(w) > 4]
    queries = [" ".join(rng.sample(words, 2)) for _ in range(k // 2)] + [rng.choice(words) for _ in range(k // 2)]
    return {"authors": rng.sample(sorted(authors), min(k, len(authors))), "prolific": top,
            "papers": papers[5:], "saved": papers[:5], "queries": queries}


def papers_in(data_dir: Path) -> int:
    db = sqlite3.connect(f"file:{data_dir / 'paperscope.db'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM papers").fetchone()[0])
    finally:
        db.close()


def tree_memory(pid: int) -> tuple[int, int]:
    """(resident bytes, proportional bytes) of a process and all its descendants (from /proc). The
    resident sum counts a page shared by several workers (the semantic index they inherit, the file
    cache they map) once per worker; the proportional sum (PSS) splits it among them, so it is what
    the server holds in memory."""
    rss, pss, stack = 0, 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


class PeakRss:
    """The largest resident and proportional sets of a process tree, sampled every 0.2 s in a thread
    of its own."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.running = pid, True
        self.bytes, self.pss = tree_memory(pid)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            rss, pss = tree_memory(self.pid)
            self.bytes, self.pss = max(self.bytes, rss), max(self.pss, pss)
            time.sleep(0.2)

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, workers: int, startup_s: float = 60) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PAPERSCOPE_DATA_DIR": str(data_dir), "PAPERSCOPE_SECRET_KEY": "bench"}
    env.pop("PAPERSCOPE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "paperscope"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + startup_s
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
    raise RuntimeError(f"server did not answer within {startup_s:.0f}s")


async def load(url: str, paths: list[str], clients: int, seconds: float, *,
               cookies: dict[str, str] | None = None, timeout: float = 60,
               revalidate: bool = False) -> dict[str, Any]:
    """Closed loop: `clients` tasks, each sending its next request as soon as its last one answered.
    `revalidate`: as a browser with the pages in its cache, every request carries the ETag the page
    was last served with (If-None-Match) and a 304 is the expected answer."""
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    seen: set[str] = set()  # paths asked for in the timed window: the rest were repeats
    stop = 0.0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(i: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(SEED + i)
        while time.perf_counter() < stop:
            path = rng.choice(paths)
            seen.add(path)
            started = time.perf_counter()
            try:
                r = await http.get(path, headers={"if-none-match": etags[path]} if revalidate else None)
                await r.aread()
                if r.status_code != (304 if revalidate else 200):
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, cookies=cookies) as http:
        # Warm up: every worker opens its store and fills its caches.
        await asyncio.gather(*(http.get(p) for p in paths[:4]))
        etags: dict[str, str] = {}
        if revalidate:  # the browser's cache: each page once, and the ETag it came with
            for p in paths:
                etags[p] = (await http.get(p)).headers["etag"]
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
            "p99": q(0.99), "max": latencies[-1] * 1000, "errors": errors,
            "repeat_share": 1 - len(seen) / len(latencies)}


def main() -> int:
    from urllib.parse import quote

    n = int(os.environ.get("BENCH_WEB_PAPERS", "1000000"))
    client_counts = [int(c) for c in os.environ.get("BENCH_WEB_CLIENTS", "1,32").split(",")]
    clients = max(client_counts)
    seconds = float(os.environ.get("BENCH_WEB_SECONDS", "10"))
    cores = len(os.sched_getaffinity(0))
    workers_list = sorted({int(w) for w in os.environ.get("BENCH_WEB_WORKERS", str(cores)).split(",")})
    load_before = os.getloadavg()[0]
    data_dir = build_store(n)
    t = sample_targets(data_dir)
    session = reader_session(data_dir, t["saved"])

    def ref(value: str) -> str:
        return quote(value, safe=":~/")

    scenarios: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "Daily Papers (HTML)": (["/"], None),
        "Daily Papers (JSON)": (["/api/v1/papers"], None),
        "paper page with similar papers (HTML)": ([f"/papers/{ref(p)}" for p in t["papers"]], None),
        "author page, typical (HTML)": ([f"/authors/{ref(a)}" for a in t["authors"]], None),
        "20 most prolific authors' pages (HTML)": ([f"/authors/{ref(a)}" for a in t["prolific"]], None),
        "search, keyword (JSON)": ([f"/api/v1/search?q={quote(q)}&mode=keyword" for q in t["queries"]], None),
        "search, semantic (JSON)": ([f"/api/v1/search?q={quote(q)}&mode=semantic" for q in t["queries"]], None),
        "search, hybrid (HTML)": ([f"/search?q={quote(q)}&mode=hybrid" for q in t["queries"]], None),
        "recommendations, 5 saved papers (HTML)": (["/recommended"], {"paperscope_session": session}),
    }
    # Cached pages: a browser revalidating what it holds (If-None-Match), answered 304 by the server.
    revalidated = {
        "cached: Daily Papers revalidated (304)": ["/"],
        "cached: paper pages revalidated (304)": [f"/papers/{ref(p)}" for p in t["papers"][:50]],
    }
    rows, raw = [], []
    for workers in workers_list:
        proc, url = start_server(data_dir, workers)
        peak = PeakRss(proc.pid)
        try:
            for count in client_counts:
                runs = [(name, paths, cookies, False) for name, (paths, cookies) in scenarios.items()]
                runs += [(name, paths, None, True) for name, paths in revalidated.items()]
                for name, paths, cookies, revalidate in runs:
                    cpu = os.times()
                    r = asyncio.run(load(url, paths, count, seconds, cookies=cookies, timeout=120,
                                         revalidate=revalidate))
                    errors = sum(r["errors"].values())
                    print(f"  {workers} worker(s), {count} client(s), {name}: {r['requests']:,} requests, "
                          f"{r['rps']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, errors {errors}, "
                          f"server RSS so far {peak.bytes / 2**20:,.0f} MiB (PSS {peak.pss / 2**20:,.0f})",
                          flush=True)
                    client_cpu = sum(os.times()[:2]) - sum(cpu[:2])
                    rows.append([name, str(workers), str(count), f"{r['requests']:,}", f"{r['rps']:.0f}",
                                 f"{r['p50']:.1f}", f"{r['p90']:.1f}", f"{r['p99']:.1f}", f"{r['max']:.0f}",
                                 str(errors), f"{r['repeat_share']:.0%}", f"{client_cpu:.1f}"])
                    raw.append({"scenario": name, "workers": workers, "clients": count, "client_cpu_s": client_cpu,
                                **r})
        finally:
            peak.stop()
            proc.terminate()
            proc.wait(30)
        rows.append([f"server peak memory ({workers} workers): PSS (RSS summed)", str(workers), "", "", "", "",
                     "", "", "", "", "", f"{peak.pss / 2**20:,.0f} MiB ({peak.bytes / 2**20:,.0f} MiB)"])
        raw.append({"scenario": "server peak memory", "workers": workers, "rss_bytes": peak.bytes,
                    "pss_bytes": peak.pss})
    write_result(
        NAME,
        title=f"Web: every page type, {clients} concurrent clients, {n:,} papers",
        command=f"BENCH_WEB_PAPERS={n} bench/run.sh web",
        columns=["scenario", "server workers", "clients", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms",
                 "max ms", "errors", "repeats", "client CPU s"],
        rows=rows,
        notes=[
            f"Goals: p99 < {GOAL_P99_MS:.0f} ms for every page type at {clients} clients, the most prolific "
            "author's page < 50 ms alone, zero errors, >= 500 req/s for cached pages, server RSS <= 1.5 GiB.",
            (f"Store: SQLite, the data dir given (BENCH_WEB_DATA_DIR, {papers_in(data_dir):,} papers)"
             if os.environ.get("BENCH_WEB_DATA_DIR") else
             f"Store: SQLite, {n:,} synthetic snapshot papers built by `paperscope build` (stages "
             f"{', '.join(BUILD_STAGES)})") + f"; {len(t['authors'])} author profiles (two papers or more), "
            f"{len(t['papers'])} papers and {len(t['queries'])} queries drawn at random (seed {SEED}); the 20 "
            "most prolific authors apart; one reader with 5 saved papers for the recommendations.",
            f"Clients and server share this machine's {cores} cores: the client's own work is in the figures "
            f"(its CPU seconds per scenario in the last column); load average {load_before:.1f} when it started.",
            f"{seconds:.0f} s per scenario after a warm-up; closed loop (a client sends when its reply is in). "
            "Clients send no If-None-Match (every request is a full page), except in the 'cached' rows: there "
            "each client holds the pages with their ETags, as a browser does, and revalidates them (a 304 "
            "expected; any other status is an error).",
            "Repeats: the share of a window's requests for a page already asked for in it. A served worker "
            "keeps the read model of each page it built (Runtime.read_model, per content version and day), so "
            "a repeat served by the same worker costs the page's rendering only; the other requests are built "
            "from the store and the indexes.",
            "Server memory: the peak of the proportional set size (PSS) summed over the server's processes, a "
            "page shared by several (the semantic index the workers inherit, files they map) counted once; "
            "in brackets the resident sets summed, which count such a page once per process.",
        ],
        raw=raw,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
