"""Downloads of the lists the pages show, as BibTeX, CSV or JSON (`format=`): a search's results
(`/export/search`, the search page's parameters), an author's papers (`/export/author?id=`), the
reader's library (`/export/library`, after login) and Daily Papers (`/export/daily`). Each list is
exported whole, up to services.export.EXPORT_LIMIT papers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from paperscope.services import browse, export
from paperscope.web.deps import runtime_of
from paperscope.web.errors import WebError
from paperscope.web.params import AUTHOR_SORTS, LIST_SORTS, MAX_NAME, PERIODS, QueryParser, search_query
from paperscope.web.routes_accounts import _login_redirect, current_user

router = APIRouter(prefix="/export", include_in_schema=False)
FORMAT_CHOICES = tuple(export.FORMATS)


def _format(request: Request) -> str:
    p = QueryParser({"format": request.query_params.get("format", "")})
    fmt = p.choice("format", FORMAT_CHOICES, "bibtex")
    p.done()
    return fmt


def _download(content: str, fmt: str, name: str) -> Response:
    extension, media_type = export.FORMATS[fmt]
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in name)[:80] or "papers"
    return Response(content, media_type=media_type,
                    headers={"content-disposition": f'attachment; filename="paperscope-{safe}.{extension}"'})


def _rest(request: Request, *names: str) -> dict[str, Any]:
    return {k: v for k, v in request.query_params.items() if k not in ("format", *names)}


@router.get("/search")
async def search(request: Request) -> Response:
    fmt = _format(request)
    query = search_query(_rest(request))
    runtime = runtime_of(request)

    def build() -> str:
        ids = export.search_ids(runtime.engine, query, runtime.searcher)
        return export.render(runtime.engine, ids, fmt)

    return _download(await run_in_threadpool(build), fmt, f"search-{query.q or 'all'}")


@router.get("/daily")
async def daily(request: Request) -> Response:
    fmt = _format(request)
    p = QueryParser(_rest(request))
    period = p.choice("period", list(PERIODS), "day")
    sort = p.choice("sort", LIST_SORTS, "newest")
    day = p.day("date")
    p.done()
    engine = runtime_of(request).engine

    def build() -> str:
        return export.render(engine, export.daily_ids(engine, period, sort, day), fmt)

    return _download(await run_in_threadpool(build), fmt, f"daily-{period}-{day or 'latest'}")


@router.get("/author")
async def author(request: Request) -> Response:
    fmt = _format(request)
    p = QueryParser(_rest(request))
    ref = p.text("id", MAX_NAME)
    sort = p.choice("sort", AUTHOR_SORTS, "date")
    p.done()
    if not ref:
        raise WebError(422, "invalid parameter: id", "invalid_parameter",
                       [{"parameter": "id", "problem": "name the author: an identity id, an author id or a name"}])
    engine = runtime_of(request).engine

    def build() -> str:
        return export.render(engine, export.author_ids(engine, ref, sort), fmt)

    try:
        content = await run_in_threadpool(build)
    except browse.AuthorNotFound as exc:
        raise WebError(404, str(exc)) from None
    return _download(content, fmt, f"author-{ref}")


@router.get("/library")
async def library(request: Request) -> Response:
    fmt = _format(request)
    user = current_user(request)
    if user is None:
        return _login_redirect(str(request.url.path) + f"?format={fmt}")
    engine = runtime_of(request).engine

    def build() -> str:
        return export.render(engine, export.library_ids(engine, user["id"]), fmt)

    return _download(await run_in_threadpool(build), fmt, "library")

