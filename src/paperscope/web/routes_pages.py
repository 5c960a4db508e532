"""The HTML pages: Daily Papers, a paper, an author, author lookup, search. Each calls the same
service function as its JSON twin in routes_api."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from paperscope.services import browse
from paperscope.services.operations import operations_status
from paperscope.web.deps import EngineDep, SearcherDep, runtime_of
from paperscope.web.errors import WebError
from paperscope.web.params import (
    AUTHOR_SORTS,
    LIST_SORTS,
    MAX_NAME,
    MAX_PAGE,
    MAX_PER_PAGE,
    PERIODS,
    QueryParser,
    search_query,
)
from paperscope.web.security import CSRF_FIELD
from paperscope.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, engine: EngineDep) -> Response:
    p = QueryParser(request.query_params)
    period = p.choice("period", list(PERIODS), "day")
    sort = p.choice("sort", LIST_SORTS, "newest")
    day = p.day("date")
    page = p.integer("page", 1, 1, MAX_PAGE)
    per_page = p.integer("per_page", 20, 1, MAX_PER_PAGE)
    p.done()
    listing = runtime_of(request).read_model(
        ("daily", period, sort, day, page, per_page),
        lambda: browse.daily_papers(engine, period, sort, day, page, per_page))
    return render(request, "home.html", {"listing": listing, "periods": list(PERIODS), "sorts": LIST_SORTS})


@router.get("/papers/{paper_id:path}")
def paper(request: Request, engine: EngineDep, searcher: SearcherDep, paper_id: str) -> Response:
    if len(paper_id) > 300:
        raise WebError(422, "invalid parameter: paper id longer than 300 characters")
    found = runtime_of(request).read_model(
        ("paper", paper_id), lambda: browse.paper_page(engine, paper_id, searcher=searcher))
    if found is None:
        raise WebError(404, f"no paper with id {paper_id!r} in the store")
    series, series_source = browse.chart_years(found)
    return render(request, "paper.html", {"paper": found, "series": series, "series_source": series_source})


@router.get("/ops")
def ops(request: Request) -> Response:
    """The operators' page: backfill progress and the index snapshot this replica serves."""
    return render(request, "ops.html", {"status": operations_status(runtime_of(request))})


@router.get("/authors")
def authors(request: Request, engine: EngineDep) -> Response:
    p = QueryParser(request.query_params)
    q = p.text("q", MAX_NAME)
    p.done()
    hits = browse.find_authors(engine, q) if q else []
    return render(request, "authors.html", {"q": q, "hits": hits})


@router.get("/authors/{author_id:path}")
def author(request: Request, engine: EngineDep, author_id: str) -> Response:
    p = QueryParser(request.query_params)
    sort = p.choice("sort", AUTHOR_SORTS, "date")
    page = p.integer("page", 1, 1, MAX_PAGE)
    per_page = p.integer("per_page", 50, 1, 500)
    p.done()
    if len(author_id) > 300:
        raise WebError(422, "invalid parameter: author id longer than 300 characters")
    try:
        profile = runtime_of(request).read_model(
            ("author", author_id, sort, page, per_page),
            lambda: browse.author_page(engine, author_id, sort, page=page, per_page=per_page))
    except browse.AuthorNotFound as exc:
        raise WebError(404, str(exc)) from None
    return render(request, "author.html", {"a": profile, "sorts": AUTHOR_SORTS})


def _collection(request: Request, engine: EngineDep, kind: str, ref: str) -> Response:
    from paperscope.services.collections import CollectionNotFound, collection_page

    p = QueryParser(request.query_params)
    page = p.integer("page", 1, 1, MAX_PAGE)
    per_page = p.integer("per_page", 20, 1, MAX_PER_PAGE)
    p.done()
    if len(ref) > 300:
        raise WebError(422, f"invalid parameter: {kind} longer than 300 characters")
    try:
        found = collection_page(engine, kind, ref, page, per_page)
    except CollectionNotFound as exc:
        raise WebError(404, str(exc)) from None
    return render(request, "collection.html", {"c": found})


@router.get("/categories/{tag}")
def category(request: Request, engine: EngineDep, tag: str) -> Response:
    """A category's papers and top authors (`LG` or `cs.LG`)."""
    return _collection(request, engine, "category", tag)


@router.get("/organisations/{ref:path}")
def organisation(request: Request, engine: EngineDep, ref: str) -> Response:
    return _collection(request, engine, "organisation", ref)


@router.get("/venues/{ref:path}")
def venue(request: Request, engine: EngineDep, ref: str) -> Response:
    return _collection(request, engine, "venue", ref)


def _search_page(request: Request, query: browse.SearchQuery) -> Response:
    runtime = runtime_of(request)
    results = runtime.read_model(("search", query),
                                 lambda: browse.search_papers(runtime.engine, query, searcher=runtime.searcher))
    # The header's one search box finds people too: profiles whose name the words are.
    people = browse.find_authors(runtime.engine, query.q, 5) if query.q.strip() and len(query.q) <= 200 else []
    return render(request, "search.html", {"query": query, "results": results, "searched": True,
                                           "people": people})


@router.get("/search")
def search(request: Request) -> Response:
    if not request.query_params:
        return render(request, "search.html", {"query": browse.SearchQuery(), "results": None,
                                               "searched": False})
    return _search_page(request, search_query(request.query_params))


@router.post("/search")
async def search_abstract(request: Request) -> Response:
    """"Paste an abstract": a POST form (an abstract is too long for a URL), CSRF-protected."""
    form = await request.form()
    if not request.app.state.csrf.valid(request, form.get(CSRF_FIELD)):
        raise WebError(403, "the form's security token is missing or expired: reload the page and retry",
                       "csrf_failed")
    query = search_query({k: v for k, v in form.items() if k != CSRF_FIELD}, abstract_allowed=True)
    return await run_in_threadpool(_search_page, request, query)
