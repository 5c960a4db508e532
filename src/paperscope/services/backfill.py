"""The embedding backfill of one embedder generation: every paper the generation lacks, or whose
text changed since it was embedded, embedded one id range at a time, in this process or on a Ray
cluster, into the generation's vector files (store/vector_files.py).

A backfill is a plan (`plan.json` in the generation's folder): a round id and the id ranges of
store/ranges.py, which cover every paper, those added later included. A range is embedded by
`embed_range`, which needs nothing but the store's URL, the generation's id and the range: it opens
the store, loads the generation's model (the TF-IDF fit from the store's model runs), embeds the
range's papers that need it and writes them as one file named by the round and the range, then a
`done/` marker. Run twice, it writes the same file again, so a range retried after a killed worker
leaves no duplicate and no gap; a stopped backfill resumes at the ranges without a marker. When
every range is done the coordinator folds the files into one base and records the coverage.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from paperscope.analytics.embedders import (
    Embedder,
    MiniLMEmbedder,
    TfidfSvdEmbedder,
    make_embedder,
    paper_text,
    text_hash,
)
from paperscope.core.settings import configured
from paperscope.services.runners import LocalRunner, Runner
from paperscope.store import generations as gen_store
from paperscope.store import scores as store
from paperscope.store import vector_files
from paperscope.store.engine import open_engine
from paperscope.store.generations import Generation
from paperscope.store.ranges import IdRange, split_paper_ids

RANGE_SIZE = 4096  # papers per range: one embed call and one vector file each
Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True)
class EmbedJob:
    """What a worker needs to embed any range: where the store is, which generation, which plan."""

    store_url: str
    generation: int
    round: str


@dataclass
class BackfillSummary:
    generation: int = 0
    embedder: str = ""
    version: str = ""
    engine: str = "local"
    ranges: int = 0
    resumed_ranges: int = 0
    papers: int = 0  # papers the ranges run now held
    embedded: int = 0  # embedded now
    unchanged: int = 0  # already current when this call came to them (resumed ranges included)
    covered: int = 0  # papers with a vector of their current text when the plan finished
    stopped: bool = False  # stopped before every range was done (stop_after)
    seconds: float = 0.0
    changed: set[str] = field(default_factory=set)


# --- one range, anywhere ---------------------------------------------------------------------------

# A worker process runs many ranges: its engine, its loaded model and the generation's base vectors
# are kept for the next one (filled on first use, never at import).
_ENGINES: dict[str, Engine] = {}
_EMBEDDERS: dict[tuple[str, int], Embedder] = {}
_KNOWN: dict[tuple[str, str], dict[str, str]] = {}
_CACHE_LOCK = threading.Lock()


def worker_label() -> str:
    """How a worker names itself to PostgreSQL (pg_stat_activity.application_name): host and pid."""
    return f"paperscope-worker {socket.gethostname()}:{os.getpid()}"


def _worker_engine(url: str) -> Engine:
    with _CACHE_LOCK:
        if url not in _ENGINES:
            parsed = make_url(url)
            if parsed.get_backend_name() == "postgresql":
                # Operators (and the fault tests) see in pg_stat_activity which worker holds a session.
                parsed = parsed.update_query_dict({"application_name": worker_label()})
            _ENGINES[url] = open_engine(parsed.render_as_string(hide_password=False))
        return _ENGINES[url]


def models_dir(generation: Generation) -> Path:
    """The data dir's models folder, where the distilled static model is kept: generations live in
    `<data_dir>/embeddings/<folder>`."""
    return generation.folder.parent.parent


def load_embedder(engine: Engine, generation: Generation) -> Embedder:
    """The model that computed a generation's vectors, at exactly its version: a TF-IDF fit read
    from the store, or the installed model; an error when that version is not to be had."""
    if generation.embedder == MiniLMEmbedder.name:
        # The generation's version says int8 or not and the length; the fp32 runtime is the configured one.
        embedder = MiniLMEmbedder.for_version(generation.version, models_dir(generation) / "models",
                                              runtime=configured("minilm_runtime"))
    else:
        embedder = make_embedder(generation.embedder, data_dir=models_dir(generation))
    if isinstance(embedder, TfidfSvdEmbedder):
        with engine.connect() as connection:
            run = store.find_model_run(connection, "embedder", embedder.name, generation.version)
        if run is None or run["artifact"] is None:
            raise ValueError(f"generation {generation.id} ({generation.label}): its fitted model is not "
                             "in the store any more")
        return TfidfSvdEmbedder.loads(run["artifact"])
    if embedder.version != generation.version:
        raise ValueError(f"generation {generation.id} was computed by {generation.label}, but the installed "
                         f"{embedder.name} is {embedder.version}: install that version or activate another")
    return embedder


def _worker_generation(engine: Engine, job: EmbedJob) -> Generation:
    with engine.connect() as connection:
        generation = gen_store.get_generation(connection, job.generation)
    if generation is None:
        raise RuntimeError(f"no embedder generation {job.generation} in the store")
    return generation


def _worker_embedder(engine: Engine, job: EmbedJob, generation: Generation) -> Embedder:
    key = (job.store_url, job.generation)
    with _CACHE_LOCK:
        embedder = _EMBEDDERS.get(key)
    if embedder is None:
        embedder = load_embedder(engine, generation)
        with _CACHE_LOCK:
            _EMBEDDERS[key] = embedder
    return embedder


def known_hashes(generation: Generation) -> Mapping[str, str]:
    """Paper id -> text hash in the generation's base file (what a range need not embed again).
    The parts of a running plan never hold a paper of another range, so the base is enough."""
    base = next((n for n in vector_files.list_files(generation.folder) if n.startswith("base-")), None)
    if base is None:
        return {}
    key = (str(generation.folder), base)
    with _CACHE_LOCK:
        found = _KNOWN.get(key)
    if found is None:
        opened = vector_files.VectorFile.open(generation.folder / base)
        found = dict(zip(opened.ids, opened.hashes, strict=True))
        with _CACHE_LOCK:
            _KNOWN.clear()
            _KNOWN[key] = found
    return found


def range_key(round_id: str, id_range: IdRange) -> str:
    first, before = id_range
    return hashlib.blake2b(f"{round_id}\0{first or ''}\0{before or ''}".encode(), digest_size=10).hexdigest()


def embed_range(
    job: EmbedJob, id_range: IdRange, engine: Engine | None = None, embedder: Embedder | None = None,
    generation: Generation | None = None,
) -> dict[str, Any]:
    """Embed the papers of one id range that are new or changed against the generation's base and
    write them as one vector file named by (round, range), then its done marker; idempotent.
    A worker passes only the job and the range; this process passes its own engine, embedder and
    generation. Returns the counts and the ids embedded."""
    engine = engine or _worker_engine(job.store_url)
    generation = generation or _worker_generation(engine, job)
    embedder = embedder or _worker_embedder(engine, job, generation)
    first, before = id_range
    with engine.connect() as connection:
        rows = gen_store.list_texts_between(connection, first, before)
    known = known_hashes(generation)
    pending = []
    for pid, title, abstract in rows:
        text = paper_text(title, abstract)
        digest = text_hash(text)
        if known.get(pid) != digest:
            pending.append((pid, text, digest))
    key = range_key(job.round, id_range)
    if pending:
        vectors = embedder.embed([text for _, text, _ in pending])
        vector_files.write_vectors(generation.folder / f"part-{key}{vector_files.SUFFIX}",
                                   [p[0] for p in pending], [p[2] for p in pending], vectors)
    counts = {"papers": len(rows), "embedded": len(pending), "unchanged": len(rows) - len(pending)}
    done = generation.folder / "done"
    done.mkdir(parents=True, exist_ok=True)
    (done / key).write_text(json.dumps(counts))
    return {**counts, "ids": [pid for pid, _, _ in pending]}


# --- the whole store -------------------------------------------------------------------------------


def store_url(engine: Engine) -> str:
    """The URL a worker opens the same store with (password included: workers log in too)."""
    return engine.url.render_as_string(hide_password=False)


def _plan(engine: Engine, generation: Generation, range_size: int) -> dict[str, Any]:
    path = generation.folder / "plan.json"
    if path.is_file():
        return json.loads(path.read_text())
    with engine.connect() as connection:
        ranges = split_paper_ids(connection, range_size)
        papers = store.count_papers(connection)
    plan = {"round": f"{time.time_ns():x}", "ranges": [list(r) for r in ranges], "papers": papers}
    generation.folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan))
    os.replace(tmp, path)
    return plan


def _record(engine: Engine, generation: Generation, progress: dict[str, Any], state: str | None) -> None:
    with engine.begin() as connection:
        gen_store.set_progress(connection, generation.id, progress, state=state)


def backfill_embeddings(
    engine: Engine,
    generation: Generation,
    embedder: Embedder,
    runner: Runner | None = None,
    *,
    range_size: int = RANGE_SIZE,
    progress: Progress = _quiet,
    stop_after: int | None = None,
) -> BackfillSummary:
    """Bring a generation up to date with the store, range by range on `runner`: resume the plan a
    stopped run left (or make one), then fold the files into one base and record the coverage.
    `stop_after` ranges: stop early, as a kill would (for tests)."""
    runner = runner or LocalRunner()
    started = time.perf_counter()
    plan = _plan(engine, generation, range_size)
    ranges: list[IdRange] = [(a, b) for a, b in plan["ranges"]]
    summary = BackfillSummary(generation.id, generation.embedder, generation.version, runner.name, len(ranges))
    job = EmbedJob(store_url(engine), generation.id, plan["round"])
    done_dir = generation.folder / "done"
    todo: list[IdRange] = []
    seen = 0
    for id_range in ranges:
        marker = done_dir / range_key(plan["round"], id_range)
        if marker.is_file():
            counts = json.loads(marker.read_text())
            summary.resumed_ranges += 1
            summary.covered += counts["papers"]
            summary.unchanged += counts["papers"]  # embedded by the run that stopped: current now
            seen += counts["papers"]
        else:
            todo.append(id_range)
    if stop_after is not None:
        summary.stopped = len(todo) > stop_after
        todo = todo[:stop_after]
    # In this process the caller's engine and embedder serve every range; a worker opens its own.
    work = (partial(embed_range, job, engine=engine, embedder=embedder, generation=generation)
            if runner.name == "local" else partial(embed_range, job))
    state = None if generation.active or generation.state == "retired" else "backfilling"
    progress(f"embed {generation.label}", seen, plan["papers"])
    for n, (_, result) in enumerate(runner.map(work, todo)):
        summary.papers += result["papers"]
        summary.embedded += result["embedded"]
        summary.unchanged += result["unchanged"]
        summary.covered += result["papers"]
        summary.changed.update(result["ids"])
        seen += result["papers"]
        progress(f"embed {generation.label}", seen, plan["papers"])
        if n % 16 == 15:
            _record(engine, generation, {"papers": plan["papers"], "covered": None, "ranges": len(ranges),
                                         "ranges_done": summary.resumed_ranges + n + 1}, state)
    summary.seconds = round(time.perf_counter() - started, 3)
    if summary.stopped:
        _record(engine, generation, {"papers": plan["papers"], "covered": None, "ranges": len(ranges),
                                     "ranges_done": summary.resumed_ranges + len(todo)}, state)
        return summary
    with engine.connect() as connection:
        in_store = gen_store.all_paper_ids(connection)
    vector_files.compact(generation.folder, generation.dim, keep_ids=in_store)
    for marker in done_dir.glob("*") if done_dir.is_dir() else ():
        marker.unlink()
    (generation.folder / "plan.json").unlink(missing_ok=True)
    _record(engine, generation, {
        "papers": len(in_store), "covered": min(summary.covered, len(in_store)), "embedded": summary.embedded,
        "ranges": len(ranges), "ranges_done": len(ranges), "seconds": summary.seconds, "engine": runner.name,
    }, None if generation.active or generation.state == "retired" else "ready")
    return summary
