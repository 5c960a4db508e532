"""How the CLI prints a paper card (services/cards.py): the same fields, in the same order and with
the same `et al.` rule as the pages, one paper in a few lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.markup import escape

from paperscope.cli.app import console
from paperscope.services.display import counted, num


def card_facts(card: Any) -> str:
    """`AI 95.6 · LG · Mar 1, 2023 · Code · 12 citations`: the card's badges as one line."""
    return " · ".join(x for x in (
        f"AI {num(round(card.ai_score, 1))}" if card.ai_score is not None else "",
        card.tag or "", card.date or "", "Code" if card.code else "",
        counted(card.citations, "citation") if card.citations else "",
        f"▲ {num(card.upvotes)}" if card.upvotes is not None else "",
    ) if x)


def print_card(card: Any, rank: int | None = None, why: Iterable[str] = (), abstract: int = 0) -> None:
    """Title and id, the badges, the byline, then why it is listed (and the abstract, cut)."""
    head = f"[bold]{rank}.[/] " if rank is not None else ""
    console.print(f"{head}[bold]{escape(card.title)}[/]  [dim]{escape(card.id)}[/]", highlight=False)
    facts = card_facts(card)
    if facts:
        console.print(f"   [cyan]{escape(facts)}[/]", highlight=False)
    if card.authors:
        console.print(f"   {escape(card.byline())}", highlight=False)
    for reason in why:
        console.print(f"   [dim]{escape(reason)}[/]", highlight=False)
    if abstract and card.abstract:
        text = card.abstract if len(card.abstract) <= abstract else card.abstract[:abstract].rsplit(" ", 1)[0] + " …"
        console.print(f"   {escape(text)}", highlight=False)
