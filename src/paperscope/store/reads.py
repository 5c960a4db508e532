"""Reads the ingest needs for matching and merging, each a set query over a whole batch."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select, tuple_

from paperscope.store import schema

Row = dict[str, Any]
# SQLite's default limit on bound parameters is 32,766; stay well below for composite keys.
_CHUNK = 5000


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def get_papers_matching(
    connection: Connection,
    *,
    ids: set[str] = frozenset(),  # type: ignore[assignment]
    arxiv_ids: set[str] = frozenset(),  # type: ignore[assignment]
    dois: set[str] = frozenset(),  # type: ignore[assignment]
    openalex_ids: set[str] = frozenset(),  # type: ignore[assignment]
    s2_ids: set[str] = frozenset(),  # type: ignore[assignment]
    title_keys: set[str] = frozenset(),  # type: ignore[assignment]
    external: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> list[Row]:
    """Every stored paper that shares any of these keys with the batch (full rows, for merging)."""
    p = schema.papers
    found: dict[str, Row] = {}
    for column, values in (
        (p.c.id, ids),
        (p.c.arxiv_id, arxiv_ids),
        (p.c.doi, dois),
        (p.c.openalex_id, openalex_ids),
        (p.c.s2_id, s2_ids),
        (p.c.title_key, title_keys),
    ):
        pending = sorted(v for v in values if v)
        for chunk in _chunks(pending):
            for row in connection.execute(select(p).where(column.in_(chunk))).mappings():
                found[row["id"]] = dict(row)
    if external:
        x = schema.paper_external_ids
        for chunk in _chunks(sorted(external)):
            query = select(p).join(x, x.c.paper_id == p.c.id).where(tuple_(x.c.scheme, x.c.value).in_(chunk))
            for row in connection.execute(query).mappings():
                found[row["id"]] = dict(row)
    return list(found.values())


def get_external_ids(connection: Connection, paper_ids: list[str]) -> list[Row]:
    x = schema.paper_external_ids
    rows: list[Row] = []
    for chunk in _chunks(paper_ids):
        rows.extend(dict(r) for r in connection.execute(select(x).where(x.c.paper_id.in_(chunk))).mappings())
    return rows


def get_known_versions(connection: Connection, paper_ids: list[str]) -> set[tuple[str, str, str, str]]:
    """(paper, source, source_key, record_hash) of every version sources said of these papers."""
    t = schema.paper_sources
    out: set[tuple[str, str, str, str]] = set()
    columns = (t.c.paper_id, t.c.source, t.c.source_key, t.c.record_hash)
    for chunk in _chunks(paper_ids):
        out.update(tuple(r) for r in connection.execute(select(*columns).where(t.c.paper_id.in_(chunk))))
    return out


def get_source_versions(connection: Connection, paper_ids: list[str], source: str, source_key: str) -> list[Row]:
    """Every version `source` said under `source_key` of these papers: paper_id, record_hash,
    record and the run that first stored it."""
    t = schema.paper_sources
    if not paper_ids:
        return []
    query = select(t.c.paper_id, t.c.record_hash, t.c.record, t.c.run_id).where(
        t.c.paper_id.in_(paper_ids), t.c.source == source, t.c.source_key == source_key
    )
    return [dict(r) for r in connection.execute(query).mappings()]


def get_latest_observations(connection: Connection, paper_ids: list[str]) -> dict[tuple[str, str], Row]:
    """The newest observation of each (paper, source) among these papers."""
    t = schema.observations
    out: dict[tuple[str, str], Row] = {}
    for chunk in _chunks(paper_ids):
        query = select(t).where(t.c.paper_id.in_(chunk)).order_by(t.c.observed_at, t.c.id)
        for row in connection.execute(query).mappings():
            out[(row["paper_id"], row["source"])] = dict(row)
    return out


def get_authorship_names(connection: Connection, paper_ids: list[str]) -> dict[str, list[Row]]:
    t = schema.authorships
    out: dict[str, list[Row]] = {}
    for chunk in _chunks(paper_ids):
        query = select(t).where(t.c.paper_id.in_(chunk)).order_by(t.c.paper_id, t.c.position)
        for row in connection.execute(query).mappings():
            out.setdefault(row["paper_id"], []).append(dict(row))
    return out
