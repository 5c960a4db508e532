"""`paperscope ingest <source>`: files or live APIs into the store, with progress."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from paperscope.cli.base import app, console, fail, runtime_or_exit, settings_or_exit

if TYPE_CHECKING:
    from paperscope.ingest.registry import IngestPlan

ingest_app = typer.Typer(help="Load papers from a source into the store (idempotent, resumable).")
app.add_typer(ingest_app, name="ingest")

FromFile = typer.Option(None, "--from-file", help="Saved responses or dumps to read instead of the live API.")
Refresh = typer.Option(True, "--refresh/--no-refresh",
                       help="Then refresh the scores, author profiles and search indexes the new papers touch")


def execute(plan: IngestPlan, resume: bool = True, refresh: bool | None = True) -> None:
    """Ingest the plan, then bring the derived data up to date; `refresh=False` says instead what
    is left pending, `None` leaves both to the caller."""
    from paperscope.ingest.pipeline import run_ingest
    from paperscope.sources.http import SourceError
    from paperscope.store.locks import IngestBusy

    runtime = runtime_or_exit()
    settings, engine = runtime.settings, runtime.engine
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(plan.source, total=None, status="")

        def on_batch(batch, counts) -> None:  # type: ignore[no-untyped-def]
            done = progress.tasks[0].completed + counts["records"]
            progress.update(task, completed=done, status=f"{int(done):,} records · {batch.label}")

        try:
            summary = run_ingest(
                engine, plan.source, plan.target, plan.batches, resume=resume, on_batch=on_batch
            )
        except IngestBusy as exc:
            fail(str(exc))
        except SourceError as exc:
            fail(f"{plan.source}: {exc} — run the same command again to resume")
        except (OSError, ValueError) as exc:
            fail(f"{plan.source}: {exc}")
    c = summary.counts
    resumed = f" (resumed from {summary.resumed_from})" if summary.resumed_from else ""
    console.print(
        f"[green]run {summary.run_id} done{resumed}:[/] {c['records']:,} records · "
        f"{c['papers_new']:,} new · {c['papers_updated']:,} updated · {c['papers_unchanged']:,} unchanged · "
        f"{c['author_reports']:,} author reports · {c['quarantined']:,} quarantined",
        soft_wrap=True,
    )
    if c["quarantined"]:
        console.print("  see them with: paperscope quarantine")
    if refresh and (c["papers_new"] or c["papers_updated"] or c["author_reports"]):
        refresh_with_progress(engine, settings)
    elif refresh is False:
        from paperscope.services.refresh import pending

        for note in pending(engine, settings.data_dir).notes():
            console.print(f"[yellow]{note}[/]", highlight=False)


def refresh_with_progress(engine, settings) -> None:  # type: ignore[no-untyped-def]
    """Scores, author profiles and search indexes of what changed, one progress line per stage."""
    from paperscope.services.refresh import refresh_derived

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        tasks: dict[str, int] = {}

        def report(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                for other in tasks.values():  # the previous stage is over
                    task = progress.tasks[other]
                    progress.update(other, completed=task.total or task.completed, total=task.total or 1)
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        summary = refresh_derived(engine, settings.data_dir, settings.embedder, progress=report)
    console.print("[green]refreshed:[/] " + " · ".join(f"{k}: {v}" for k, v in summary.stages.items()),
                  highlight=False, soft_wrap=True)
    for stage, why in summary.skipped.items():
        console.print(f"[yellow]{stage} not computed:[/] {why}", highlight=False, soft_wrap=True)


def files_plan(source: str, files: list[Path], **options: object) -> IngestPlan:
    from paperscope.ingest.registry import files_plan as plan

    return plan(source, files, **options)  # type: ignore[arg-type]


def _files_or_live(source: str, files: list[Path] | None, **live: object) -> IngestPlan:
    from paperscope.ingest.registry import live_plan

    if files:
        return files_plan(source, files, max_line_bytes=settings_or_exit().max_line_bytes)
    return live_plan(settings_or_exit(), source, **live)


def _plan_or_fail(make) -> IngestPlan:  # type: ignore[no-untyped-def]
    try:
        return make()
    except (OSError, ValueError) as exc:
        fail(str(exc))
        raise


@ingest_app.command("arxiv")
def ingest_arxiv(
    from_file: list[Path] = FromFile,
    category: str = typer.Option(None, help="arXiv category, e.g. cs.LG"),
    date_from: str = typer.Option(None, "--from", help="Submitted on or after (YYYY-MM-DD)"),
    date_to: str = typer.Option(None, "--until", help="Submitted on or before (YYYY-MM-DD)"),
    ids: list[str] = typer.Option(None, "--id", help="arXiv ids (repeatable)"),
    query: str = typer.Option(None, help="A raw arXiv search_query"),
    max_results: int = typer.Option(None, "--max", help="Stop after this many records"),
    refresh: bool = Refresh,
) -> None:
    """The arXiv API (Atom): by category, date range, ids or query, paged."""
    execute(
        _plan_or_fail(
            lambda: _files_or_live(
                "arxiv",
                from_file,
                category=category,
                date_from=date_from,
                date_to=date_to,
                ids=tuple(ids or ()),
                query=query,
                max_results=max_results,
            )
        ),
        refresh=refresh,
    )


@ingest_app.command("oai")
def ingest_oai(
    from_file: list[Path] = FromFile,
    prefix: str = typer.Option("arXiv", help="metadataPrefix: arXiv or arXivRaw"),
    set_spec: str = typer.Option(None, "--set", help="OAI set, e.g. cs"),
    date_from: str = typer.Option(None, "--from"),
    date_to: str = typer.Option(None, "--until"),
    refresh: bool = Refresh,
) -> None:
    """arXiv OAI-PMH ListRecords with resumption tokens (resumes where a killed run stopped)."""
    execute(
        _plan_or_fail(
            lambda: _files_or_live(
                "oai",
                from_file,
                metadata_prefix=prefix,
                set_spec=set_spec,
                date_from=date_from,
                date_to=date_to,
            )
        ),
        refresh=refresh,
    )


@ingest_app.command("snapshot")
def ingest_snapshot(
    paths: list[Path] = typer.Argument(None, help="Snapshot files (JSON lines, plain or gzip)"),
    from_file: list[Path] = FromFile,
    refresh: bool = Refresh,
) -> None:
    """The arXiv metadata snapshot, streamed in batches (resumes at the last committed line)."""
    files = list(paths or []) + list(from_file or [])
    if not files:
        fail("give the snapshot file(s), e.g. paperscope ingest snapshot arxiv-metadata-oai-snapshot.json")
    settings = settings_or_exit()
    execute(_plan_or_fail(lambda: files_plan(
        "snapshot", files, batch_size=settings.batch_size, max_line_bytes=settings.max_line_bytes
    )), refresh=refresh)


@ingest_app.command("openalex")
def ingest_openalex(
    from_file: list[Path] = FromFile,
    filter_: str = typer.Option(None, "--filter", help="OpenAlex filter, e.g. primary_topic.field.id:17"),
    search: str = typer.Option(None),
    authors: bool = typer.Option(False, "--authors", help="Fetch authors instead of works"),
    refresh: bool = Refresh,
) -> None:
    """OpenAlex works (or authors), cursor-paged."""
    execute(
        _plan_or_fail(
            lambda: _files_or_live(
                "openalex", from_file, filter=filter_, search=search, authors=authors or None
            )
        ),
        refresh=refresh,
    )


@ingest_app.command("s2")
def ingest_s2(
    from_file: list[Path] = FromFile,
    query: str = typer.Option(None, help="Bulk search query"),
    citations_of: str = typer.Option(None, "--citations-of", help="Papers citing this S2 paper id"),
    author: str = typer.Option(None, help="Papers of this S2 author id"),
    ids: list[str] = typer.Option(None, "--id", help="Paper ids for a batch lookup (repeatable)"),
    refresh: bool = Refresh,
) -> None:
    """Semantic Scholar Graph API: search, citations, author papers, batch lookups."""
    execute(
        _plan_or_fail(
            lambda: _files_or_live(
                "s2", from_file, query=query, citations_of=citations_of, author=author, ids=tuple(ids or ())
            )
        ),
        refresh=refresh,
    )


@ingest_app.command("hf")
def ingest_hf(
    from_file: list[Path] = FromFile,
    day: str = typer.Option(None, "--date", help="The daily list of this day (YYYY-MM-DD)"),
    refresh: bool = Refresh,
) -> None:
    """Hugging Face daily papers: upvotes, GitHub repos, organisations."""
    execute(_plan_or_fail(lambda: _files_or_live("hf", from_file, date=day)), refresh=refresh)


@ingest_app.command("aan")
def ingest_aan(
    folder: Path = typer.Argument(..., help="Folder with acl-metadata.txt and acl-citations.txt"),
    refresh: bool = Refresh,
) -> None:
    """The ACL Anthology Network release: paper metadata and the citation graph."""
    execute(_plan_or_fail(lambda: files_plan("aan", [folder])), refresh=refresh)


@ingest_app.command("listing")
def ingest_listing(
    files: list[Path] = typer.Argument(..., help="Saved listing pages (text)"),
    as_of: str = typer.Option(None, "--as-of", help="The day the page was saved (dates without a year)"),
    author: str = typer.Option(None, "--author", help="The page's owner (default: the header's name)"),
    refresh: bool = Refresh,
) -> None:
    """Saved author pages and papers lists."""
    try:
        when = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    execute(_plan_or_fail(lambda: files_plan("listing", files, as_of=when, author=author)), refresh=refresh)


@app.command("refresh")
def refresh_command() -> None:
    """Bring the scores, author profiles and search indexes up to date with the store (only what
    changed since they were computed); `ingest` runs this after its last batch."""
    runtime = runtime_or_exit()
    refresh_with_progress(runtime.engine, runtime.settings)
