"""`paperscope papers` and `paperscope export papers`: list, filter and export the store."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from paperscope.cli.base import app, console, date_option, fail, runtime_or_exit

if TYPE_CHECKING:
    from paperscope.store.queries import PaperFilter

export_app = typer.Typer(help="Write the store out in another format.")
app.add_typer(export_app, name="export")


class Order(StrEnum):
    newest = "newest"
    oldest = "oldest"
    citations = "citations"
    upvotes = "upvotes"


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    bibtex = "bibtex"


def _filter(category, since, until, has_code, author, source) -> PaperFilter:  # type: ignore[no-untyped-def]
    from paperscope.store.queries import PaperFilter

    return PaperFilter(
        category=category,
        since=date_option(since, "--since"),
        until=date_option(until, "--until"),
        has_code=has_code,
        author=author,
        source=source,
    )


@app.command("papers")
def papers_command(
    category: str = typer.Option(None, help="Short tag (LG) or arXiv category (cs.LG)"),
    since: str = typer.Option(None, help="Published on or after (YYYY-MM-DD)"),
    until: str = typer.Option(None, help="Published on or before (YYYY-MM-DD)"),
    has_code: bool = typer.Option(None, "--has-code/--no-code", help="Only papers with (or without) code"),
    author: str = typer.Option(None, help="Author id or name"),
    source: str = typer.Option(None, help="Only papers seen in this source"),
    order: Order = typer.Option(Order.newest),
    limit: int = typer.Option(20, min=1, max=10000),
    offset: int = typer.Option(0, min=0),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line"),
) -> None:
    """List papers, newest first, with filters."""
    from paperscope.services.papers import list_papers

    engine = runtime_or_exit().engine
    try:
        rows, total = list_papers(
            engine,
            _filter(category, since, until, has_code, author, source),
            limit=limit,
            offset=offset,
            order=order.value,
        )
    except ValueError as exc:
        fail(str(exc))
        return
    if as_json:
        for row in rows:
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
        return
    from paperscope.services.cards import build_cards

    table = Table(title=f"{total:,} papers", show_lines=False)
    for column in ("id", "tag", "date", "code", "title", "authors", "cites", "votes"):
        table.add_column(column, overflow="fold")
    for card in build_cards(engine, [row["id"] for row in rows]):
        table.add_row(
            card.id, card.tag or "—", card.date or "—", "Code" if card.code else "", card.title,
            ", ".join(a.name for a in card.authors) + (" et al." if card.et_al else ""),
            str(card.citations), "—" if card.upvotes is None else str(card.upvotes),
        )
    console.print(table)


@export_app.command("papers")
def export_papers_command(
    fmt: Format = typer.Option(Format.jsonl, "--format"),
    out: Path = typer.Option(None, "--out", help="File to write (default: standard output)"),
    category: str = typer.Option(None),
    since: str = typer.Option(None),
    until: str = typer.Option(None),
    has_code: bool = typer.Option(None, "--has-code/--no-code"),
    author: str = typer.Option(None),
    source: str = typer.Option(None),
) -> None:
    """Every paper (or the filtered ones) as JSON lines, CSV or BibTeX, streamed."""
    from paperscope.services.inputs import resolve_filter
    from paperscope.services.papers import export_papers

    engine = runtime_or_exit().engine
    try:
        f = resolve_filter(engine, _filter(category, since, until, has_code, author, source))
    except ValueError as exc:
        fail(str(exc))
        return
    if out is None:
        export_papers(engine, fmt.value, sys.stdout, f)
        return
    with out.open("w", encoding="utf-8", newline="") as handle:
        n = export_papers(engine, fmt.value, handle, f)
    console.print(f"wrote {n:,} papers to {out}")


@app.command("paper")
def paper_command(
    ref: str = typer.Argument(..., help="paperscope id (arXiv:…, doi:…, title:…), or an arXiv id / DOI"),
    as_json: bool = typer.Option(False, "--json"),
    bibtex: bool = typer.Option(False, "--bibtex", help="Print the BibTeX entry"),
) -> None:
    """One paper with everything the store knows about it."""
    from paperscope.services.browse import paper_page
    from paperscope.services.papers import bibtex_entry

    runtime = runtime_or_exit()
    # The paper page's read model: `--json` prints what /api/v1/papers/ID answers and the page shows.
    paper = paper_page(runtime.engine, ref, searcher=runtime.searcher)
    if paper is None:
        fail(f"no paper {ref!r} in the store (try `paperscope papers` to list ids)")
        return
    if as_json:
        sys.stdout.write(orjson.dumps(paper, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if bibtex:
        sys.stdout.write(bibtex_entry(paper))
        return
    console.print(f"[bold]{escape(paper['title'])}[/]  ({paper['id']})", highlight=False)
    meta = [paper["primary_category"] or "—", paper["date"] or "—"] + (["Code"] if paper["has_code"] else [])
    console.print(" · ".join(meta), highlight=False)
    # The page lists every author with their affiliations, as here.
    console.print(escape(", ".join(a["name"] + (f" ({'; '.join(a['affiliations'])})" if a["affiliations"] else "")
                                   for a in paper["author_list"])), highlight=False)
    if paper["orgs"]:
        console.print(escape(" · ".join(paper["orgs"])), highlight=False)
    for link in paper["link_list"]:
        console.print(f"  {link['kind']}: {link['url']}", highlight=False)
    cites = paper["citations"]
    source = f" ({cites['source']})" if cites["count"] is not None and cites["source"] else ""
    console.print(f"citations: {'—' if cites['count'] is None else cites['count']}{source}"
                  f" · {cites['in_store']} citing papers in the store"
                  f" · upvotes: {paper['upvotes'] if paper['upvotes'] is not None else '—'}", highlight=False)
    if paper["abstract"]:
        console.print(escape(paper["abstract"]), highlight=False)
    said = paper["provenance"]
    console.print("[dim]from: " + " · ".join(
        f"{s['source']} {s['source_key']} ({s['first_seen'][:10]})" for s in said["sources"]) + "[/]",
        highlight=False, soft_wrap=True)
    for field, values in said["differing"].items():
        console.print(f"[dim]{field}: " + "; ".join(
            f"{v['source']} ({v['said_at'][:10]}) says {v['value']}" + (" (kept)" if v["value"] == paper.get(field)
                                                                       else "") for v in values)
            + "[/]", highlight=False, soft_wrap=True)
    if paper["similar"]:
        from paperscope.cli.cards import print_card

        console.print("[bold]Similar papers[/]")
        for rank, card in enumerate(paper["similar"], 1):
            print_card(card, rank)


class ListFormat(StrEnum):
    bibtex = "bibtex"
    csv = "csv"
    json = "json"


def _write_list(ids: list[str], fmt: ListFormat, out: Path | None) -> None:
    from paperscope.services import export

    text = export.render(runtime_or_exit().engine, ids, fmt.value)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8", newline="")
    console.print(f"wrote {len(ids):,} papers to {out}")


@export_app.command("search")
def export_search_command(
    query: str = typer.Argument(..., help="The words to search for"),
    mode: str = typer.Option("keyword", help="keyword, semantic or hybrid"),
    category: str = typer.Option(None, help="Short tag (LG) or arXiv category (cs.LG)"),
    since: str = typer.Option(None, help="Published on or after (YYYY-MM-DD)"),
    until: str = typer.Option(None, help="Published on or before (YYYY-MM-DD)"),
    has_code: bool = typer.Option(None, "--has-code/--no-code"),
    author: str = typer.Option(None, help="Author id or name"),
    fmt: ListFormat = typer.Option(ListFormat.bibtex, "--format"),
    limit: int = typer.Option(1000, min=1, max=1000, help="At most this many results"),
    out: Path = typer.Option(None, "--out", help="File to write (default: standard output)"),
) -> None:
    """A search's results, in rank order, as BibTeX, CSV or JSON (the search page's export)."""
    from paperscope.services import browse, export
    from paperscope.services.inputs import InvalidInput

    runtime = runtime_or_exit()
    if not query.strip():
        fail("give the words to search for: an empty search matches nothing in particular")
    try:
        q = browse.SearchQuery(q=query, mode=mode, category=category, since=date_option(since, "--since"),
                               until=date_option(until, "--until"), has_code=has_code, author=author)
        ids = export.search_ids(runtime.engine, q, runtime.searcher, limit)
    except (ValueError, InvalidInput) as exc:
        fail(str(exc))
        return
    _write_list(ids, fmt, out)


@export_app.command("author")
def export_author_command(
    author: str = typer.Argument(..., help="Identity id, author id or name"),
    sort: str = typer.Option("date", help="date, score or citations"),
    fmt: ListFormat = typer.Option(ListFormat.bibtex, "--format"),
    out: Path = typer.Option(None, "--out", help="File to write (default: standard output)"),
) -> None:
    """An author's papers as BibTeX, CSV or JSON (the author page's export)."""
    from paperscope.services import export
    from paperscope.services.authors import AuthorNotFound

    runtime = runtime_or_exit()
    try:
        ids = export.author_ids(runtime.engine, author, sort)
    except (AuthorNotFound, ValueError) as exc:
        fail(str(exc))
        return
    _write_list(ids, fmt, out)
