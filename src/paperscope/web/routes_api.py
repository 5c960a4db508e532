"""The JSON API under /api/v1: each route is the twin of a page and calls the same service."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from paperscope.services import browse
from paperscope.services.cards import Card
from paperscope.services.operations import operations_status
from paperscope.services.runtime import Runtime
from paperscope.web.deps import EngineDep, RuntimeDep, SearcherDep
from paperscope.web.errors import ERROR_RESPONSES, WebError
from paperscope.web.params import (
    CATEGORY_PATTERN,
    MAX_ABSTRACT,
    MAX_NAME,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY,
    category_tag,
    check_range,
)

router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERROR_RESPONSES)

Period = Literal["day", "week", "month"]
ListSort = Literal["newest", "trending"]
AuthorSort = Literal["date", "score", "citations"]
Mode = Literal["keyword", "semantic", "hybrid"]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE)]


class PaperList(BaseModel):
    total: int
    page: int
    per_page: int
    pages: int
    total_exact: bool = True
    papers: list[Card]
    model_config = {"extra": "allow"}


class AuthorHit(BaseModel):
    identity_id: str
    name: str
    field: str | None
    papers: int
    citations: int
    h_index: int


def _date_text(value: Any) -> Any:
    """A date is written YYYY-MM-DD (a number is not read as seconds since 1970)."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _json_number(value: Any) -> Any:
    """A JSON number stays a number: "2" and true are not read as 2 and 1."""
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


DateText = Annotated[date | None, BeforeValidator(_date_text)]
Score = Annotated[float, Field(ge=0, le=100), BeforeValidator(_json_number)]
Whole = Annotated[int, BeforeValidator(_json_number)]


class SearchBody(BaseModel):
    """A search with a pasted abstract (too long for a URL) or any other field of GET /search."""

    q: str = Field("", max_length=MAX_QUERY)
    abstract: str = Field("", max_length=MAX_ABSTRACT)
    mode: Mode = "keyword"
    category: str | None = Field(None, pattern=CATEGORY_PATTERN)
    since: DateText = None
    until: DateText = None
    has_code: StrictBool | None = None
    author: str | None = Field(None, max_length=MAX_NAME)
    min_score: Score | None = None
    page: Whole = Field(1, ge=1, le=MAX_PAGE)
    per_page: Whole = Field(20, ge=1, le=MAX_PER_PAGE)
    model_config = {"extra": "forbid"}


@router.get("/papers", response_model=PaperList, summary="Daily Papers: a day, week or month of papers")
def list_papers(runtime: RuntimeDep, engine: EngineDep, period: Period = "day", sort: ListSort = "newest",
                day: Annotated[DateText, Query(alias="date")] = None, page: Page = 1,
                per_page: PerPage = 20) -> Any:
    return runtime.read_model(("daily", period, sort, day, page, per_page),
                              lambda: browse.daily_papers(engine, period, sort, day, page, per_page))


@router.get("/papers/{paper_id:path}", summary="A paper: authors, links, citations, scores, similar, BibTeX")
def get_paper(runtime: RuntimeDep, engine: EngineDep, searcher: SearcherDep,
              paper_id: Annotated[str, Path(max_length=300)]) -> dict[str, Any]:
    paper = runtime.read_model(("paper", paper_id), lambda: browse.paper_page(engine, paper_id, searcher=searcher))
    if paper is None:
        raise WebError(404, f"no paper with id {paper_id!r} in the store")
    return paper


@router.get("/authors", response_model=list[AuthorHit], summary="Find authors by name")
def find_authors(engine: EngineDep, q: Annotated[str, Query(min_length=1, max_length=MAX_NAME)],
                 limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Any:
    return browse.find_authors(engine, q, limit)


@router.get("/authors/{author_id:path}", summary="An author's profile: metrics, cards, co-authors, similar")
def get_author(runtime: RuntimeDep, engine: EngineDep, author_id: Annotated[str, Path(max_length=300)],
               sort: AuthorSort = "date", page: Page = 1,
               per_page: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    try:
        return runtime.read_model(("author", author_id, sort, page, per_page),
                                  lambda: browse.author_page(engine, author_id, sort, page=page, per_page=per_page))
    except browse.AuthorNotFound as exc:
        raise WebError(404, str(exc)) from None


class TopAuthor(BaseModel):
    identity_id: str
    name: str
    papers: int  # papers in the collection
    h_index: int | None
    field: str | None


class Collection(BaseModel):
    kind: Literal["category", "organisation", "venue"]
    key: str
    name: str
    total: int
    page: int
    per_page: int
    pages: int
    feed: str | None
    top_authors: list[TopAuthor]
    top_authors_over: int  # the newest papers the top authors were counted over
    papers: list[Card]


def _collection(engine: Any, kind: str, ref: str, page: int, per_page: int) -> Any:
    from paperscope.services.collections import CollectionNotFound, collection_page

    try:
        return collection_page(engine, kind, ref, page, per_page)
    except CollectionNotFound as exc:
        raise WebError(404, str(exc)) from None


@router.get("/categories/{tag}", response_model=Collection, summary="A category: its papers and top authors")
def get_category(engine: EngineDep, tag: Annotated[str, Path(pattern=CATEGORY_PATTERN)], page: Page = 1,
                 per_page: PerPage = 20) -> Any:
    return _collection(engine, "category", tag, page, per_page)


@router.get("/organisations/{ref:path}", response_model=Collection,
            summary="An organisation (its id or name): its papers and top authors")
def get_organisation(engine: EngineDep, ref: Annotated[str, Path(max_length=300)], page: Page = 1,
                     per_page: PerPage = 20) -> Any:
    return _collection(engine, "organisation", ref, page, per_page)


@router.get("/venues/{ref:path}", response_model=Collection, summary="A venue: its papers and top authors")
def get_venue(engine: EngineDep, ref: Annotated[str, Path(max_length=300)], page: Page = 1,
              per_page: PerPage = 20) -> Any:
    return _collection(engine, "venue", ref, page, per_page)


def _search(runtime: Runtime, query: browse.SearchQuery) -> Any:
    check_range(query.since, query.until)
    return runtime.read_model(("search", query),
                              lambda: browse.search_papers(runtime.engine, query, searcher=runtime.searcher))


@router.get("/search", response_model=PaperList, summary="Search papers (keyword, semantic, hybrid)")
def search(runtime: RuntimeDep, q: Annotated[str, Query(max_length=MAX_QUERY)] = "", mode: Mode = "keyword",
           category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
           since: Annotated[DateText, Query()] = None, until: Annotated[DateText, Query()] = None,
           has_code: bool | None = None,
           author: Annotated[str | None, Query(max_length=MAX_NAME)] = None,
           min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
           page: Page = 1, per_page: PerPage = 20) -> Any:
    return _search(runtime, browse.SearchQuery(
        q=q, mode=mode, category=category_tag(category), since=since, until=until, has_code=has_code,
        author=author or None, min_score=min_score, page=page, per_page=per_page))


@router.post("/search", response_model=PaperList, summary="Search with a pasted abstract (JSON body)")
def search_body(runtime: RuntimeDep, body: SearchBody) -> Any:
    return _search(runtime, browse.SearchQuery(
        q=body.q, mode=body.mode, abstract=body.abstract, category=category_tag(body.category),
        since=body.since, until=body.until, has_code=body.has_code, author=body.author or None,
        min_score=body.min_score, page=body.page, per_page=body.per_page))


@router.get("/ops", summary="Operations: embedder generations and the index snapshot this replica serves")
def ops(runtime: RuntimeDep) -> dict[str, Any]:
    return operations_status(runtime)
