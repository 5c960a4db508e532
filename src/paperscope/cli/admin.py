"""Operator commands: stats, db upgrade, settings, quarantine, runs, and the demo."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from paperscope.cli.base import app, console, runtime_or_exit, settings_or_exit
from paperscope.cli.papers import Order, papers_command
from paperscope.core.settings import SETTINGS

db_app = typer.Typer(help="The store's schema.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations up to the newest schema (idempotent)."""
    from paperscope.store.engine import open_engine
    from paperscope.store.migrate import current_revision, upgrade

    settings = settings_or_exit()
    engine = open_engine(settings.database_url)
    upgrade(engine)
    console.print(
        f"store at {engine.url.render_as_string(hide_password=True)} is at revision "
        f"{current_revision(engine)}"
    )


@app.command("settings")
def settings_command() -> None:
    """Every setting: its environment variable, current value, default and meaning."""
    shown = settings_or_exit().variables
    for spec in SETTINGS:
        console.print(f"[bold]{spec.variable}[/] = {shown[spec.variable]}", highlight=False, soft_wrap=True)
        rule = f"; {spec.rule}" if spec.rule else ""
        console.print(f"    default: {spec.default or '(empty)'} ({spec.type_name}{rule})", highlight=False,
                      soft_wrap=True)
        console.print(f"    {spec.meaning}", highlight=False, soft_wrap=True)


@app.command("stats")
def stats_command() -> None:
    """What the store holds: papers, authors, edges, per source and per category."""
    from paperscope.services.stats import store_stats

    engine = runtime_or_exit().engine
    stats = store_stats(engine)
    table = Table(title="store")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, n in stats["tables"].items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    sources = Table(title="papers by source")
    sources.add_column("source")
    sources.add_column("papers", justify="right")
    for name, n in sorted(stats["sources"].items()):
        sources.add_row(name, f"{n:,}")
    console.print(sources)
    console.print("categories: " + ", ".join(f"{c or '—'} {n:,}" for c, n in stats["categories"]))


@app.command("quarantine")
def quarantine_command(
    source: str = typer.Option(None, help="Only this source"),
    limit: int = typer.Option(50, min=1),
) -> None:
    """Records that could not be ingested: source, where, and why."""
    from paperscope.services.stats import quarantined

    engine = runtime_or_exit().engine
    rows = quarantined(engine, source, limit)
    if not rows:
        console.print("quarantine is empty")
        return
    console.print(f"{len(rows)} quarantined records (newest first): source · position · reason")
    for row in rows:
        console.print(
            f"{row['source']} · {row['position']} · {row['reason']}", highlight=False, soft_wrap=True
        )


@app.command("runs")
def runs_command(limit: int = typer.Option(20, min=1)) -> None:
    """Recent ingest runs with their status, counts and resume cursor."""
    from paperscope.services.stats import recent_runs

    engine = runtime_or_exit().engine
    table = Table(title="ingest runs")
    for column in ("id", "source", "status", "records", "new", "quarantined", "cursor", "target"):
        table.add_column(column, overflow="fold")
    for run in recent_runs(engine, limit):
        c = run["counts"] or {}
        table.add_row(
            str(run["id"]),
            run["source"],
            run["status"],
            str(c.get("records", 0)),
            str(c.get("papers_new", 0)),
            str(c.get("quarantined", 0)),
            run["cursor"] or "",
            run["target"][:80],
        )
    console.print(table)


@app.command("demo")
def demo_command(
    shared: Path = typer.Option(None, help="Folder with fixtures/ and listings/ (default: ../shared)"),
) -> None:
    """Ingest the listings and every recorded fixture (or a generated corpus), compute the scores,
    author profiles and search indexes, and show what the store holds."""
    from paperscope.cli.ingest import execute
    from paperscope.services import authors, scores, search
    from paperscope.services.demo import demo_plans

    settings = settings_or_exit()
    for plan in demo_plans(shared, settings):
        console.rule(f"[bold]{plan.source}[/] {plan.target[:100]}")
        execute(plan, refresh=None)  # one full computation follows the last source
    engine = runtime_or_exit().engine
    console.rule("[bold]scores, author profiles, search indexes")
    summary = scores.run_scores(engine, None, data_dir=settings.data_dir, default_embedder=settings.embedder)
    console.print(f"scored {summary.papers:,} papers ({summary.embedder}); AI Score: {summary.ai_status}")
    authors.recompute(engine, data_dir=settings.data_dir)
    built = search.build_indexes(engine, settings.data_dir, embed=False)
    console.print(f"search indexes in {built.folder}")
    stats_command()
    console.rule("[bold]Newest papers")
    papers_command(category=None, since=None, until=None, has_code=None, author=None, source=None,
                   order=Order.newest, limit=10, offset=0, as_json=False)
    console.rule("[bold]Bo Han's papers (from the author page)")
    papers_command(category=None, since=None, until=None, has_code=None, author="Bo Han", source=None,
                   order=Order.newest, limit=5, offset=0, as_json=False)
    console.print(
        "\nNext: paperscope author \"Bo Han\" · paperscope search \"graph neural networks\" · "
        "paperscope serve (then open http://127.0.0.1:8000)", highlight=False, soft_wrap=True,
    )
