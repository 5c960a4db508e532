"""`paperscope embed status | backfill | activate`: the embedder generations."""

from __future__ import annotations

from typing import Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from paperscope.analytics.embedders import EMBEDDERS, EmbedderUnavailable
from paperscope.cli.app import app, console, fail, settings_or_exit, store_or_exit
from paperscope.services import embeddings, search

embed_app = typer.Typer(help="Embedder generations: vectors per embedder and version, one active.")
app.add_typer(embed_app, name="embed")


@embed_app.command("status")
def status_command(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Every generation: embedder, version, coverage of the store's papers, files, which is active."""
    engine = store_or_exit(settings_or_exit())
    out = embeddings.status(engine)
    if as_json:
        console.print_json(orjson.dumps(out).decode())
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
    embedder: str = typer.Argument(None, help=f"{', '.join(EMBEDDERS)} (default: PAPERSCOPE_EMBEDDER, else minilm)"),
    refit: bool = typer.Option(False, "--refit", help="tfidf: fit anew on the store (a new generation)"),
    activate: bool = typer.Option(False, "--activate", help="Activate the generation when it covers the papers"),
) -> None:
    """Embed every paper the embedder's generation lacks or whose text changed, beside the active
    generation, resuming an interrupted backfill; the active generation is untouched."""
    settings = settings_or_exit()
    engine = store_or_exit(settings)
    name = embedder or embeddings.embedder_setting()
    try:
        model, generation, reason = embeddings.prepare(engine, name, settings.data_dir, refit=refit)
    except (EmbedderUnavailable, ValueError) as exc:
        fail(str(exc))
        raise
    if reason:
        console.print(f"[yellow]fitted {model.name}:[/] {reason}")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        try:
            summary = embeddings.backfill(engine, generation, model, progress=report)
        except EmbedderUnavailable as exc:
            fail(str(exc))
            raise
    console.print(
        f"[green]generation {generation.id}[/] ({generation.label}): {summary.embedded:,} papers embedded, "
        f"{summary.current:,} already current, {summary.ranges:,} ranges ({summary.resumed_ranges:,} resumed) "
        f"in {summary.seconds:.1f}s", highlight=False)
    if activate:
        _activate(settings, engine, generation.id, force=False)


@embed_app.command("activate")
def activate_command(
    generation: int = typer.Argument(..., help="Generation id (see paperscope embed status)"),
    force: bool = typer.Option(False, "--force", help="Switch even if it does not cover every paper"),
) -> None:
    """Make a generation the active one in one step and rebuild the semantic index for it."""
    settings = settings_or_exit()
    _activate(settings, store_or_exit(settings), generation, force)


def _activate(settings: Any, engine: Any, generation_id: int, force: bool) -> None:
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
