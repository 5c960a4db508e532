"""Atom feeds (services/feeds.py): Daily Papers by day, week or month, trending over a window, any
search, an author's papers and a category's. Pages link them with <link rel="alternate">."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from paperscope.services import browse, feeds
from paperscope.services.authors import AuthorNotFound
from paperscope.web.deps import EngineDep, SearcherDep, SettingsDep
from paperscope.web.errors import WebError

router = APIRouter(prefix="/feeds", include_in_schema=False)  # Atom, not the JSON API
ATOM = "application/atom+xml; charset=utf-8"
Window = Literal["day", "week", "month"]


def _atom(body: bytes) -> Response:
    return Response(body, media_type=ATOM)


@router.get("/daily.atom", summary="Daily Papers of the newest day, week or month (Atom)")
async def daily(engine: EngineDep, settings: SettingsDep, period: Window = "day") -> Response:
    listing = await run_in_threadpool(browse.daily_papers, engine, period, "newest", None, 1, 100)
    title = {"day": "Daily Papers", "week": "Papers of the week", "month": "Papers of the month"}[period]
    return _atom(feeds.atom(f"{title} ({listing['start']} to {listing['end']})", settings.base_url,
                            f"/feeds/daily.atom?period={period}", f"/?period={period}", listing["papers"]))


@router.get("/trending.atom", summary="Papers trending over the last day, week or month (Atom)")
async def trending(engine: EngineDep, settings: SettingsDep, window: Window = "week") -> Response:
    cards = await run_in_threadpool(feeds.trending_cards, engine, window)
    return _atom(feeds.atom(f"Trending this {window}", settings.base_url, f"/feeds/trending.atom?window={window}",
                            "/?sort=trending", cards))


@router.get("/search.atom", summary="The newest results of a search (Atom)")
async def search(engine: EngineDep, searcher: SearcherDep, settings: SettingsDep,
                 q: Annotated[str, Query(min_length=1, max_length=500)]) -> Response:
    query = browse.SearchQuery(q=q, per_page=50)
    result = await run_in_threadpool(browse.search_papers, engine, query, None, searcher)
    params = urlencode({"q": q})
    return _atom(feeds.atom(f"Search: {q}", settings.base_url, f"/feeds/search.atom?{params}", f"/search?{params}",
                            result["papers"]))


@router.get("/authors/{author_id:path}.atom", summary="An author's newest papers (Atom)")
async def author(engine: EngineDep, settings: SettingsDep, author_id: str) -> Response:
    try:
        profile = await run_in_threadpool(browse.author_page, engine, author_id, "date", None, 1, 50)
    except AuthorNotFound as exc:
        raise WebError(404, str(exc)) from None
    return _atom(feeds.atom(f"{profile['name']}: newest papers", settings.base_url,
                            f"/feeds/authors/{author_id}.atom", f"/authors/{profile['id']}", profile["cards"]))


@router.get("/categories/{category}.atom", summary="A category's newest papers (Atom)")
async def category(engine: EngineDep, settings: SettingsDep, category: str) -> Response:
    try:
        cards = await run_in_threadpool(feeds.category_cards, engine, category)
    except ValueError as exc:
        raise WebError(404, str(exc)) from None
    return _atom(feeds.atom(f"Newest papers in {category}", settings.base_url,
                            f"/feeds/categories/{category}.atom", f"/search?category={category}", cards))
