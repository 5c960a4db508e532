"""`paperscope build --snapshot FILE`: every stage from the snapshot to scored, searchable papers.

A bar per stage, one for the whole build with its ETA (stages weighted by their share of the
hour for all of arXiv), and at the end each stage's time, CPU time, rate and peak memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from paperscope.cli.base import app, console, fail, runtime_or_exit
from paperscope.cli.embed import ADDRESS_HELP, ENGINE_HELP, runner_or_exit

if TYPE_CHECKING:
    from paperscope.services.build import BuildReport


@app.command("build")
def build_command(
    snapshot: list[Path] = typer.Option(
        ..., "--snapshot", help="arXiv metadata snapshot file(s), JSON lines, plain or gzip."),
    stage: list[str] = typer.Option(None, "--stage", help="Run only these stages (repeatable; the stages "
                                    "are named below, an unknown one is refused with the list)."),
    embedder: str = typer.Option(None, help="Embedder: minilm, model2vec or tfidf (default: the active generation's; "
                                 "a new store's full build: PAPERSCOPE_BULK_EMBEDDER, model2vec)"),
    restart: bool = typer.Option(False, help="Start a new build instead of resuming an unfinished one."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    engine_name: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Build everything from a snapshot: ingest → embed → Novelty → categories → AI Score → author
    profiles → keyword and vector indexes. Resumes a killed build; on a store with papers it runs
    incrementally (only what changed)."""
    from paperscope.services.build import STAGE_NAMES, STAGES, Stage, run_build

    unknown = [s for s in stage or () if s not in STAGE_NAMES]
    if unknown:
        fail(f"--stage {', '.join(unknown)}: choose from {', '.join(STAGE_NAMES)}")
    runner = runner_or_exit(engine_name, address)
    runtime = runtime_or_exit()
    settings, engine = runtime.settings, runtime.engine
    budget = {s.name: s.budget_s for s in STAGES}
    chosen = [s.name for s in STAGES if not stage or s.name in stage]
    with Progress(
        TextColumn("[bold]{task.description:<36}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=as_json,
    ) as bars:
        overall = bars.add_task("whole build", total=sum(budget[n] for n in chosen))
        tasks: dict[str, TaskID] = {}
        credited: dict[str, float] = {}

        def credit(name: str, fraction: float) -> None:
            # The overall bar moves by each stage's budget share as the stage advances.
            share = budget[name] * min(max(fraction, 0.0), 1.0)
            bars.advance(overall, share - credited.get(name, 0.0))
            credited[name] = share

        def on_stage(stage: Stage, event: str) -> None:
            if event == "start":
                tasks[stage.name] = bars.add_task(stage.title, total=None)
            else:
                task = tasks.get(stage.name) or bars.add_task(f"{stage.title} (done before)", total=1)
                tasks[stage.name] = task
                bars.update(task, total=1, completed=1)
                credit(stage.name, 1.0)

        def progress(name: str, done: int, total: int | None) -> None:
            task = tasks.get(name)
            if task is None:
                return
            bars.update(task, completed=done, total=total)
            if total:
                credit(name, done / total)

        try:
            report = run_build(
                engine, settings.data_dir, snapshot, embedder_name=embedder, bulk_embedder=settings.bulk_embedder,
                stages=stage or None,
                restart=restart, batch_size=settings.batch_size, progress=progress, on_stage=on_stage,
                runner=runner,
            )
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
            raise
    if as_json:
        console.print_json(json.dumps(report_dict(report)))
        return
    print_report(report)


def report_dict(report: BuildReport) -> dict:
    return {
        "build_id": report.build_id, "mode": report.mode, "resumed": report.resumed,
        "seconds": round(report.seconds, 3), "cpu_seconds": round(report.cpu_seconds, 3),
        "stages": [
            {"stage": s.name, "status": s.status, "seconds": round(s.seconds, 3),
             "cpu_seconds": round(s.cpu_seconds, 3), "peak_rss_mib": round(s.peak_rss_mib, 1),
             "items": s.items, "unit": s.unit, "rate_per_s": round(s.rate, 1) if s.rate else None,
             "detail": s.detail}
            for s in report.stages
        ],
    }  # fmt: skip


def print_report(report: BuildReport) -> None:
    resumed = " (resumed)" if report.resumed else ""
    table = Table(title=f"build {report.build_id}: {report.mode}{resumed}")
    for column in ("stage", "status", "seconds", "CPU s", "items", "rate /s", "peak RSS MiB"):
        table.add_column(column, justify="left" if column in ("stage", "status") else "right")
    for s in report.stages:
        table.add_row(
            s.title, s.status if s.status == "done" else f"{s.status} (earlier run)", f"{s.seconds:,.1f}",
            f"{s.cpu_seconds:,.1f}", f"{s.items:,} {s.unit}" if s.items is not None else "—",
            f"{s.rate:,.0f}" if s.rate else "—", f"{s.peak_rss_mib:,.0f}",
        )
    table.add_row("total", "", f"{report.seconds:,.1f}", f"{report.cpu_seconds:,.1f}", "", "", "")
    console.print(table)
