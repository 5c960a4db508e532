"""The whole build, from snapshot files to scored, searchable papers: `paperscope build`.

The stages, in order, are declared once in `STAGES`; each calls the service or ingest function
that owns its work (ingest/bulk.py, services/scores.py, services/authors.py, services/search.py),
so a faster implementation there is what the build runs. A build is recorded in the store
(`builds`, `build_stages`): a build killed at any point resumes at its first unfinished stage, and
that stage resumes at its own last committed step (the ingest at its cursor, embeddings at the
papers not yet embedded); stages that recompute from the store restart.

The first build of a store is a full one (the bulk load; every score computed); a build on a store
that already has papers is incremental: the record path merges the new lines, and each stage
redoes only what changed where it knows how (embeddings, Novelty's neighbours, author profiles,
both indexes).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.index.lexical import update_lexical
from paperscope.index.vectors import update_vectors
from paperscope.ingest import bulk
from paperscope.services import authors as authors_service
from paperscope.services import embeddings
from paperscope.services import scores as scores_service
from paperscope.services import search as search_service
from paperscope.services.runners import Runner
from paperscope.store import builds as store
from paperscope.store import bulk as store_bulk
from paperscope.store import generations
from paperscope.store import scores as scores_store
from paperscope.store.generations import Generation

# (stage, done, total): total None when unknown; `note` says what the stage is doing.
Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class BuildContext:
    """What the stages share within one process: the store, the inputs, and arrays loaded once."""

    engine: Engine
    data_dir: Path
    files: list[Path]
    embedder_name: str | None  # None: the active generation's (a new store's: bulk_embedder)
    incremental: bool
    bulk_embedder: str = "model2vec"
    batch_size: int = bulk.BULK_BATCH  # snapshot lines per transaction
    progress: Progress = _quiet
    embedder: Any = None
    generation: Generation | None = None
    changed: set[str] | None = None  # papers embedded by this process (None: not known, e.g. resumed)
    facts: list[dict[str, Any]] | None = None
    vectors: np.ndarray | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    runner: Runner | None = None  # where the embed and Novelty stages run (None: this process)

    def prepared_embedder(self) -> Any:
        if self.embedder is None:
            self.embedder, self.generation, _ = embeddings.prepare(
                self.engine, self.embedder_name, self.data_dir, default=self.bulk_embedder)
        return self.embedder

    def active_generation(self) -> Generation:
        """The generation the scores and the semantic index read (the active one)."""
        with self.engine.connect() as connection:
            active = generations.active_generation(connection)
        if active is None:
            raise RuntimeError("no embedder generation is active: the embed stage has not run")
        return active

    def facts_and_vectors(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        if self.facts is None or self.vectors is None:
            with self.engine.connect() as connection:
                self.facts = scores_store.list_paper_facts(connection)
            self.vectors, self.hashes = scores_service._aligned_vectors(
                self.engine, self.active_generation(), [f["id"] for f in self.facts]
            )
        return self.facts, self.vectors


@dataclass(frozen=True)
class Outcome:
    """What a stage did: how many items (for the rate) of which kind, and its own figures."""

    items: int
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)


# --- the stages ---------------------------------------------------------------------------------


def stage_ingest(ctx: BuildContext) -> Outcome:
    def progress(lines: int, done_bytes: int, total_bytes: int) -> None:
        ctx.progress("ingest", done_bytes, total_bytes)  # bytes: the only total known before reading

    summary = bulk.load_snapshot(
        ctx.engine, ctx.files, batch_size=ctx.batch_size, record_batch_size=ctx.batch_size, progress=progress
    )
    counts = dict(summary.counts)
    return Outcome(counts.get("records", 0), "records", {
        "path": "bulk" if counts.get("bulk_load") else "record", "papers_new": counts.get("papers_new", 0),
        "set_aside": counts.get("set_aside", 0), "quarantined": counts.get("quarantined", 0),
        "resumed_from": summary.resumed_from,
    })


def stage_embed(ctx: BuildContext) -> Outcome:
    ctx.prepared_embedder()
    ctx.changed = set()
    generation, summary, _ = embeddings.update(
        ctx.engine, ctx.embedder.name, ctx.data_dir, progress=ctx.progress, changed=ctx.changed, runner=ctx.runner)
    return Outcome(summary.embedded, "papers", {"embedder": generation.label, "generation": generation.id,
                                                "active": generation.active, "unchanged": summary.unchanged})


def stage_novelty(ctx: BuildContext) -> Outcome:
    facts, vectors = ctx.facts_and_vectors()
    ctx.progress("novelty", 0, len(facts))
    # A full build recomputes every paper; an incremental one reuses the stored neighbours of papers
    # older than every change (the changed set is this process's, or, after a resume, the papers
    # whose evidence names another text than the stored one: the stage finds those itself).
    changed = ctx.changed if ctx.incremental else None
    if ctx.incremental and changed is None:
        changed = set()
    generation = ctx.active_generation()
    summary = scores_service.ScoreSummary()
    raw, pct, searched = scores_service.score_novelty(
        ctx.engine, generation, facts, vectors, ctx.hashes, changed=changed,
        graph_folder=scores_service.novelty_graph_folder(ctx.data_dir, generation), summary=summary,
        runner=ctx.runner,
    )  # fmt: skip
    ctx.progress("novelty", len(facts), len(facts))
    return Outcome(len(facts), "papers", {
        "with_novelty": raw, "with_percentile": pct, "searched": searched,
        "search": getattr(summary, "novelty_search", None),
    })


def stage_categories(ctx: BuildContext) -> Outcome:
    predicted, card = scores_service.score_categories(ctx.engine)
    with ctx.engine.connect() as connection:
        papers = store_bulk.count_papers(connection)
    return Outcome(papers, "papers", {"predicted": predicted, "status": card.get("status")})


def stage_ai_score(ctx: BuildContext) -> Outcome:
    facts, vectors = ctx.facts_and_vectors()
    scored, card = scores_service.score_impact(ctx.engine, ctx.active_generation(), facts, vectors)
    return Outcome(len(facts), "papers", {"scored": scored, "status": card.get("status"), "reason": card.get("reason")})


def stage_authors(ctx: BuildContext) -> Outcome:
    # The vectors are not needed any more: free them before the profile step loads its arrays.
    ctx.facts = ctx.vectors = None
    report = authors_service.recompute(ctx.engine, incremental=ctx.incremental, data_dir=ctx.data_dir)
    return Outcome(int(report.get("authorships", 0)), "authorships", {
        "mode": report.get("mode"), "identities": report.get("identities"), "papers": report.get("papers"),
        "page_parts": report.get("page_parts"),
    })


def stage_keyword_index(ctx: BuildContext) -> Outcome:
    root = search_service.index_root(ctx.data_dir)
    update = update_lexical(ctx.engine, root / "lexical", progress=ctx.progress)
    return Outcome(update.indexed, "documents",
                   {"docs": update.docs, "rebuilt": update.rebuilt, "reason": update.reason})


def stage_vector_index(ctx: BuildContext) -> Outcome:
    root = search_service.index_root(ctx.data_dir)
    vectors = update_vectors(ctx.active_generation(), root / search_service.VECTORS, progress=ctx.progress)
    return Outcome(vectors.added + vectors.replaced, "vectors", {
        "count": vectors.count, "rebuilt": vectors.rebuilt, "reason": vectors.reason,
    })


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    run: Callable[[BuildContext], Outcome]
    budget_s: float  # this stage's share of the hour for all of arXiv: weights the overall ETA


STAGES: tuple[Stage, ...] = (
    Stage("ingest", "Ingest the snapshot", stage_ingest, 180),
    Stage("embed", "Embed titles and abstracts", stage_embed, 300),
    Stage("novelty", "Novelty (nearest earlier papers)", stage_novelty, 900),
    Stage("categories", "Categories", stage_categories, 120),
    Stage("ai_score", "AI Score", stage_ai_score, 180),
    Stage("authors", "Author profiles", stage_authors, 60),
    Stage("keyword_index", "Keyword index", stage_keyword_index, 300),
    Stage("vector_index", "Vector index", stage_vector_index, 900),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


# --- running ------------------------------------------------------------------------------------


@dataclass
class StageReport:
    name: str
    title: str
    status: str  # done | skipped (finished by an earlier run of this build) | failed
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    items: int | None
    unit: str
    detail: dict[str, Any]

    @property
    def rate(self) -> float | None:
        if not self.items or not self.seconds:
            return None
        return self.items / self.seconds


@dataclass
class BuildReport:
    build_id: int
    mode: str
    resumed: bool
    stages: list[StageReport]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    @property
    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds for s in self.stages)


def _cpu_seconds() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mib() -> float:
    """The peak resident memory of this process or of its largest child so far (Linux: KiB)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return max(me.ru_maxrss, children.ru_maxrss) / 1024


def _check_files(files: Sequence[Path]) -> list[Path]:
    if not files:
        raise ValueError("give at least one snapshot file")
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"snapshot file not found: {path}")
    return [Path(p) for p in files]


def run_build(
    engine: Engine,
    data_dir: Path,
    files: Sequence[Path],
    *,
    embedder_name: str | None = None,
    bulk_embedder: str = "model2vec",
    stages: Sequence[str] | None = None,
    restart: bool = False,
    batch_size: int = bulk.BULK_BATCH,
    progress: Progress = _quiet,
    on_stage: Callable[[Stage, str], None] | None = None,
    runner: Runner | None = None,
) -> BuildReport:
    """Run every stage in order (or the named `stages`), resuming this target's unfinished build.

    `on_stage(stage, event)` hears "start", "done" and "skipped" (finished before the resume).
    """
    files = _check_files(files)
    wanted = list(stages) if stages else list(STAGE_NAMES)
    unknown = [s for s in wanted if s not in STAGE_NAMES]
    if unknown:
        raise ValueError(f"unknown stage {', '.join(unknown)}: the stages are {', '.join(STAGE_NAMES)}")
    target = bulk.snapshot_target(files)
    with engine.begin() as connection:
        unfinished = None if restart else store.find_unfinished_build(connection, target)
        if unfinished is not None:
            build_id, mode = unfinished["id"], unfinished["mode"]
            finished = {s["stage"]: s for s in store.list_stages(connection, build_id) if s["status"] == "done"}
        else:
            if restart:
                previous = store.find_unfinished_build(connection, target)
                if previous is not None:
                    store.finish_build(connection, previous["id"], "superseded")
            mode = "full" if store_bulk.count_papers(connection) == 0 else "incremental"
            build_id, finished = store.start_build(connection, target, mode), {}
    ctx = BuildContext(
        engine, Path(data_dir), files, embedder_name,
        incremental=mode == "incremental", batch_size=batch_size, bulk_embedder=bulk_embedder, runner=runner,
    )
    report = BuildReport(build_id, mode, resumed=unfinished is not None, stages=[])
    for stage in STAGES:
        if stage.name not in wanted:
            continue
        done = finished.get(stage.name)
        if done is not None:
            report.stages.append(_report_of(stage, done, "skipped"))
            if on_stage:
                on_stage(stage, "skipped")
            continue
        if on_stage:
            on_stage(stage, "start")
        # Whatever a stage's own functions call their steps, the build reports them under the stage.
        ctx.progress = lambda _label, done, total, name=stage.name: progress(name, done, total)
        report.stages.append(_run_stage(ctx, build_id, stage))
        if on_stage:
            on_stage(stage, "done")
    with engine.begin() as connection:
        all_done = {s["stage"] for s in store.list_stages(connection, build_id) if s["status"] == "done"}
        if all_done >= set(STAGE_NAMES):
            store.finish_build(connection, build_id, "done")
    return report


def _report_of(stage: Stage, row: dict[str, Any], status: str) -> StageReport:
    detail = dict(row["detail"] or {})
    return StageReport(
        stage.name, stage.title, status, row["seconds"] or 0.0, row["cpu_seconds"] or 0.0,
        row["peak_rss_mib"] or 0.0, row["items"], detail.pop("unit", ""), detail,
    )


def _run_stage(ctx: BuildContext, build_id: int, stage: Stage) -> StageReport:
    with ctx.engine.begin() as connection:
        store.start_stage(connection, build_id, stage.name)
    wall, cpu = time.perf_counter(), _cpu_seconds()
    try:
        outcome = stage.run(ctx)
    except BaseException as exc:
        with ctx.engine.begin() as connection:
            store.finish_stage(
                connection, build_id, stage.name, "failed", seconds=time.perf_counter() - wall,
                cpu_seconds=_cpu_seconds() - cpu, peak_rss_mib=peak_rss_mib(), items=None,
                detail={"error": f"{type(exc).__name__}: {exc}"},
            )
            store.finish_build(connection, build_id, "failed")
        raise
    seconds, cpu_seconds = time.perf_counter() - wall, _cpu_seconds() - cpu
    detail = {"unit": outcome.unit, **outcome.detail}
    with ctx.engine.begin() as connection:
        store.finish_stage(
            connection, build_id, stage.name, "done", seconds=seconds, cpu_seconds=cpu_seconds,
            peak_rss_mib=peak_rss_mib(), items=outcome.items, detail=detail,
        )
    return StageReport(stage.name, stage.title, "done", seconds, cpu_seconds, peak_rss_mib(), outcome.items,
                       outcome.unit, outcome.detail)
