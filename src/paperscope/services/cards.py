"""The paper card: one shape of a paper in every list — Daily Papers, search, similar papers, an
author's papers, the library, the digests and the CLI — built by one function that encodes the
card rules of DESIGN.md (the AI Score, the category tag, the date without the current year, the
`Code` badge, the first three authors then `et al.`, organisation slugs, the abstract).

The pages render a `Card`, their JSON twins and `--json` print `Card.as_dict()`, the CLI prints
`Card.byline()`: so a card reads the same wherever it is shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from paperscope.store.cards import get_papers

SHOWN_AUTHORS = 3
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
IN_STORE = "citing papers in the store"


def card_date(published: date | None, year: int | None, today: date) -> str | None:
    """`Mar 1, 2023`, or `May 30` for a date of the current year, or the bare year."""
    if published:
        text = f"{_MONTHS[published.month - 1]} {published.day}"
        return text if published.year == today.year else f"{text}, {published.year}"
    return str(year) if year else None


def citation_count(reported: int | None, source: str | None, in_store: int) -> tuple[int, str]:
    """The citations a card shows and where they come from: a source's reported count, unless the
    store itself holds more citing papers than it reported."""
    if reported is not None and reported >= in_store:
        return int(reported), f"reported by {source}" if source else "reported"
    return in_store, IN_STORE


@dataclass(frozen=True, slots=True)
class AuthorRef:
    name: str
    id: str | None  # the author's profile (identity id), None where no profile exists


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    title: str
    tag: str | None  # the primary arXiv category
    date: str | None  # as a card shows it: `Mar 1, 2023`
    published: str | None  # ISO date
    year: int | None
    code: bool
    authors: tuple[AuthorRef, ...]  # the first three
    et_al: bool
    author_count: int
    orgs: tuple[str, ...]
    abstract: str | None
    upvotes: int | None  # reported by a daily list; paperscope's own upvotes are the reader's marks
    citations: int
    citations_source: str
    ai_score: float | None  # paperscope's AI Score: the per-paper score of the card
    novelty: float | None  # Novelty percentile
    listing_score: float | None  # the score a listing page showed: reported, not paperscope's
    # What the list around the card adds: why it matched, its trending score and feed day.
    why: tuple[str, ...] = field(default_factory=tuple)
    trending: float | None = None
    trending_label: str | None = None
    feed_day: str | None = None

    def with_context(self, **context: Any) -> Card:
        """The same card with what its list says about it (why, trending, feed_day)."""
        if "why" in context:
            context["why"] = tuple(context["why"])
        return replace(self, **context)

    def byline(self) -> str:
        """`A, B, C et al. · tsinghua, uw` as the card prints it."""
        names = ", ".join(a.name for a in self.authors) + (" et al." if self.et_al else "")
        return names + (f" · {', '.join(self.orgs)}" if self.orgs else "")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["authors"] = [{"name": a.name, "id": a.id} for a in self.authors]
        out["orgs"], out["why"] = list(self.orgs), list(self.why)
        return out


def make_card(row: dict[str, Any], today: date) -> Card:
    """The card of one `store.cards.get_papers` row."""
    authors = row["authors"]
    published = row["published"]
    if isinstance(published, str):
        published = date.fromisoformat(published)
    citations, source = citation_count(row["cited_by_count"], row["cited_by_source"], row["citations_in_store"])
    return Card(
        id=row["id"], title=row["title"], tag=row["primary_category"],
        date=card_date(published, row["year"], today),
        published=published.isoformat() if published else None, year=row["year"],
        code=bool(row["has_code"]),
        authors=tuple(AuthorRef(a["name"], a["identity"]) for a in authors[:SHOWN_AUTHORS]),
        et_al=bool(row["authors_truncated"] or len(authors) > SHOWN_AUTHORS),
        author_count=row["author_count"] or len(authors),
        orgs=tuple(row["orgs"] or ()), abstract=row["abstract"], upvotes=row["upvotes"],
        citations=citations, citations_source=source,
        ai_score=row["ai_score"], novelty=row["novelty"], listing_score=row["listing_score"],
    )


def build_cards(engine: Engine, paper_ids: list[str], today: date | None = None) -> list[Card]:
    """The cards of these papers in this order (ids not in the store are left out): one store read
    of a fixed number of queries however many cards."""
    if not paper_ids:
        return []
    today = today or datetime.now(UTC).date()
    with engine.connect() as connection:
        rows = get_papers(connection, paper_ids)
    return [make_card(row, today) for row in rows]
