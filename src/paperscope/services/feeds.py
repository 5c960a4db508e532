"""Atom feeds of paper lists (Daily Papers, trending, a search, an author, a category), built with
feedgen from the same cards the pages show, so a feed reader sees what the page lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import Engine

from paperscope.services.cards import Card


def _when(card: Card) -> datetime | None:
    for value in (card.feed_day, card.published):
        if value:
            day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            return datetime.combine(day, time(0, 0), tzinfo=UTC)
    return None


def atom(title: str, base_url: str, self_path: str, page_path: str, cards: list[Card]) -> bytes:
    """One Atom document: the list's title, its page as the alternate link, one entry per card."""
    from feedgen.feed import FeedGenerator

    base = base_url.rstrip("/")
    fg = FeedGenerator()
    fg.id(base + self_path)
    fg.title(title)
    fg.link(href=base + page_path, rel="alternate")
    fg.link(href=base + self_path, rel="self")
    fg.subtitle(f"{title} — paperscope")
    dates = [d for d in map(_when, cards) if d]
    fg.updated(max(dates) if dates else datetime(1970, 1, 1, tzinfo=UTC))
    for card in reversed(cards):  # feedgen prepends: the list's order is kept
        entry = fg.add_entry()
        url = f"{base}/papers/{card.id}"
        entry.id(url)
        entry.title(card.title or card.id)
        entry.link(href=url)
        for author in card.authors:
            entry.author(name=author.name)
        when = _when(card)
        entry.updated(when or datetime(1970, 1, 1, tzinfo=UTC))
        if when:
            entry.published(when)
        if card.abstract:
            entry.summary(card.abstract)
        if card.tag:
            entry.category(term=card.tag)
    return fg.atom_str(pretty=True)


def trending_cards(engine: Engine, window: str, category: str | None = None, limit: int = 50) -> list[Card]:
    """The trending papers of the window as cards, each with its score as a person reads it."""
    from paperscope.services import browse
    from paperscope.services import search as search_service

    feed = search_service.feed(engine, "trending", category=category, limit=limit, window=window)
    items = {i.paper_id: i for i in feed.items}
    return [card.with_context(trending=round(items[card.id].trending, 6), trending_label=items[card.id].label,
                              feed_day=items[card.id].feed_day, why=items[card.id].why)
            for card in browse.cards_of(engine, list(items))]


def category_cards(engine: Engine, category: str, limit: int = 50) -> list[Card]:
    """The newest papers of a category (its tag or arXiv name), as cards."""
    from paperscope.services import browse
    from paperscope.services.inputs import category_tag
    from paperscope.services.papers import list_papers
    from paperscope.store.queries import PaperFilter

    views, _ = list_papers(engine, PaperFilter(category=category_tag(engine, category)), limit=limit)
    return browse.cards_of(engine, [v["id"] for v in views])
