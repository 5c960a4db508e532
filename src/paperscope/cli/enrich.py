"""`paperscope enrich`: citation counts, references and ids for stored papers, from OpenAlex and
Semantic Scholar, then the derived data (author profiles first among them) brought up to date."""

from __future__ import annotations

import typer

from paperscope.cli.base import app, console, fail, runtime_or_exit


@app.command("enrich")
def enrich(
    author: str = typer.Option(None, "--author", help="An author's papers: identity id, author id or name."),
    papers: list[str] = typer.Option(None, "--papers", help="Paper ids (repeatable, or comma-separated)."),
    missing: bool = typer.Option(False, "--missing",
                                 help="Every paper lacking a citation count, references, or an OpenAlex or S2 id."),
    source: list[str] = typer.Option(None, "--source", help="openalex or s2 (repeatable; default both)."),
    again: bool = typer.Option(False, "--again", help="Look up papers already looked up before."),
    titles: bool = typer.Option(True, "--titles/--no-titles",
                                help="Look papers no id found up by title (one request each)."),
    limit: int = typer.Option(None, "--limit", min=1, help="At most this many papers."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh",
                                 help="Then refresh the author profiles, scores and search indexes"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Look papers up in OpenAlex and Semantic Scholar by DOI, arXiv id, then title; merge what is
    found with its provenance. Resumable: papers looked up before are skipped (see --again)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from paperscope.services.authors import AuthorNotFound
    from paperscope.services.enrich import choose_papers, enrich_papers
    from paperscope.sources.http import SourceError
    from paperscope.store.locks import IngestBusy

    runtime = runtime_or_exit()
    ids = [part for value in papers or () for part in value.replace(",", " ").split()]
    try:
        chosen = choose_papers(runtime.engine, paper_ids=ids, author=author, missing=missing, limit=limit)
        sources = tuple(source) if source else ("openalex", "s2")
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}"),
                      TimeElapsedColumn(), console=console, transient=not console.is_terminal) as bar:
            tasks: dict[str, int] = {}

            def report(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done, total=total)

            summary, _ = enrich_papers(runtime.engine, runtime.settings, chosen, sources=sources, again=again,
                                       by_title=titles, recompute=False, progress=report)
    except (ValueError, AuthorNotFound) as exc:
        fail(str(exc))
        return
    except IngestBusy as exc:
        fail(str(exc))
        return
    except SourceError as exc:
        fail(f"{exc} — what was looked up is kept: run the same command again to go on")
        return
    if as_json:
        import orjson

        typer.echo(orjson.dumps(summary.as_dict()).decode())
    else:
        for name, part in summary.sources.items():
            found = ", ".join(f"{n} by {how}" for how, n in part.found.most_common()) or "none"
            console.print(f"[green]{name}:[/] {part.asked:,} looked up ({part.skipped:,} done before) · "
                          f"found {found} · {part.not_found:,} not found · "
                          f"{part.ingest['papers_updated']:,} papers updated", highlight=False, soft_wrap=True)
    if refresh and summary.papers_updated:
        from paperscope.cli.ingest import refresh_with_progress

        refresh_with_progress(runtime.engine, runtime.settings)
