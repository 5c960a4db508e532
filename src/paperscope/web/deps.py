"""What a route may ask for: typed aliases over the app's one `Runtime` (services/runtime.py).

    @router.get("/x")
    def x(engine: EngineDep, searcher: SearcherDep) -> ...

`create_app(runtime)` keeps the runtime in `app.state.runtime`; these dependencies hand out its
parts, so no route opens a store, an index or an encoder, or reads a setting from anywhere else.
Helpers that hold only the request use the `*_of(request)` functions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from paperscope.core.settings import Settings
from paperscope.services.mailer import MailSettings
from paperscope.services.runtime import Runtime
from paperscope.services.search import Searcher


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def engine_of(request: Request) -> Engine:
    return runtime_of(request).engine


def mail_of(request: Request) -> MailSettings:
    return runtime_of(request).mail


def _settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def _engine(runtime: RuntimeDep) -> Engine:
    return runtime.engine


def _searcher(runtime: RuntimeDep) -> Searcher:
    return runtime.searcher


def _mail(runtime: RuntimeDep) -> MailSettings:
    return runtime.mail


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
SearcherDep = Annotated[Searcher, Depends(_searcher)]
MailDep = Annotated[MailSettings, Depends(_mail)]
