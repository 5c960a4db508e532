"""`paperscope embed backfill` and `paperscope embed status`, and the `--engine`/`--address`
options of every command whose batch work can run on a Ray cluster."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paperscope.cli.app import app, console, fail, runtime_or_exit

if TYPE_CHECKING:
    from paperscope.services.runners import Runner

embed_app = typer.Typer(help="Paper embeddings: backfill them (here or on a Ray cluster) and see how far they are.")
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


@embed_app.command("backfill")
def backfill_command(
    embedder: str = typer.Option(None, help="tfidf or minilm (default: PAPERSCOPE_EMBEDDER, else tfidf)"),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str = typer.Option(None, "--address", help=ADDRESS_HELP),
    range_size: int = typer.Option(None, min=1, help="Papers per range (one task, one transaction; "
                                   "default: services.backfill.RANGE_SIZE)"),
) -> None:
    """Embed every paper without a current vector of the embedder; resumes where a stopped one ended."""
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.services import backfill, scores

    range_size = range_size or backfill.RANGE_SIZE
    runner = runner_or_exit(engine, address)
    runtime = runtime_or_exit()
    store = runtime.engine
    try:
        prepared, reason = scores.prepare_embedder(store, embedder or runtime.settings.embedder)
    except (EmbedderUnavailable, ValueError) as exc:
        fail(str(exc))
        raise
    if reason:
        console.print(f"[yellow]fitted {prepared.name}:[/] {reason}", highlight=False)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task(f"embed ({runner.name})", total=None)
        summary = backfill.backfill_embeddings(
            store, prepared, runner, range_size=range_size,
            progress=lambda _stage, done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"[green]{summary.embedder}@{summary.version}[/] on {summary.engine}: {summary.ranges:,} ranges, "
        f"{summary.embedded:,} embedded, {summary.unchanged:,} already current", highlight=False,
    )


@embed_app.command("status")
def status_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """How many papers have a current vector of each embedder, and which model versions are stored."""
    from paperscope.services import backfill

    status = backfill.backfill_status(runtime_or_exit().engine)
    if as_json:
        sys.stdout.write(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(title=f"embeddings of {status['papers']:,} papers")
    for column in ("embedder", "version written now", "current", "missing", "done", "other versions"):
        table.add_column(column)
    for row in status["embedders"]:
        others = {v: n for v, n in row["versions"].items() if v != row["target_version"]}
        table.add_row(
            row["embedder"], row["target_version"] or "— (not fitted yet)", f"{row['embedded']:,}",
            f"{row['missing']:,}", "yes" if row["done"] else f"{row['fraction']:.1%}",
            ", ".join(f"{v}: {n:,}" for v, n in others.items()) or "—",
        )
    console.print(table)
