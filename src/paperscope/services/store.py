"""Opening the store named by the settings, migrated to the current schema."""

from __future__ import annotations

from sqlalchemy import Engine

from paperscope.core.settings import Settings
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade


def open_store(settings: Settings, migrate: bool = True, serving: bool = False, read_only: bool = False) -> Engine:
    """The engine of the configured store; migrations run first (they are idempotent). `serving`:
    an engine for a web worker, its pool sized from `web_threads`; `read_only`: one whose
    connections refuse writes (store/engine.py)."""
    engine = open_engine(settings.database_url, threads=settings.web_threads if serving else None,
                         read_only=read_only)
    if migrate:
        upgrade(engine)
    return engine
