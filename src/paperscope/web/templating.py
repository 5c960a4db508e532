"""The Jinja environment (autoescape on for every template) and the filters the pages share."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import Response

from paperscope.web.charts import bar_chart
from paperscope.web.security import CSRF_COOKIE, CSRF_FIELD, Csrf

HERE = Path(__file__).resolve().parent
DASH = "—"


def num(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def score(value: Any) -> str:
    """An AI Score as cards show it (`95.6`), or a dash when there is none."""
    return DASH if value is None else f"{float(value):.1f}"


def pct(value: Any) -> str:
    return DASH if value is None else f"{float(value):.0f}%"


def whole(value: Any) -> str:
    """An author's AI Score as the listings show it (`64`)."""
    return DASH if value is None else f"{float(value):.0f}"


def safe_url(value: Any) -> str:
    """Only http(s) links become hrefs: a `javascript:` URL from a source stays inert."""
    text = str(value or "")
    return text if urlsplit(text).scheme in ("http", "https") else "#"


def ref(value: Any) -> str:
    """An id as one URL path part (ids hold ':' and '/')."""
    return quote(str(value), safe=":~@")


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=num, score=score, pct=pct, whole=whole, safe_url=safe_url, ref=ref)
    env.globals.update(bar_chart=bar_chart, CSRF_FIELD=CSRF_FIELD, DASH=DASH)
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A page, with the CSRF cookie set when the browser has none and the token for its forms."""
    csrf: Csrf = request.app.state.csrf
    value, new = csrf.cookie_value(request)
    context = {**context, "csrf_token": csrf.token(value)}
    response = request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)
    if new:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https")
    return response
