"""What the web pages and their JSON twins show: the Daily Papers list, a paper's page, author
lookup, an author's page and search. Each page and its `/api/v1` twin call the same function here,
so they never disagree.

Search goes through `search_papers` alone: it uses `services.search` when the store has a search
index service, and otherwise a keyword match over titles and abstracts (documented in docs/web.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from paperscope.core.ids import normalise_person_name
from paperscope.services import search as search_service
from paperscope.services.authors import AuthorNotFound, get_author_profile
from paperscope.services.cards import Card, build_cards, card_date
from paperscope.services.papers import bibtex_entry, paper_view
from paperscope.services.provenance import paper_provenance
from paperscope.services.scores import explain_paper
from paperscope.store import browse, queries
from paperscope.store.authors import paper_citation_years
from paperscope.store.queries import PaperFilter
from paperscope.store.search_reads import SearchFilter

PERIODS = ("day", "week", "month")
LIST_SORTS = ("newest", "trending")
SEARCH_MODES = ("keyword", "semantic", "hybrid")
MAX_PER_PAGE = 100

__all__ = ["AuthorNotFound", "SearchQuery", "author_page", "daily_papers", "find_authors", "paper_page",
           "search_papers"]


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def cards_of(engine: Engine, paper_ids: list[str], today: date | None = None) -> list[Card]:
    """The cards of these papers, in this order."""
    return build_cards(engine, paper_ids, _today(today))


def _pages(total: int, page: int, per_page: int) -> dict[str, int]:
    return {"total": total, "page": page, "per_page": per_page, "pages": max(1, math.ceil(total / per_page))}


def daily_papers(engine: Engine, period: str = "day", sort: str = "newest", day: date | None = None,
                 page: int = 1, per_page: int = 20, today: date | None = None) -> dict[str, Any]:
    """The papers of a day, ISO week or calendar month by feed day (the day a daily list featured
    them, else their publication day), newest first or trending: the search service's feed, the same
    list and the same trending score the digests use. `day` defaults to the newest day with papers."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}: choose one of {', '.join(PERIODS)}")
    if sort not in LIST_SORTS:
        raise ValueError(f"unknown sort {sort!r}: choose one of {', '.join(LIST_SORTS)}")
    today = _today(today)
    # A window lies wholly within the calendar (years 1 to 9999).
    anchor = min(max(day, date(1, 2, 1)), date(9999, 11, 30)) if day else None
    offset = (page - 1) * per_page
    feed = search_service.feed(engine, period, day=anchor, sort=sort, limit=per_page, offset=offset)
    shown = feed.items
    listed = {item.paper_id: item for item in shown}
    cards = [card.with_context(trending=round(listed[card.id].trending, 6), trending_label=listed[card.id].label,
                               feed_day=listed[card.id].feed_day, why=listed[card.id].why)
             for card in build_cards(engine, list(listed), today)]
    end = date.fromisoformat(feed.end) if feed.end else (anchor or today)
    start = date.fromisoformat(feed.start) if feed.start else end
    return {
        "period": period, "sort": sort, "date": end.isoformat(), "start": start.isoformat(),
        "end": end.isoformat(), "previous": _shift(start, -1).isoformat(), "next": _shift(end, 1).isoformat(),
        "notes": feed.notes, **_pages(feed.total, page, per_page), "papers": cards,
    }


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, held within the calendar (year 1 to 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# --- one paper ----------------------------------------------------------------------------------


def _links(view: dict[str, Any]) -> list[dict[str, str]]:
    links = view["links"] or {}
    out = []
    if view["arxiv_id"]:
        out.append({"kind": "arXiv", "url": links.get("abs") or f"https://arxiv.org/abs/{view['arxiv_id']}"})
    if view["doi"]:
        out.append({"kind": "DOI", "url": f"https://doi.org/{view['doi']}"})
    pdf = links.get("pdf") or (f"https://arxiv.org/pdf/{view['arxiv_id']}" if view["arxiv_id"] else None)
    if pdf:
        out.append({"kind": "PDF", "url": pdf})
    for url in view["code_urls"] or []:
        out.append({"kind": "Code", "url": url})
    for kind, key in (("Landing page", "landing"), ("Semantic Scholar", "s2"), ("Project", "project")):
        if links.get(key):
            out.append({"kind": kind, "url": links[key]})
    return out


def paper_page(engine: Engine, ref: str, today: date | None = None, similar_limit: int = 8,
               searcher: search_service.Searcher | None = None) -> dict[str, Any] | None:
    """Everything on a paper's page: authors with affiliations and profiles, links, citations per
    year (as each source reported them, and counted from citing papers in the store), the scores
    with their evidence, similar papers and BibTeX. None when no paper answers to `ref`."""
    today = _today(today)
    with engine.connect() as connection:
        row = queries.find_paper(connection, ref)
        if row is None:
            return None
        identities = browse.authorship_identities(connection, row["authorships"])
        reported = browse.reported_citation_years(connection, row["id"])
        in_store = paper_citation_years(connection, [row["id"]]).get(row["id"], {})
        said = paper_provenance(connection, row)
    view = paper_view(row)
    published = date.fromisoformat(view["published"]) if view["published"] else None
    authors = [
        {"name": a["name"], "affiliations": a["affiliations"] or [],
         "id": identities.get((a["paper_id"], a["author_id"]))}
        for a in row["authorships"] if a["origin"] != "page_owner"
    ]
    scores = explain_paper(engine, row["id"], paper=row) or {}
    return {
        **view,
        "date": card_date(published, view["year"], today),
        "author_list": authors,
        "link_list": _links(view),
        "citations": {
            "count": view["cited_by_count"],
            "source": view["cited_by_source"],
            "reported_by_year": {s: {str(y): n for y, n in years.items()} for s, years in reported.items()},
            "in_store_by_year": {str(y): n for y, n in sorted(in_store.items())},
            "in_store": sum(in_store.values()),
        },
        "scores": scores,
        "similar": similar_papers(engine, row["id"], similar_limit, today, explained=scores, searcher=searcher,
                                  paper=row),
        "bibtex": bibtex_entry(view),
        "provenance": said,
    }


def chart_years(paper: dict[str, Any]) -> tuple[dict[int, int], str]:
    """The per-year series a paper's chart shows and where it comes from."""
    cites = paper["citations"]
    for source, years in sorted(cites["reported_by_year"].items()):
        if years:
            return {int(y): n for y, n in years.items()}, f"reported by {source}"
    return {int(y): n for y, n in cites["in_store_by_year"].items()}, "citing papers in the store"


# --- authors ------------------------------------------------------------------------------------


def find_authors(engine: Engine, q: str, limit: int = 20) -> list[dict[str, Any]]:
    """Profiles whose name is `q` or starts with it (normalised: case, accents and initials' dots)."""
    with engine.connect() as connection:
        return browse.find_authors_by_name(connection, normalise_person_name(q), limit)


def author_page(engine: Engine, ref: str, sort: str = "date", today: date | None = None, page: int = 1,
                per_page: int = 50) -> dict[str, Any]:
    """The author profile (services.authors) with one page of its cards; raises AuthorNotFound."""
    today = _today(today)
    profile = get_author_profile(engine, ref, sort=sort, today=today)
    ids = profile.pop("paper_ids")
    offset = (page - 1) * per_page
    return {**profile, "cards": build_cards(engine, ids[offset:offset + per_page], today), "cards_total": len(ids),
            "page": page, "per_page": per_page, "pages": max(1, math.ceil(len(ids) / per_page))}


# --- search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    mode: str = "keyword"
    abstract: str = ""
    category: str | None = None
    since: date | None = None
    until: date | None = None
    has_code: bool | None = None
    author: str | None = None
    min_score: float | None = None
    page: int = 1
    per_page: int = 20

    def filter(self) -> PaperFilter:
        return PaperFilter(category=self.category, since=self.since, until=self.until,
                           has_code=self.has_code, author=self.author)


def _terms(text: str, limit: int = 12) -> list[str]:
    words = [w.strip(".,;:!?()[]{}\"'") for w in text.split()]
    return [w for w in words if len(w) > 1][:limit]


def search_papers(engine: Engine, query: SearchQuery, today: date | None = None,
                  searcher: search_service.Searcher | None = None) -> dict[str, Any]:
    """Search results as a paper list. The one place that chooses the search backend: the search
    indexes (the runtime's `searcher`) when they are built, else a keyword match in the store."""
    if query.mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {query.mode!r}: choose one of {', '.join(SEARCH_MODES)}")
    today = _today(today)
    notes: list[str] = []
    offset = (query.page - 1) * query.per_page
    indexed = _indexed_search(query, searcher, offset, notes)
    filters = {"category": query.category, "since": _iso(query.since), "until": _iso(query.until),
               "has_code": query.has_code, "author": query.author, "min_score": query.min_score}
    if indexed is not None:
        ids, why, more = indexed
        cards = [card.with_context(why=why.get(card.id, [])) for card in build_cards(engine, ids, today)]
        total = offset + len(cards) + (1 if more else 0)
        return {"q": query.q, "mode": query.mode, "mode_used": query.mode, "notes": notes, "filters": filters,
                "total": total, "total_exact": not more, "page": query.page, "per_page": query.per_page,
                "pages": query.page + (1 if more else 0), "papers": cards}
    if query.mode != "keyword" or query.abstract:
        notes.append("semantic matching needs the search index (paperscope index); showing keyword matches")
    terms = _abstract_terms(query.abstract) if query.abstract else _terms(query.q)
    with engine.connect() as connection:
        rows, total = browse.keyword_search(connection, terms, query.filter(), query.min_score,
                                            limit=query.per_page, offset=offset)
    return {
        "q": query.q, "mode": query.mode, "mode_used": "keyword", "notes": notes, "filters": filters,
        **_pages(total, query.page, query.per_page), "total_exact": True,
        "papers": build_cards(engine, [r["id"] for r in rows], today),
    }


def _indexed_search(query: SearchQuery, searcher: search_service.Searcher | None, offset: int,
                    notes: list[str]) -> tuple[list[str], dict[str, list[str]], bool] | None:
    """(ids of the page, why each matched, whether more follow) from the search indexes, or None
    when there is no index to ask (the reason goes to `notes`)."""
    text = query.abstract or query.q
    if searcher is None or not text.strip():
        return None
    filters = SearchFilter(category=query.category, since=query.since, until=query.until,
                           has_code=query.has_code, author=query.author, min_score=query.min_score)
    try:
        result = searcher.search(text, query.mode, filters=filters, limit=query.per_page + 1, offset=offset)
    except search_service.SearchUnavailable as exc:
        notes.append(str(exc))
        return None
    notes.extend(result.notes)
    hits = result.hits[:query.per_page]
    return [h.paper_id for h in hits], {h.paper_id: h.why for h in hits}, len(result.hits) > query.per_page


def _abstract_terms(abstract: str) -> list[str]:
    """The few longest words of a pasted abstract: the best a keyword match can do with one."""
    words = sorted({w.lower() for w in _terms(abstract, 400) if w.isalpha()}, key=lambda w: (-len(w), w))
    return words[:3]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def similar_papers(engine: Engine, paper_id: str, limit: int, today: date,
                   explained: dict[str, Any] | None = None,
                   searcher: search_service.Searcher | None = None,
                   paper: dict[str, Any] | None = None) -> list[Card]:
    """Papers like this one: the semantic index's nearest papers when it is built, else the nearest
    earlier papers of its Novelty evidence. `paper`: its row, when the caller has read it."""
    ids = _indexed_similar(paper_id, limit, searcher, paper)
    if ids is None:
        scores = explained if explained is not None else (explain_paper(engine, paper_id) or {})
        ids = [n["id"] for n in (scores.get("novelty") or {}).get("neighbours", [])][:limit]
    return build_cards(engine, ids, today)


def _indexed_similar(paper_id: str, limit: int, searcher: search_service.Searcher | None,
                     paper: dict[str, Any] | None = None) -> list[str] | None:
    if searcher is None:
        return None
    try:
        _, hits = searcher.similar(paper_id, limit, paper=paper)
    except (search_service.SearchUnavailable, LookupError):
        return None
    return [h.paper_id for h in hits]
