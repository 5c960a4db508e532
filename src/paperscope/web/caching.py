"""HTTP caching: validators for the pages and their JSON twins, long-lived static files.

`HttpCaching` (pure ASGI middleware) gives every GET or HEAD of a page read from the store an ETag
and a Last-Modified built from what the page is made of: the runtime's content version (the store's
write stamp and the search indexes' version stamp, services/runtime.py), the code and templates of
this build, the day (dates on cards are written relative to it), the hour (the forms' CSRF tokens
age), the URL, and the cookies that make a page someone's own (the login session and the CSRF
cookie). A request whose If-None-Match (or, without one, If-Modified-Since) still matches is
answered 304 before any route runs: a revalidation costs a stat or one tiny query, not a page.

Pages carry per-browser form tokens, so HTML is `private, no-cache` (kept by the browser, checked
each time) with `Vary: Cookie`; JSON is `public, no-cache` unless the request carries a session.
Static files are served from URLs that carry a hash of their content (`static_url`), so they are
cached for a year and a new build changes their URLs.

The same pages run inside `runtime.reading()`: on the read-only engine when the runtime has one
(a served worker's: SQLite connections with `query_only`, PostgreSQL read-only transactions), so
a page that only reads cannot write, and the writer's connections stay free for the forms.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import paperscope
from paperscope.services.runtime import Runtime

# Paths whose GET answers are read from the store and search indexes alone: they are validated,
# and run on the read-only engine (no GET here writes).
CACHED_PREFIXES = ("/papers/", "/authors", "/search", "/library", "/recommended", "/feeds/", "/export/",
                   "/categories/", "/organisations/", "/venues/", "/api/v1/papers", "/api/v1/authors",
                   "/api/v1/search", "/api/v1/me/", "/api/v1/categories/", "/api/v1/organisations/",
                   "/api/v1/venues/")
CACHED_PATHS = ("/",)
# Cookies that make a page someone's own: the login session and the CSRF cookie of its forms.
PERSONAL_COOKIES = ("paperscope_session", "paperscope_csrf")
STATIC_MAX_AGE = 365 * 24 * 3600
TOKEN_HOURS = 1  # a revalidated page is at most this old: its CSRF tokens stay far from expiry


def build_stamp(folders: list[Path]) -> str:
    """The version of the code and of the files pages are rendered from (templates, static)."""
    digest = hashlib.blake2b(paperscope.__version__.encode(), digest_size=8)
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def _file_hash(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()


def static_url(folder: Path) -> Callable[[str], str]:
    """`static_url("style.css")` -> `/static/style.css?v=<content hash>`: a URL that changes with the file."""

    def url(name: str) -> str:
        return f"/static/{name}?v={_file_hash(folder / name)}"

    return url


def _is_cached(path: str) -> bool:
    return path in CACHED_PATHS or path.startswith(CACHED_PREFIXES)


def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def _parse_http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.timestamp() if parsed is not None else None


class HttpCaching:
    """ETag / Last-Modified / Cache-Control on pages, 304 for a matching revalidation, and the
    long-lived Cache-Control of fingerprinted static files (see the module docstring)."""

    def __init__(self, app: ASGIApp, runtime: Runtime, build: str) -> None:
        self.app = app
        self.runtime = runtime
        self.build = build

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/static/"):
            await self._static(scope, receive, send)
        elif _is_cached(path):
            await self._page(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _static(self, scope: Scope, receive: Receive, send: Send) -> None:
        versioned = b"v=" in scope.get("query_string", b"")
        control = (f"public, max-age={STATIC_MAX_AGE}, immutable" if versioned
                   else "public, max-age=0, must-revalidate").encode()

        async def with_control(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                message["headers"] = [*message.get("headers", []), (b"cache-control", control)]
            await send(message)

        await self.app(scope, receive, with_control)

    async def _page(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        cookies = headers.get("cookie", "")
        personal = {name: value for name, value in _cookies(cookies).items() if name in PERSONAL_COOKIES}
        version = await run_in_threadpool(self.runtime.content_version)  # a stat, or one query on PostgreSQL
        now = time.time()
        hour = int(now // (TOKEN_HOURS * 3600))
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        url = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        material = "\n".join([version.tag, self.build, day, str(hour), url,
                              *(f"{k}={v}" for k, v in sorted(personal.items()))])
        etag = 'W/"' + hashlib.blake2b(material.encode(), digest_size=12).hexdigest() + '"'
        # Last-Modified moves with the content, the day and the hour as the ETag does.
        modified = int(max(version.changed_at, hour * TOKEN_HOURS * 3600.0))
        html = not scope["path"].startswith("/api/")
        control = b"private, no-cache" if html or "paperscope_session" in personal else b"public, no-cache"
        validators = [(b"etag", etag.encode()), (b"last-modified", _http_date(modified).encode()),
                      (b"cache-control", control), (b"vary", b"Cookie")]
        if _still_fresh(headers, etag, modified):
            await send({"type": "http.response.start", "status": 304, "headers": validators})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_validators(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in validators if k not in present)]
            await send(message)

        with self.runtime.reading(version):
            await self.app(scope, receive, with_validators)


def _cookies(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def _still_fresh(headers: Headers, etag: str, modified: int) -> bool:
    """RFC 9110: If-None-Match decides when present (weak comparison); else If-Modified-Since."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since = headers.get("if-modified-since")
    if since is not None:
        when = _parse_http_date(since)
        return when is not None and modified <= when
    return False
