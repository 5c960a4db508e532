"""Embedder generations as use cases: create one, bring it up to date (services/backfill.py:
resumable, by id range, here or on a Ray cluster), activate it, and say where each stands.

`activate` switches every reader to a generation in one transaction, and only once it covers every
paper of the store with its current text. `update` is the daily step: the active generation (or
the named embedder's) brought up to date, made active when none is yet or when it replaces an
older fit of the same embedder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperscope.analytics.embedders import EMBEDDERS, Embedder, TfidfSvdEmbedder, make_embedder
from paperscope.core.settings import configured, declared_default
from paperscope.services import backfill as backfills
from paperscope.services.backfill import BackfillSummary, load_embedder
from paperscope.services.runners import Runner
from paperscope.store import generations as store
from paperscope.store import vector_files
from paperscope.store.generations import Generation

Progress = Callable[[str, int, int | None], None]
__all__ = ["activate", "ensure_generation", "load_embedder", "prepare", "status", "update", "vectors_root"]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


def default_embedder() -> str:
    """The embedder of a store's first generation when none is named (the settings' default)."""
    return str(declared_default("embedder"))


def vectors_root(engine: Engine, data_dir: Path | None) -> Path:
    """Where generations keep their vector files: `<data_dir>/embeddings`; for a SQLite store
    without a data dir given, beside the database file (the default data dir holds it)."""
    if data_dir is not None:
        return Path(data_dir) / "embeddings"
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(engine.url.database).resolve().parent / "embeddings"  # type: ignore[arg-type]
    raise ValueError(f"the vector files of a {engine.dialect.name} store need a data dir: "
                     "set PAPERSCOPE_DATA_DIR (or pass data_dir)")


def ensure_generation(engine: Engine, embedder: Embedder, data_dir: Path | None = None) -> Generation:
    """The generation of this embedder and version, created (not active, nothing embedded) if new."""
    with engine.begin() as connection:
        found = store.find_generation(connection, embedder.name, embedder.version)
        if found is not None:
            return found
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in embedder.name)
        folder = vectors_root(engine, data_dir) / f"g{{id}}-{slug}"
        return store.insert_generation(connection, embedder.name, embedder.version, embedder.dim, folder)


def backfill(engine: Engine, generation: Generation, embedder: Embedder, runner: Runner | None = None, *,
             progress: Progress = _quiet, range_size: int = backfills.RANGE_SIZE,
             stop_after: int | None = None) -> BackfillSummary:
    """services/backfill.py's backfill of one generation (here for the use cases' callers)."""
    return backfills.backfill_embeddings(engine, generation, embedder, runner, range_size=range_size,
                                         progress=progress, stop_after=stop_after)


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
            refit: bool = False, default: str | None = None) -> tuple[Embedder, Generation, str | None]:
    """The embedder named (default: the active generation's, else the settings' default), fitted
    when it needs a fit, and its generation; and why it was (re)fitted now, if it was."""
    reason = None
    if name is None:
        with engine.connect() as connection:
            active = store.active_generation(connection)
        name = active.embedder if active is not None else (default or default_embedder())
    embedder = make_embedder(name, data_dir=data_dir if data_dir is not None else
                             vectors_root(engine, data_dir).parent,
                             runtime=configured("minilm_runtime"), max_seq_length=configured("minilm_max_tokens"))
    if isinstance(embedder, TfidfSvdEmbedder):
        from paperscope.services.tfidf_fit import fitted_tfidf

        embedder, reason = fitted_tfidf(engine, refit)
    return embedder, ensure_generation(engine, embedder, data_dir), reason


def update(engine: Engine, name: str | None = None, data_dir: Path | None = None, *, refit: bool = False,
           progress: Progress = _quiet, changed: set[str] | None = None, runner: Runner | None = None,
           default: str | None = None) -> tuple[Generation, BackfillSummary, str | None]:
    """The daily step: bring the named (default: active) embedder's generation up to date, and make
    it the active one when no generation is active yet or when it replaces an older fit of the same
    embedder (a TF-IDF refit). Returns the generation as it now stands."""
    embedder, generation, reason = prepare(engine, name, data_dir, refit=refit, default=default)
    summary = backfill(engine, generation, embedder, runner, progress=progress)
    if changed is not None:
        changed.update(summary.changed)
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
