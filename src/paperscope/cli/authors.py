"""`paperscope author NAME` (a profile as the listings show it) and `paperscope authors ...`
(recompute, merge, split, corrections)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Any

import orjson
import typer
from rich.markup import escape

from paperscope.cli.base import app, console, fail, runtime_or_exit
from paperscope.services.display import counted

authors_app = typer.Typer(help="Author identities and metrics: recompute, merge, split.")
app.add_typer(authors_app, name="authors")


class Sort(StrEnum):
    date = "date"
    score = "score"
    citations = "citations"


def _num(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value + suffix
    if isinstance(value, float):
        text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        return text + suffix
    return f"{value:,}{suffix}"


def _header(p: dict[str, Any]) -> None:
    if p["freshness"]["note"]:
        console.print(f"[yellow]{escape(p['freshness']['note'])}[/]", highlight=False)
    console.print(f"[bold]{escape(p['name'])}[/]   [dim]{escape(p['id'])}[/]")
    console.print(p["field"] or "—")
    console.print(
        f"h-index {_num(p['h_index'])} · {counted(p['papers'], 'paper')} · "
        f"{counted(p['citations'], 'citation')} · "
        f"Novelty {_num(p['novelty'], '%')} · AI Score {_num(p['ai_score'])}"
    )
    five = p["last_5_years"]
    console.print(
        f"[dim]last 5 years: h-index {five['h_index']} · i10 {five['i10_index']} · g {five['g_index']} · "
        f"{five['papers']} papers published · {five['citations']:,} citations received   "
        f"(all: i10 {p['i10_index']} · "
        f"g {p['g_index']})[/]")
    for r in p["reported"]:
        v = r["values"]
        parts = []
        for key, label, suffix in (("field", "", ""), ("h_index", "h-index ", ""), ("i10_index", "i10 ", ""),
                                   ("paper_count", "", " papers"), ("citation_count", "", " citations"),
                                   ("novelty", "Novelty ", "%"), ("ai_score", "AI Score ", "")):
            if key in v:
                parts.append(f"{label}{_num(v[key])}{suffix}")
        if parts:
            console.print(f"[yellow]reported by {escape(r['label'])}:[/] {' · '.join(parts)}",
                          highlight=False)
    for other in p["also_named"]:
        console.print(f"[dim]another person with this name: {escape(other['id'])} "
                      f"({other['papers']} papers, {other['field'] or '—'})[/]")


def _cards(p: dict[str, Any]) -> None:
    from paperscope.cli.cards import print_card

    console.print(f"\n[bold]{counted(p['papers'], 'paper').capitalize()}[/]  [dim](sorted by {p['sort']})[/]\n")
    for card in p["cards"]:
        print_card(card, abstract=300)
        console.print()
    if p["cards_total"] > len(p["cards"]):
        console.print(f"[dim]… {p['cards_total'] - len(p['cards'])} more (--limit)[/]")


def _extras(p: dict[str, Any]) -> None:
    years = p["citations_by_year"]
    if years:
        console.print("[bold]Citations per year[/]")
        top = max(years.values()) or 1
        for year, n in years.items():
            console.print(f"  {year}  {'█' * max(1, round(30 * n / top)) if n else ''} {n:,}")
    if p["coauthors"]:
        console.print("[bold]Co-authors[/]  " + ", ".join(
            f"{escape(c['name'])} ({c['papers']})" for c in p["coauthors"][:12]))
    if p["similar_authors"]:
        console.print(f"[bold]Similar authors[/] [dim]({p['similar_method']})[/]  " + ", ".join(
            f"{escape(s['name'])} ({s['similarity']:.2f})" for s in p["similar_authors"][:8]))
    if p["orgs"]:
        console.print("[bold]Organisations[/]  "
                      + ", ".join(f"{escape(o['org'])} ({o['papers']})" for o in p["orgs"]))
    ident = p["identity"]
    for link in ident["links"]:
        console.print(f"[dim]identity: {escape(link['author_id'])} joined by {link['rule']}: "
                      f"{escape(link['evidence'])}[/]")
    for why in ident["split"]:
        console.print(f"[dim]identity: split from a namesake: {escape(why)}[/]")


@app.command("author")
def author_command(
    name_or_id: str = typer.Argument(
        ..., help="A name (\"Bo Han\") or an id (s2:2262347, orcid:…, name:bo-han)"),
    sort: Sort = typer.Option(Sort.date, "--sort", help="Order of the cards"),
    limit: int = typer.Option(20, min=1, max=500, help="Cards to print"),
    as_json: bool = typer.Option(False, "--json", help="The profile with its first cards as JSON "
                                 "(what /api/v1/authors/ID?per_page=LIMIT answers)"),
) -> None:
    """An author's profile: header as the listings show it, then the papers as cards."""
    from paperscope.services.authors import AuthorNotFound
    from paperscope.services.browse import author_page

    engine = runtime_or_exit().engine
    try:
        profile = author_page(engine, name_or_id, sort=sort.value, per_page=limit)
    except AuthorNotFound as exc:
        fail(str(exc))
        return
    if as_json:
        sys.stdout.write(orjson.dumps(profile, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
        return
    _header(profile)
    _cards(profile)
    _extras(profile)


@authors_app.command("recompute")
def recompute_command(
    incremental: bool = typer.Option(False, "--incremental", help="Only identities with papers changed "
                                     "since the last run; identities are kept as they are"),
    similar: bool = typer.Option(True, "--similar/--no-similar", help="Also recompute similar authors"),
    keep_identities: bool = typer.Option(False, "--keep-identities",
                                         help="Recompute every metric with the stored identities"),
) -> None:
    """Resolve identities and recompute every author's metrics (and similar authors)."""
    from paperscope.services.authors import recompute

    runtime = runtime_or_exit()
    engine, settings = runtime.engine, runtime.settings
    with console.status("recomputing author profiles…"):
        summary = recompute(engine, incremental=incremental, resolve=not keep_identities, similar=similar,
                            progress=console.log, data_dir=settings.data_dir)
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in summary["timings"].items())
    console.print(f"{summary['identities']:,} identities from {summary['authorships']:,} authorships "
                  f"({summary['mode']}): {timings}")


@authors_app.command("merge")
def merge_command(
    a: str = typer.Argument(..., help="An author or identity id"),
    b: str = typer.Argument(..., help="Another author or identity id: the same person"),
    note: str = typer.Option(None, help="Why (kept with the correction)"),
) -> None:
    """Record that A and B are one person (applied now and on every later recompute)."""
    from paperscope.services.authors import merge_authors, recompute

    engine = runtime_or_exit().engine
    try:
        number = merge_authors(engine, a, b, note)
    except ValueError as exc:
        fail(str(exc))
        return
    recompute(engine, similar=False)
    console.print(f"correction #{number}: {a} and {b} are one person "
                  f"(undo: paperscope authors corrections --remove {number})")


@authors_app.command("split")
def split_command(
    a: str = typer.Argument(..., help="An author or identity id"),
    b: str = typer.Argument(None, help="Another id that must never be merged with A"),
    paper: list[str] = typer.Option(
        None, "--paper", help="A paper id whose authorship of A is someone else's"),
    note: str = typer.Option(None, help="Why (kept with the correction)"),
) -> None:
    """Keep A and B apart, or move A's authorships on --paper papers to a person of their own."""
    from paperscope.services.authors import recompute, split_authors

    engine = runtime_or_exit().engine
    try:
        number = split_authors(engine, a, b, paper or None, note)
    except ValueError as exc:
        fail(str(exc))
        return
    recompute(engine, similar=False)
    what = f"{a} and {b} are different people" if b else f"{a} on {len(paper)} paper(s) is someone else"
    console.print(f"correction #{number}: {what} (undo: paperscope authors corrections --remove {number})")


@authors_app.command("corrections")
def corrections_command(
    remove: int = typer.Option(None, "--remove", help="Undo correction #N and recompute the profiles"),
) -> None:
    """The hand corrections, in the order they are applied (or remove one)."""
    from paperscope.services.authors import list_corrections, recompute, remove_correction

    engine = runtime_or_exit().engine
    if remove is not None:
        try:
            remove_correction(engine, remove)
        except ValueError as exc:
            fail(str(exc))
            return
        recompute(engine, similar=False)
        console.print(f"correction #{remove} removed; profiles recomputed without it")
        return
    rows = list_corrections(engine)
    if not rows:
        console.print("no corrections")
    for c in rows:
        target = c["b"] or ", ".join(c["papers"])
        console.print(f"#{c['id']} {c['kind']} {escape(c['a'])} {escape(target)} "
                      f"[dim]{escape(c['note'] or '')} {c['created_at']:%Y-%m-%d}[/]")
