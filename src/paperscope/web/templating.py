"""The Jinja environment (autoescape on for every template) and the filters the pages share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import Response

from paperscope.services.display import DASH, FILTERS
from paperscope.web.caching import static_url
from paperscope.web.charts import bar_chart
from paperscope.web.security import CSRF_COOKIE, CSRF_FIELD, Csrf

HERE = Path(__file__).resolve().parent
def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS)
    env.globals.update(bar_chart=bar_chart, CSRF_FIELD=CSRF_FIELD, DASH=DASH, static_url=static_url(HERE / "static"))
    return Jinja2Templates(env=env)


def _here(request: Request) -> str:
    """The page's path and query: where a card's Save or Upvote form comes back to."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A page, with the CSRF cookie set when the browser has none and the token for its forms."""
    from paperscope.services.library_marks import LibraryMarks
    from paperscope.web.routes_accounts import current_user

    csrf: Csrf = request.app.state.csrf
    value, new = csrf.cookie_value(request)
    viewer = context.get("user") or current_user(request)
    context = {**context, "csrf_token": csrf.token(value), "viewer": viewer,
               "marks": LibraryMarks(request.app.state.runtime.engine, viewer), "here": _here(request)}
    response = request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)
    if new:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https")
    return response
