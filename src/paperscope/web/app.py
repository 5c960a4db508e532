"""The web app: server-rendered pages and their JSON twins under /api/v1, one FastAPI app.

`create_app(settings)` builds it; nothing opens a store or reads settings at import. Each area's
routes live in a router module listed in ROUTERS: a feature adds its router with one line there.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from paperscope.core.settings import Settings
from paperscope.services.store import open_store
from paperscope.web import routes_accounts, routes_api, routes_digests, routes_pages
from paperscope.web.errors import install_error_handlers
from paperscope.web.limits import BodyLimit, HeadAndOptions
from paperscope.web.security import Csrf, SecurityHeaders
from paperscope.web.templating import HERE, make_templates

API_PREFIX = "/api/v1"

# The routers of the app, in order. A feature with pages or API routes of its own adds its router here.
ROUTERS: list[APIRouter] = [
    routes_pages.router,
    routes_api.router,
    routes_digests.router,
    routes_accounts.router,
]


def create_app(settings: Settings, engine: Engine | None = None, secret_key: str | None = None) -> FastAPI:
    """The app over the store the settings name (or `engine`, which the caller keeps owning).
    `secret_key` signs the CSRF tokens; a random one per process when not given."""
    own_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="paperscope",
        summary="A self-hosted research radar for machine-learning papers: papers, authors, search.",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN: not offered
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine if engine is not None else open_store(settings)
    app.state.templates = make_templates()
    app.state.csrf = Csrf(secret_key or secrets.token_urlsafe(32))
    install_error_handlers(app)
    app.add_middleware(HeadAndOptions)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
