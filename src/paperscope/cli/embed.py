"""`paperscope embed status | backfill | activate`: the embedder generations; and the
`--engine`/`--address` options of every command whose batch work can run on a Ray cluster."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from paperscope.cli.base import app, console, fail, runtime_or_exit

if TYPE_CHECKING:
    from paperscope.services.runners import Runner

# The models and the services load when a command runs, not when the CLI starts.
EMBEDDER_NAMES = "minilm, model2vec, tfidf"

embed_app = typer.Typer(help="Embedder generations: vectors per embedder and version, one active; backfill one "
                             "beside the active one (here or on a Ray cluster), then switch to it.")
app.add_typer(embed_app, name="embed")

ENGINE_HELP = "Where batch work runs: local (this process) or ray (the cluster at --address)"
ADDRESS_HELP = "HOST:PORT of the Ray cluster's head (with --engine ray)"


def runner_or_exit(engine: str | None, address: str | None) -> Runner:
    """The runner `--engine` and `--address` name, or a clear error and exit."""
    from paperscope.services.runners import RunnerUnavailable, open_runner

    try:
        return open_runner(engine, address)
    except RunnerUnavailable as exc:
        fail(str(exc))
        raise


@embed_app.command("status")
def status_command(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Every generation: embedder, version, coverage of the store's papers, files, which is active."""
    from paperscope.services import embeddings

    out = embeddings.status(runtime_or_exit().engine)
    if as_json:
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(title=f"embedder generations ({out['papers']:,} papers in the store)")
    for column in ("id", "embedder", "version", "dim", "state", "covered", "files", "MB", "activated"):
        table.add_column(column)
    for g in out["generations"]:
        covered = g.get("covered")
        if g.get("backfill_in_progress"):
            covered_text = f"backfilling: {g.get('ranges_done', 0)}/{g.get('ranges', '?')} ranges"
        else:
            covered_text = "—" if covered is None else f"{covered:,}/{g.get('papers', 0):,}"
        table.add_row(("* " if g["active"] else "") + str(g["id"]), g["embedder"], g["version"], str(g["dim"]),
                      g["state"], covered_text, str(g["files"]), f"{g['bytes'] / 1e6:.1f}",
                      (g["activated_at"] or "")[:19])
    console.print(table)
    if not out["generations"]:
        console.print("no generation yet: `paperscope embed backfill` (or `paperscope score`) makes the first")


@embed_app.command("backfill")
def backfill_command(
    embedder: str = typer.Option(None, help=f"{EMBEDDER_NAMES} (default: PAPERSCOPE_EMBEDDER)"),
    refit: bool = typer.Option(False, "--refit", help="tfidf: fit anew on the store (a new generation)"),
    activate: bool = typer.Option(False, "--activate", help="Activate the generation when it covers the papers"),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str = typer.Option(None, "--address", help=ADDRESS_HELP),
    range_size: int = typer.Option(None, min=1, help="Papers per range (one task, one file; "
                                   "default: services.backfill.RANGE_SIZE)"),
) -> None:
    """Embed every paper the embedder's generation lacks or whose text changed, beside the active
    generation (which stays active), resuming an interrupted backfill."""
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.services import backfill, embeddings

    range_size = range_size or backfill.RANGE_SIZE
    runner = runner_or_exit(engine, address)
    runtime = runtime_or_exit()
    settings, store = runtime.settings, runtime.engine
    try:
        model, generation, reason = embeddings.prepare(store, embedder or settings.embedder, settings.data_dir,
                                                       refit=refit)
    except (EmbedderUnavailable, ValueError) as exc:
        fail(str(exc))
        raise
    if reason:
        console.print(f"[yellow]fitted {model.name}:[/] {reason}", highlight=False)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"{stage} ({runner.name})", total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = embeddings.backfill(store, generation, model, runner, progress=report, range_size=range_size)
        except EmbedderUnavailable as exc:
            fail(str(exc))
            raise
    console.print(
        f"[green]generation {generation.id}[/] ({generation.label}) on {summary.engine}: {summary.embedded:,} "
        f"papers embedded, {summary.unchanged:,} already current, {summary.ranges:,} ranges "
        f"({summary.resumed_ranges:,} resumed) in {summary.seconds:.1f}s", highlight=False)
    if activate:
        _activate(settings, store, generation.id, force=False)


@embed_app.command("activate")
def activate_command(
    generation: int = typer.Argument(..., help="Generation id (see paperscope embed status)"),
    force: bool = typer.Option(False, "--force", help="Switch even if it does not cover every paper"),
) -> None:
    """Make a generation the active one in one step and rebuild the semantic index for it."""
    runtime = runtime_or_exit()
    _activate(runtime.settings, runtime.engine, generation, force)


def _activate(settings: Any, engine: Any, generation_id: int, force: bool) -> None:
    from paperscope.services import embeddings, search

    try:
        active = embeddings.activate(engine, generation_id, force=force)
    except ValueError as exc:
        fail(str(exc))
        raise
    console.print(f"[green]generation {active.id} ({active.label}) is active[/]: queries, similar papers, "
                  "recommendations and similar authors use it now", highlight=False)
    built = search.build_indexes(engine, settings.data_dir, embed=False)
    if built.vectors is not None:
        console.print(f"semantic index rebuilt: {built.vectors.count:,} papers ({built.vectors.seconds:.1f}s)",
                      highlight=False)
    console.print("Novelty and the AI Score still name the generation that computed them: "
                  "`paperscope score` recomputes them with this one", highlight=False)
