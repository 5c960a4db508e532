"""Store statistics, quarantine and run listings for operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from paperscope.store import queries, runs


def store_stats(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        return {
            "tables": queries.table_counts(connection),
            "sources": queries.papers_by_source(connection),
            "categories": queries.papers_by_category(connection),
        }


def quarantined(engine: Engine, source: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return queries.list_quarantine(connection, source, limit)


def recent_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return runs.list_runs(connection, limit)
