"""`paperscope search`, `paperscope similar`, `paperscope feed` and `paperscope index`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from datetime import time as dtime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from paperscope.cli.base import app, console, date_option, fail, runtime_or_exit, settings_or_exit
from paperscope.cli.embed import ADDRESS_HELP, ENGINE_HELP, runner_or_exit


class Mode(StrEnum):
    keyword = "keyword"
    semantic = "semantic"
    hybrid = "hybrid"


class Sort(StrEnum):
    relevance = "relevance"
    date = "date"
    score = "score"
    citations = "citations"


class FeedSort(StrEnum):
    newest = "newest"
    upvotes = "upvotes"
    trending = "trending"


def _emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(payload).decode() + "\n")


@app.command("search")
def search_command(
    query: str = typer.Argument(..., help='Words, a phrase ("..."), field queries (title: author: '
                                          "abstract:) or a whole pasted abstract"),
    mode: Mode = typer.Option(
        Mode.hybrid, help="keyword (BM25), semantic (embeddings) or hybrid (both fused)"
    ),
    category: str = typer.Option(None, help="Short tag (LG) or arXiv category (cs.LG)"),
    since: str = typer.Option(None, help="Published on or after (YYYY-MM-DD)"),
    until: str = typer.Option(None, help="Published on or before (YYYY-MM-DD)"),
    has_code: bool = typer.Option(None, "--has-code/--no-code", help="Only papers with (or without) code"),
    author: str = typer.Option(None, help="Author id or name"),
    min_score: float = typer.Option(None, help="Minimum AI Score (0-100)"),
    sort: Sort = typer.Option(Sort.relevance),
    limit: int = typer.Option(10, min=1, max=500),
    offset: int = typer.Option(0, min=0),
    as_json: bool = typer.Option(False, "--json", help="The results as one JSON object"),
) -> None:
    """Search the papers by words and by meaning; every result says why it matched."""
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.cli.cards import print_card
    from paperscope.services.cards import build_cards
    from paperscope.services.search import SearchFilter, SearchUnavailable

    runtime = runtime_or_exit()
    filters = SearchFilter(
        category=category, since=date_option(since, "--since"), until=date_option(until, "--until"),
        has_code=has_code, author=author, min_score=min_score,
    )
    try:
        result = runtime.searcher.search(query, mode.value, filters, sort.value, limit, offset)
    except (SearchUnavailable, EmbedderUnavailable, ValueError) as exc:
        fail(str(exc))
        raise
    cards = {c.id: c for c in build_cards(runtime.engine, [h.paper_id for h in result.hits])}
    if as_json:
        payload = result.as_dict()
        for hit in payload["hits"]:
            hit["paper"] = cards[hit["paper_id"]].as_dict() if hit["paper_id"] in cards else None
        _emit_json(payload)
        return
    for note in result.notes:
        console.print(f"[yellow]{note}[/]", highlight=False)
    if not result.hits:
        console.print("no results")
        return
    for hit in result.hits:
        if hit.paper_id in cards:
            print_card(cards[hit.paper_id], hit.rank, hit.why)
    console.print(f"[dim]{result.mode} search, {result.seconds * 1000:.0f} ms[/]")


@app.command("similar")
def similar_command(
    paper: str = typer.Argument(..., help="Paper id (arXiv id, DOI, paperscope id)"),
    limit: int = typer.Option(10, min=1, max=100),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The papers related to one paper (its nearest by embedding fused with those sharing its terms),
    with the similarity and the rarest terms they share."""
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.cli.cards import print_card
    from paperscope.services.cards import build_cards
    from paperscope.services.search import SearchUnavailable

    runtime = runtime_or_exit()
    try:
        paper_info, hits = runtime.searcher.similar(paper, limit)
    except LookupError as exc:
        fail(str(exc.args[0]))
        raise
    except (SearchUnavailable, EmbedderUnavailable) as exc:
        fail(str(exc))
        raise
    cards = {c.id: c for c in build_cards(runtime.engine, [h.paper_id for h in hits])}
    if as_json:
        _emit_json({"paper": paper_info, "similar": [
            {**h.as_dict(), "paper": cards[h.paper_id].as_dict()} for h in hits if h.paper_id in cards]})
        return
    console.print(f"papers similar to [bold]{escape(paper_info['title'])}[/] ({paper_info['id']})", highlight=False)
    for hit in hits:
        if hit.paper_id in cards:
            print_card(cards[hit.paper_id], hit.rank, hit.why)


@app.command("feed")
def feed_command(
    day: str = typer.Option(None, "--day", help="The day's papers (YYYY-MM-DD; default: the latest day)"),
    week: bool = typer.Option(False, "--week", help="The ISO week of --day"),
    month: bool = typer.Option(False, "--month", help="The calendar month of --day"),
    trending: bool = typer.Option(False, "--trending", help="Trending papers: upvotes and new citations "
                                  "gained over a window (--window, or --week / --month), decayed with a "
                                  "3-day half-life"),
    window: str = typer.Option(None, "--window", help="Trending window: day, week (default) or month"),
    category: str = typer.Option(None, help="Short tag (LG) or arXiv category (cs.LG)"),
    sort: FeedSort = typer.Option(None, help="newest (default), upvotes or trending"),
    as_of: str = typer.Option(None, help="Trending as of this moment (ISO date or time; default now)"),
    limit: int = typer.Option(30, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The day's, week's or month's papers (by the day a daily list featured them, else published),
    or the trending ones."""
    from paperscope.services import search as service
    from paperscope.services.cards import build_cards

    if week and month:
        fail("choose one of --week and --month")
    if window is not None and not trending:
        fail("--window applies to --trending only")
    if trending and window is not None and (week or month):
        fail("give the trending window once: --window, --week or --month")
    calendar = "week" if week else "month" if month else "day"
    period = "trending" if trending else calendar
    window = window or (calendar if (week or month) else "week")
    moment = None
    if as_of:
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of {as_of!r} is not a date or time")
    if trending and day and moment is None:  # trending as of the end of that day
        picked = date_option(day, "--day")
        assert picked is not None
        moment = datetime.combine(picked, dtime(23, 59, 59), tzinfo=UTC)
    engine = runtime_or_exit().engine
    try:
        result = service.feed(engine, period, date_option(day, "--day"), category,
                              sort.value if sort else None, limit, moment, window=window)
    except ValueError as exc:
        fail(str(exc))
        raise
    cards = {c.id: c for c in build_cards(engine, [i.paper_id for i in result.items])}
    if as_json:
        payload = result.as_dict()
        for item in payload["items"]:
            item["paper"] = cards[item["paper_id"]].as_dict() if item["paper_id"] in cards else None
        _emit_json(payload)
        return
    span = f"{result.start} to {result.end}" if result.start and result.start != result.end else result.start
    heading = f"trending this {result.window}" if result.window else period
    console.print(f"[bold]{heading}[/] {span or 'as of ' + result.as_of[:16]}", highlight=False)
    for note in result.notes:
        console.print(f"[dim]{note}[/]", highlight=False)
    table = Table(show_edge=False, pad_edge=False)
    for column in ("#", "day", "title", "cat", "upvotes", "trend", "id"):
        table.add_column(column, overflow="fold")
    for item in result.items:
        card = cards.get(item.paper_id)
        if card is None:
            continue
        table.add_row(
            str(item.rank), item.feed_day or "—", card.title, card.tag or "—",
            "—" if card.upvotes is None else str(card.upvotes), item.label, item.paper_id,
        )
    console.print(table)
    if not result.items:
        console.print("no papers")


@app.command("index")
def index_command(
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the indexes from scratch"),
    embedder: str = typer.Option(None, help="minilm, model2vec or tfidf: whose generation to bring up to date "
                                 "first (default: the active one's)"),
    no_embed: bool = typer.Option(False, "--no-embed", help="Index the active generation's vectors as they are"),
    publish: bool = typer.Option(False, "--publish", help="Then publish the indexes as a new snapshot "
                                 "in PAPERSCOPE_INDEX_SNAPSHOTS (or --publish-to) for the web replicas"),
    publish_to: Path = typer.Option(None, "--publish-to", help="Snapshot folder (default: PAPERSCOPE_INDEX_SNAPSHOTS)"),
    engine_name: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Build or refresh the search indexes (only new or changed papers) under <data_dir>/index."""
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.services import replica
    from paperscope.services import search as service

    settings = settings_or_exit()
    snapshots = publish_to or (Path(settings.index_snapshots) if settings.index_snapshots else None)
    if publish and snapshots is None:
        fail("--publish needs a snapshot folder: set PAPERSCOPE_INDEX_SNAPSHOTS or give --publish-to")
    runner = runner_or_exit(engine_name, address)
    engine = runtime_or_exit().engine
    try:
        summary = service.build_indexes(
            engine, settings.data_dir, embedder, rebuild=rebuild, embed=not no_embed, runner=runner,
            default_embedder=settings.embedder
        )
    except (EmbedderUnavailable, ValueError) as exc:
        fail(str(exc))
        raise
    lexical = summary.lexical
    console.print(
        f"[green]keyword index[/]: {lexical.indexed:,} papers indexed, {lexical.docs:,} in all "
        f"({lexical.seconds:.1f}s){' — ' + lexical.reason if lexical.reason else ''}", highlight=False
    )
    if summary.vectors is None:
        console.print(f"[yellow]semantic index skipped:[/] {summary.semantic_skipped}", highlight=False)
    else:
        v = summary.vectors
        console.print(
            f"[green]semantic index[/] ({v.model}@{v.version}): {v.added:,} added, {v.replaced:,} replaced, "
            f"{v.count:,} in all ({v.seconds:.1f}s){' — ' + v.reason if v.reason else ''}", highlight=False
        )
    if summary.query_model_problem:
        console.print(f"[yellow]semantic queries will fail:[/] {summary.query_model_problem}", highlight=False)
        if summary.embedded:
            console.print(f"  {summary.embedded:,} papers embedded first", highlight=False)
    console.print(f"  files: {summary.folder}", highlight=False)
    if publish and snapshots is not None:
        snapshot = replica.publish_indexes(summary, snapshots)
        console.print(f"[green]published[/] {snapshot.version} at {snapshot.path}", highlight=False)
