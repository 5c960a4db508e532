"""Embedder generations as use cases: create one, backfill it (resumable, by id range, with
progress), keep it current for new and changed papers, activate it, and say where each stands.

A backfill is a plan of consecutive paper-id ranges written to the generation's folder
(`plan.json`); `embed_range` embeds one range and writes one vector file named after the plan's
round and the range, so running a range twice (a retry, a second worker) writes the same file
again, and a killed backfill resumes at the ranges without a `done/` marker. The distributed
engine runs the same `embed_range` on its workers. When every range is done the parts are folded
into one base file and the generation records how many of the store's papers it covers with
current text. `activate` switches every reader to a generation in one transaction, and only once
it covers every paper.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperscope.analytics.embedders import (
    DEFAULT_EMBEDDER,
    EMBEDDERS,
    Embedder,
    TfidfSvdEmbedder,
    make_embedder,
    paper_text,
    text_hash,
)
from paperscope.store import generations as store
from paperscope.store import scores as scores_store
from paperscope.store import vector_files
from paperscope.store.generations import Generation

EMBEDDER_ENV = "PAPERSCOPE_EMBEDDER"
RANGE_SIZE = 4096  # papers per id range: one vector file, one unit of (distributed) work

Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


def embedder_setting(environ: Mapping[str, str] | None = None) -> str:
    """The embedder of a store's first generation and of `paperscope embed backfill` without a
    name (PAPERSCOPE_EMBEDDER): minilm by default."""
    env = os.environ if environ is None else environ
    return (env.get(EMBEDDER_ENV) or DEFAULT_EMBEDDER).strip().lower()


def vectors_root(engine: Engine, data_dir: Path | None) -> Path:
    """Where generations keep their vector files: `<data_dir>/embeddings`; for a SQLite store
    without a data dir given, beside the database file (the default data dir holds it)."""
    if data_dir is not None:
        return Path(data_dir) / "embeddings"
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).resolve().parent / "embeddings"  # type: ignore[arg-type]
    raise ValueError(f"the vector files of a {engine.dialect.name} store need a data dir: "
                     "set PAPERSCOPE_DATA_DIR (or pass data_dir)")


# --- embedders of generations ---------------------------------------------------------------------


def load_embedder(engine: Engine, generation: Generation, data_dir: Path | None = None) -> Embedder:
    """The model that computed a generation's vectors: what encodes query text for it."""
    embedder = make_embedder(generation.embedder, data_dir=data_dir)
    if isinstance(embedder, TfidfSvdEmbedder):
        with engine.connect() as connection:
            run = scores_store.find_model_run(connection, "embedder", embedder.name, generation.version)
        if run is None or run["artifact"] is None:
            raise ValueError(f"generation {generation.id} ({generation.label}): its fitted model is not "
                             "in the store any more")
        return TfidfSvdEmbedder.loads(run["artifact"])
    if embedder.version != generation.version:
        raise ValueError(f"generation {generation.id} was computed by {generation.label}, but the installed "
                         f"{embedder.name} is {embedder.version}: install that version or activate another")
    return embedder


def ensure_generation(engine: Engine, embedder: Embedder, data_dir: Path | None = None) -> Generation:
    """The generation of this embedder and version, created (not active, nothing embedded) if new."""
    with engine.begin() as connection:
        found = store.find_generation(connection, embedder.name, embedder.version)
        if found is not None:
            return found
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in embedder.name)
        folder = vectors_root(engine, data_dir) / f"g{{id}}-{slug}"
        return store.insert_generation(connection, embedder.name, embedder.version, embedder.dim, folder)


# --- one range ------------------------------------------------------------------------------------


def range_key(round_id: str, after: str | None, upto: str | None) -> str:
    return hashlib.blake2b(f"{round_id}\0{after or ''}\0{upto or ''}".encode(), digest_size=10).hexdigest()


@dataclass
class RangeResult:
    papers: int = 0
    embedded: int = 0
    current: int = 0  # papers whose vector was already of their current text
    ids: list[str] = field(default_factory=list)  # the papers embedded

    def counts(self) -> dict[str, int]:
        return {"papers": self.papers, "embedded": self.embedded, "current": self.current}


def embed_range(engine: Engine, generation: Generation, embedder: Embedder, round_id: str,
                after: str | None, upto: str | None, known: Mapping[str, str] | None = None) -> RangeResult:
    """Embed the papers with after < id <= upto (no upper bound when None) whose text is new or changed against `known`
    (paper id -> text hash already in the generation; None: every paper) and write them as one
    vector file named by (round, range). Idempotent: the same call writes the same file."""
    with engine.connect() as connection:
        rows = store.list_texts_in_range(connection, after, upto)
    result = RangeResult(papers=len(rows))
    pending: list[tuple[str, str, str]] = []
    for pid, title, abstract in rows:
        text = paper_text(title, abstract)
        digest = text_hash(text)
        if known is not None and known.get(pid) == digest:
            result.current += 1
        else:
            pending.append((pid, text, digest))
    key = range_key(round_id, after, upto)
    if pending:
        vectors = embedder.embed([text for _, text, _ in pending])
        vector_files.write_vectors(generation.folder / f"part-{key}{vector_files.SUFFIX}",
                                   [p[0] for p in pending], [p[2] for p in pending], vectors)
    result.embedded = len(pending)
    result.ids = [p[0] for p in pending]
    done = generation.folder / "done"
    done.mkdir(parents=True, exist_ok=True)
    (done / key).write_text(json.dumps(result.counts()))
    return result


# --- a whole generation ---------------------------------------------------------------------------


@dataclass
class BackfillSummary:
    generation: int
    label: str
    papers: int = 0  # papers of the store the plan went over
    embedded: int = 0  # embedded by this call
    current: int = 0  # already current when this call came to them
    covered: int = 0  # papers with a vector of their current text when the plan finished
    ranges: int = 0
    resumed_ranges: int = 0
    seconds: float = 0.0


def _plan(engine: Engine, generation: Generation, range_size: int) -> dict[str, Any]:
    path = generation.folder / "plan.json"
    if path.is_file():
        return json.loads(path.read_text())
    with engine.connect() as connection:
        bounds = store.id_range_bounds(connection, range_size)
        papers = store.count_papers(connection)
    plan = {"round": f"{time.time_ns():x}", "ranges": [[a, b] for a, b in bounds], "papers": papers}
    generation.folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan))
    os.replace(tmp, path)
    return plan


def backfill(engine: Engine, generation: Generation, embedder: Embedder, *, progress: Progress = _quiet,
             range_size: int = RANGE_SIZE, stop_after: int | None = None,
             changed: set[str] | None = None) -> BackfillSummary:
    """Bring a generation up to date with the store: embed every paper it lacks or whose text
    changed, range by range, resuming a plan a killed run left; then fold the files into one base
    and record the coverage. `stop_after` ranges: stop early (what a kill does, for tests);
    `changed` receives the ids embedded by this call."""
    started = time.perf_counter()
    summary = BackfillSummary(generation.id, generation.label)
    plan = _plan(engine, generation, range_size)
    known = {pid: h for pid, h in zip(*_known(generation), strict=True)}
    done_dir = generation.folder / "done"
    ranges = plan["ranges"]
    summary.ranges = len(ranges)
    progress(f"embed {generation.label}", 0, plan["papers"])
    seen = 0
    for n, (after, upto) in enumerate(ranges):
        marker = done_dir / range_key(plan["round"], after, upto)
        if marker.is_file():
            earlier = json.loads(marker.read_text())
            summary.resumed_ranges += 1
            summary.covered += earlier["embedded"] + earlier["current"]
            seen += earlier["papers"]
            summary.papers += earlier["papers"]
            continue
        else:
            if stop_after is not None and n - summary.resumed_ranges >= stop_after:
                _record(engine, generation, plan, summary, ranges_done=n)
                summary.seconds = round(time.perf_counter() - started, 3)
                return summary
            ran = embed_range(engine, generation, embedder, plan["round"], after, upto, known)
            if changed is not None:
                changed.update(ran.ids)
            earlier = ran.counts()
        summary.papers += earlier["papers"]
        summary.embedded += earlier["embedded"]
        summary.current += earlier["current"]
        summary.covered += earlier["embedded"] + earlier["current"]
        seen += earlier["papers"]
        progress(f"embed {generation.label}", seen, plan["papers"])
        if n % 16 == 15:
            _record(engine, generation, plan, summary, ranges_done=n + 1)
    # Papers added after the plan was made (ids past its last range) form one more range.
    last = ranges[-1][1] if ranges else None
    with engine.connect() as connection:
        tail = store.list_texts_in_range(connection, last, None, limit=1)
    if tail:
        extra = embed_range(engine, generation, embedder, plan["round"], last, None, known)
        summary.papers += extra.papers
        summary.embedded += extra.embedded
        summary.current += extra.current
        summary.covered += extra.embedded + extra.current
        if changed is not None:
            changed.update(extra.ids)
    with engine.connect() as connection:
        in_store = {pid for pid, _, _ in store.paper_dates(connection)}
    vector_files.compact(generation.folder, generation.dim, keep_ids=in_store)
    for marker in done_dir.glob("*") if done_dir.is_dir() else ():
        marker.unlink()
    (generation.folder / "plan.json").unlink(missing_ok=True)
    summary.seconds = round(time.perf_counter() - started, 3)
    with engine.begin() as connection:
        store.set_progress(connection, generation.id, {
            "papers": len(in_store), "covered": min(summary.covered, len(in_store)),
            "embedded": summary.embedded, "ranges": summary.ranges, "ranges_done": summary.ranges,
            "seconds": summary.seconds,
        }, state=None if generation.active or generation.state == "retired" else "ready")
    return summary


def _known(generation: Generation) -> tuple[list[str], list[str]]:
    vectors = vector_files.open_set(generation.folder, generation.dim)
    return vectors.ids, vectors.hashes


def _record(engine: Engine, generation: Generation, plan: dict[str, Any], summary: BackfillSummary,
            ranges_done: int) -> None:
    with engine.begin() as connection:
        store.set_progress(connection, generation.id, {
            "papers": plan["papers"], "embedded": summary.embedded, "covered": None,
            "ranges": len(plan["ranges"]), "ranges_done": ranges_done,
        }, state=None if generation.active else "backfilling")


# --- switching --------------------------------------------------------------------------------------


def activate(engine: Engine, generation_id: int, *, force: bool = False) -> Generation:
    """Make a generation the active one, in one step, once it covers every paper of the store
    with its current text (`force`: switch even so; the uncovered papers have no vector)."""
    with engine.begin() as connection:
        generation = store.get_generation(connection, generation_id)
        if generation is None:
            raise ValueError(f"no embedder generation {generation_id}: see `paperscope embed status`")
        papers = store.count_papers(connection)
        covered = generation.progress.get("covered")
        if not force and (covered is None or covered < papers or generation.progress.get("papers") != papers):
            raise ValueError(
                f"generation {generation_id} ({generation.label}) covers {covered or 0:,} of the store's "
                f"{papers:,} papers: run `paperscope embed backfill {generation.embedder}` first")
        store.set_active(connection, generation_id)
        activated = store.get_generation(connection, generation_id)
    assert activated is not None
    return activated


def prepare(engine: Engine, name: str | None = None, data_dir: Path | None = None, *,
            refit: bool = False) -> tuple[Embedder, Generation, str | None]:
    """The embedder named (default: the active generation's, else the setting's), fitted when it
    needs a fit, and its generation; and why it was (re)fitted now, if it was."""
    reason = None
    if name is None:
        with engine.connect() as connection:
            active = store.active_generation(connection)
        name = active.embedder if active is not None else embedder_setting()
    embedder = make_embedder(name, data_dir=data_dir)
    if isinstance(embedder, TfidfSvdEmbedder):
        from paperscope.services.tfidf_fit import fitted_tfidf

        embedder, reason = fitted_tfidf(engine, refit)
    return embedder, ensure_generation(engine, embedder, data_dir), reason


def update(engine: Engine, name: str | None = None, data_dir: Path | None = None, *, refit: bool = False,
           progress: Progress = _quiet, changed: set[str] | None = None,
           ) -> tuple[Generation, BackfillSummary, str | None]:
    """The daily step: bring the named (default: active) embedder's generation up to date, and make
    it the active one when no generation is active yet or when it replaces an older fit of the same
    embedder (a TF-IDF refit). Returns the generation as it now stands."""
    embedder, generation, reason = prepare(engine, name, data_dir, refit=refit)
    summary = backfill(engine, generation, embedder, progress=progress, changed=changed)
    with engine.connect() as connection:
        active = store.active_generation(connection)
    if active is None or (active.id != generation.id and active.embedder == generation.embedder):
        activate(engine, generation.id)
    with engine.connect() as connection:
        current = store.get_generation(connection, generation.id)
    assert current is not None
    return current, summary, reason


def status(engine: Engine) -> dict[str, Any]:
    """Every generation with its coverage and where its files are, the active one first."""
    with engine.connect() as connection:
        gens = store.list_generations(connection)
        papers = store.count_papers(connection)
    out = []
    for gen in sorted(gens, key=lambda x: (not x.active, -x.id)):
        files = vector_files.list_files(gen.folder)
        plan = gen.folder / "plan.json"
        out.append({
            "id": gen.id, "embedder": gen.embedder, "version": gen.version, "dim": gen.dim,
            "active": gen.active, "state": gen.state, "folder": str(gen.folder),
            "files": len(files), "bytes": sum((gen.folder / f).stat().st_size for f in files),
            "backfill_in_progress": plan.is_file(),
            "created_at": gen.created_at.isoformat() if gen.created_at else None,
            "activated_at": gen.activated_at.isoformat() if gen.activated_at else None,
            **gen.progress,
        })
    return {"papers": papers, "embedders": list(EMBEDDERS), "generations": out}
