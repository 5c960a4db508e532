"""Exporting a list a reader sees (search results, an author's papers, a library, Daily Papers)
as BibTeX, CSV or JSON: the list's paper ids in its order, each written in the export shape of
services.papers (the same fields as `paperscope export papers`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine

from paperscope.services import browse
from paperscope.services.papers import WRITERS, paper_view, with_scores
from paperscope.store import queries
from paperscope.store.queries import PaperFilter

# format -> (file extension, media type)
FORMATS: dict[str, tuple[str, str]] = {
    "bibtex": ("bib", "application/x-bibtex; charset=utf-8"),
    "csv": ("csv", "text/csv; charset=utf-8"),
    "json": ("json", "application/json"),
}
EXPORT_LIMIT = 1000  # papers in one export: a list longer than this is cut, and the export says so
_PAGE = browse.MAX_PER_PAGE


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return fmt


def views_of(engine: Engine, paper_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The export shape of each paper, in the order of `paper_ids` (ids not in the store are left out)."""
    wanted = list(dict.fromkeys(paper_ids))
    if not wanted:
        return []
    with engine.connect() as connection:
        rows = list(queries.iter_papers(connection, PaperFilter(ids=tuple(wanted))))
    by_id = {view["id"]: view for view in with_scores(engine, [paper_view(r) for r in rows])}
    return [by_id[pid] for pid in wanted if pid in by_id]


def render(engine: Engine, paper_ids: Sequence[str], fmt: str) -> str:
    buffer = io.StringIO()
    WRITERS[check_format(fmt)](views_of(engine, paper_ids), buffer)
    return buffer.getvalue()


def _paged(fetch: Any, limit: int) -> list[str]:
    """Ids of a paged list, page after page until it ends or `limit` is reached."""
    ids: list[str] = []
    page = 1
    while len(ids) < limit:
        listing = fetch(page)
        ids.extend(card.id for card in listing["papers"])
        if not listing["papers"] or page >= listing.get("pages", page):
            break
        page += 1
    return ids[:limit]


def search_ids(engine: Engine, query: browse.SearchQuery, searcher: Any = None, limit: int = EXPORT_LIMIT) -> list[str]:
    """The ids of a search's results, every page (up to `limit`), in rank order."""
    from dataclasses import replace

    return _paged(lambda page: browse.search_papers(engine, replace(query, page=page, per_page=_PAGE),
                                                    searcher=searcher), limit)


def daily_ids(engine: Engine, period: str, sort: str, day: date | None, limit: int = EXPORT_LIMIT) -> list[str]:
    return _paged(lambda page: browse.daily_papers(engine, period, sort, day, page, _PAGE), limit)


def author_ids(engine: Engine, ref: str, sort: str = "date", limit: int = EXPORT_LIMIT) -> list[str]:
    """An author's papers in the order of the profile's `sort`; raises AuthorNotFound."""
    from paperscope.services.authors import get_author_profile

    return get_author_profile(engine, ref, sort)["paper_ids"][:limit]


def library_ids(engine: Engine, user_id: int, limit: int = EXPORT_LIMIT) -> list[str]:
    from paperscope.services.accounts import saved_ids

    return saved_ids(engine, user_id)[:limit]
