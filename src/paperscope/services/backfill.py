"""The embedding backfill: every paper whose text changed, or whose vector is of another model
version, embedded again, one id range at a time, in this process or on a Ray cluster.

A range is embedded by `embed_range`, which needs nothing but the store's URL, the embedder's name
and version, and the range: it opens the store, loads the embedder (the TF-IDF fit from the store's
model runs), embeds and upserts the range's vectors in one transaction. Run twice, it writes the
same rows again (keyed by paper and model), so a range retried after a killed worker leaves no
duplicate and no gap; run after a stop, it skips what is already embedded, so a backfill resumes.
Progress is what the store holds: `backfill_status` counts the vectors of each model version.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from paperscope.analytics.embedders import (
    MiniLMEmbedder,
    TfidfSvdEmbedder,
    make_embedder,
    paper_text,
    text_hash,
)
from paperscope.services.runners import LocalRunner, Runner
from paperscope.store import scores as store
from paperscope.store.engine import open_engine
from paperscope.store.ranges import IdRange, split_paper_ids

RANGE_SIZE = 2000  # papers per range: one embed call and one transaction each
Progress = Callable[[str, int, int | None], None]
Embedder = TfidfSvdEmbedder | MiniLMEmbedder


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True)
class EmbedJob:
    """What a worker needs to embed any range: where the store is and which embedder, exactly."""

    store_url: str
    embedder: str  # the embedder's name (tfidf-svd, minilm)
    version: str  # its version: a worker refuses to write vectors of another one


@dataclass
class BackfillSummary:
    embedder: str = ""
    version: str = ""
    engine: str = "local"
    ranges: int = 0
    embedded: int = 0
    unchanged: int = 0
    changed: set[str] = field(default_factory=set)


# --- one range, anywhere ---------------------------------------------------------------------------

# A worker process runs many ranges: its engine and its loaded model are kept for the next one
# (filled on first use, never at import).
_ENGINES: dict[str, Engine] = {}
_EMBEDDERS: dict[tuple[str, str, str], Embedder] = {}
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


def load_embedder(engine: Engine, name: str, version: str) -> Embedder:
    """The embedder `name` at exactly `version`: a TF-IDF fit read from the store, or the packaged
    model; an error when the store's fit or the installed model is another version."""
    embedder = make_embedder(name)
    if isinstance(embedder, TfidfSvdEmbedder):
        with engine.connect() as connection:
            run = store.latest_model_run(connection, "embedder", embedder.name, with_artifact=True)
        if run is None or run["artifact"] is None or run["version"] != version:
            found = "none" if run is None else run["version"]
            raise RuntimeError(
                f"the store's {embedder.name} fit is {found}, not {version}: it was refitted during the backfill; "
                "run the backfill again"
            )
        return TfidfSvdEmbedder.loads(run["artifact"])
    if embedder.version != version:
        raise RuntimeError(f"this worker has {embedder.name} {embedder.version}, the backfill needs {version}")
    return embedder


def _worker_embedder(engine: Engine, job: EmbedJob) -> Embedder:
    key = (job.store_url, job.embedder, job.version)
    with _CACHE_LOCK:
        embedder = _EMBEDDERS.get(key)
    if embedder is None:
        embedder = load_embedder(engine, job.embedder, job.version)
        with _CACHE_LOCK:
            _EMBEDDERS[key] = embedder
    return embedder


def embed_range(
    job: EmbedJob, id_range: IdRange, engine: Engine | None = None, embedder: Embedder | None = None
) -> dict[str, Any]:
    """Embed the papers of one id range that need it and upsert their vectors; idempotent.
    A worker passes only the job and the range; this process passes its own engine and embedder.
    Returns the counts and the ids embedded."""
    engine = engine or _worker_engine(job.store_url)
    embedder = embedder or _worker_embedder(engine, job)
    first, before = id_range
    with engine.connect() as connection:
        rows = store.list_embedding_inputs_between(connection, embedder.name, first, before)
    pending = []
    for row in rows:
        text = paper_text(row["title"], row["abstract"])
        digest = text_hash(text)
        if row["text_hash"] != digest or row["model_version"] != embedder.version:
            pending.append((row["id"], text, digest))
    if pending:
        vectors = embedder.embed([text for _, text, _ in pending])
        stamp = store.now()
        out = [
            {
                "paper_id": pid,
                "model": embedder.name,
                "model_version": embedder.version,
                "dim": embedder.dim,
                "vector": vectors[j].astype("<f4").tobytes(),
                "text_hash": digest,
                "computed_at": stamp,
            }
            for j, (pid, _, digest) in enumerate(pending)
        ]
        with engine.begin() as connection:
            store.upsert_embeddings(connection, out)
    return {
        "papers": len(rows),
        "embedded": len(pending),
        "unchanged": len(rows) - len(pending),
        "ids": [pid for pid, _, _ in pending],
    }


# --- the whole store -------------------------------------------------------------------------------


def store_url(engine: Engine) -> str:
    """The URL a worker opens the same store with (password included: workers log in too)."""
    return engine.url.render_as_string(hide_password=False)


def backfill_embeddings(
    engine: Engine,
    embedder: Embedder,
    runner: Runner | None = None,
    *,
    range_size: int = RANGE_SIZE,
    progress: Progress = _quiet,
) -> BackfillSummary:
    """Embed every paper that needs it with `embedder` (already fitted), range by range on `runner`."""
    runner = runner or LocalRunner()
    with engine.connect() as connection:
        total = store.count_papers(connection)
        ranges = split_paper_ids(connection, range_size)
    job = EmbedJob(store_url(engine), embedder.name, embedder.version)
    summary = BackfillSummary(embedder.name, embedder.version, runner.name, len(ranges))
    # In this process the caller's engine and embedder serve every range; a worker opens its own.
    work = partial(embed_range, job, engine=engine, embedder=embedder) if runner.name == "local" else partial(
        embed_range, job
    )
    done = 0
    progress("embed", 0, total)
    for _, result in runner.map(work, ranges):
        summary.embedded += result["embedded"]
        summary.unchanged += result["unchanged"]
        summary.changed.update(result["ids"])
        done += result["papers"]
        progress("embed", done, total)
    return summary


def backfill_status(engine: Engine, names: tuple[str, ...] = ("tfidf-svd", "minilm")) -> dict[str, Any]:
    """How far each embedder's backfill is: vectors per model version against the papers, and the
    version a running backfill writes (the latest fit for TF-IDF, the installed model otherwise)."""
    with engine.connect() as connection:
        papers = store.count_papers(connection)
        out: dict[str, Any] = {"papers": papers, "embedders": []}
        for name in names:
            versions = store.embedding_versions(connection, name)
            if name == TfidfSvdEmbedder.name:
                run = store.latest_model_run(connection, "embedder", name)
                target = run["version"] if run else None
            else:
                target = make_embedder(name).version
            current = versions.get(target, 0) if target else 0
            out["embedders"].append({
                "embedder": name,
                "target_version": target,
                "embedded": current,
                "missing": papers - current if target else papers,
                "done": bool(target) and current == papers,
                "fraction": (current / papers) if papers else 1.0,
                "versions": versions,
            })
    return out
