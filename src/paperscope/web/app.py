"""The web app: server-rendered pages and their JSON twins under /api/v1, one FastAPI app.

`create_app(runtime)` builds it over one `Runtime` (services/runtime.py: settings, engine, search
indexes, mail), which routes reach through the typed dependencies of web/deps.py; nothing opens a
store or reads settings at import. `app_for_settings(settings)` is the factory that `paperscope serve`
hands uvicorn: each worker process builds its own runtime from the settings the command read.
Each area's routes live in a router module listed in ROUTERS: a feature adds its router with one
line there.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from paperscope.core.settings import Settings
from paperscope.services.runtime import Runtime, open_runtime
from paperscope.web import (
    routes_accounts,
    routes_api,
    routes_api_reader,
    routes_digests,
    routes_export,
    routes_feeds,
    routes_pages,
)
from paperscope.web.caching import HttpCaching, build_stamp
from paperscope.web.errors import install_error_handlers
from paperscope.web.limits import BodyLimit, HeadAndOptions
from paperscope.web.security import Csrf, SecurityHeaders
from paperscope.web.templating import HERE, make_templates

API_PREFIX = "/api/v1"

# The routers of the app, in order. A feature with pages or API routes of its own adds its router here.
ROUTERS: list[APIRouter] = [
    routes_pages.router,
    routes_api_reader.router,  # before routes_api: /papers/{id}/similar before /papers/{id}
    routes_api.router,
    routes_digests.router,
    routes_accounts.router,
    routes_feeds.router,
    routes_export.router,
]


def create_app(runtime: Runtime, secret_key: str | None = None) -> FastAPI:
    """The app over the runtime (the caller keeps owning it unless `app_for_settings` made it).
    `secret_key` signs the CSRF tokens; by default a key derived from the runtime's signing secret,
    so that every worker of one server accepts the others' forms."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run on anyio's worker threads: as many as the settings say, the number the
        # store's connection pool was sized for (store/engine.py), so no thread waits for a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = runtime.settings.web_threads
        yield
        runtime.close()

    app = FastAPI(
        title="paperscope",
        summary="A self-hosted research radar for machine-learning papers: papers, authors, search.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN: not offered
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.templates = make_templates()
    app.state.csrf = Csrf(secret_key or _csrf_key(runtime.mail.secret_key))
    install_error_handlers(app)
    app.add_middleware(HeadAndOptions)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_request_bytes)
    app.add_middleware(HttpCaching, runtime=runtime,
                       build=build_stamp([HERE / "templates", HERE / "static"]))
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # pages and JSON; outermost: 304s stay bare
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app


def _csrf_key(secret: str) -> str:
    return hmac.new(secret.encode(), b"paperscope-csrf", hashlib.sha256).hexdigest()


def app_for_settings(settings: Settings) -> FastAPI:
    """A worker's app: its own runtime (engine, indexes) over the settings `paperscope serve` read."""
    return create_app(open_runtime(settings, migrate=False, serving=True))
