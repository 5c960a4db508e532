"""Embedder generations and the one way to read paper vectors.

A generation is one embedder at one version; its vectors live in files (store/vector_files.py)
in the folder its row names. Exactly one generation is active once any exists: queries, similar
papers, Novelty, recommendations and similar authors read the active generation's vectors, and
query text is encoded by its model. Everything that needs vectors reads them here:

- `active_generation(connection)`: the active generation's row, or None;
- `vectors_for(engine, paper_ids)`: the active generation's vectors of those papers;
- `vectors_by_date(engine)`: every paper with a vector, in (published, id) order, with its date;
- `open_vectors(generation)`: a generation's whole vector set (cached per process and file set).

Vectors of a paper whose text changed since it was embedded are still returned until the next
update re-embeds it (the generation's `covered` progress and `paperscope embed status` say how
many are current).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, func, select, update

from paperscope.store import schema
from paperscope.store import vector_files as files
from paperscope.store.ranges import in_range
from paperscope.store.scores_schema import embedding_generations as g

STATES = ("backfilling", "ready", "retired")


@dataclass(frozen=True)
class Generation:
    id: int
    embedder: str
    version: str
    dim: int
    folder: Path
    state: str
    active: bool
    created_at: datetime | None
    activated_at: datetime | None
    progress: dict[str, Any]

    @property
    def label(self) -> str:
        """How scores name the generation that computed them: `embedder@version`."""
        return f"{self.embedder}@{self.version}"


def _generation(row: Any) -> Generation:
    m = row._mapping
    return Generation(m["id"], m["embedder"], m["version"], m["dim"], Path(m["folder"]), m["state"],
                      bool(m["active"]), m["created_at"], m["activated_at"], dict(m["progress"] or {}))


def now() -> datetime:
    return datetime.now(UTC)


# --- rows ---------------------------------------------------------------------------------------


def list_generations(connection: Connection) -> list[Generation]:
    return [_generation(r) for r in connection.execute(select(g).order_by(g.c.id))]


def get_generation(connection: Connection, generation_id: int) -> Generation | None:
    row = connection.execute(select(g).where(g.c.id == generation_id)).first()
    return _generation(row) if row else None


def find_generation(connection: Connection, embedder: str, version: str) -> Generation | None:
    row = connection.execute(select(g).where(g.c.embedder == embedder, g.c.version == version)).first()
    return _generation(row) if row else None


def active_generation(connection: Connection) -> Generation | None:
    row = connection.execute(select(g).where(g.c.active.is_(True)).order_by(g.c.id.desc()).limit(1)).first()
    return _generation(row) if row else None


def insert_generation(connection: Connection, embedder: str, version: str, dim: int, folder: Path) -> Generation:
    """A new generation in state `backfilling`, not active."""
    result = connection.execute(g.insert().values(
        embedder=embedder, version=version, dim=dim, folder=str(folder), state="backfilling", active=False,
        created_at=now(), activated_at=None, progress={}))
    generation_id = int(result.inserted_primary_key[0])
    # The folder is named after the id, which only now exists.
    folder = Path(str(folder).replace("{id}", str(generation_id)))
    connection.execute(update(g).where(g.c.id == generation_id).values(folder=str(folder)))
    found = get_generation(connection, generation_id)
    assert found is not None
    return found


def set_progress(connection: Connection, generation_id: int, progress: dict[str, Any],
                 state: str | None = None) -> None:
    values: dict[str, Any] = {"progress": {**progress, "updated_at": now().isoformat(timespec="seconds")}}
    if state is not None:
        if state not in STATES:
            raise ValueError(f"unknown generation state {state!r}: one of {', '.join(STATES)}")
        values["state"] = state
    connection.execute(update(g).where(g.c.id == generation_id).values(**values))


def set_active(connection: Connection, generation_id: int) -> None:
    """Make one generation the active one, in the caller's transaction (one step for readers)."""
    connection.execute(update(g).where(g.c.active.is_(True), g.c.id != generation_id).values(active=False))
    connection.execute(update(g).where(g.c.id == generation_id).values(
        active=True, state="ready", activated_at=now()))


# --- what is embedded -----------------------------------------------------------------------------


def list_texts_between(connection: Connection, first: str | None,
                       before: str | None) -> list[tuple[str, str, str | None]]:
    """(id, title, abstract) of the papers of the id range [first, before) (store/ranges.py), in id order."""
    p = schema.papers
    query = select(p.c.id, p.c.title, p.c.abstract).where(*in_range(p.c.id, first, before)).order_by(p.c.id)
    return [(a, b, c) for a, b, c in connection.execute(query)]


def all_paper_ids(connection: Connection) -> set[str]:
    return {pid for (pid,) in connection.execute(select(schema.papers.c.id))}


def count_papers(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(schema.papers)).scalar_one())


def paper_dates(connection: Connection) -> list[tuple[str, date | None, int | None]]:
    """(id, published, year) of every paper in (published, id) order, undated papers last."""
    p = schema.papers
    query = select(p.c.id, p.c.published, p.c.year).order_by(p.c.published.asc().nulls_last(), p.c.id)
    return [(a, b, c) for a, b, c in connection.execute(query)]


# --- vectors ------------------------------------------------------------------------------------

_cache: dict[tuple[str, int], tuple[tuple[str, ...], files.VectorSet]] = {}
_lock = threading.Lock()


def open_vectors(generation: Generation) -> files.VectorSet:
    """The generation's vectors, reopened only when its files changed since the last call."""
    key = (str(generation.folder), generation.dim)
    names = files.list_files(generation.folder)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == names:
            return cached[1]
    opened = files.open_set(generation.folder, generation.dim)
    with _lock:
        _cache[key] = (opened.files, opened)
    return opened


def vectors_for(engine: Engine, paper_ids: list[str],
                generation: Generation | None = None) -> tuple[list[str], np.ndarray]:
    """The vectors of those `paper_ids` that have one in `generation` (default: the active one),
    in the order asked; ([], an empty matrix) when no generation is active."""
    if generation is None:
        with engine.connect() as connection:
            generation = active_generation(connection)
    if generation is None:
        return [], np.zeros((0, 0), dtype=np.float32)
    return open_vectors(generation).rows(paper_ids)


@dataclass
class DatedVectors:
    ids: list[str]
    published: list[date | None]
    years: list[int | None]
    matrix: np.ndarray


def vectors_by_date(engine: Engine, generation: Generation | None = None) -> DatedVectors:
    """Every paper with a vector in `generation` (default: the active one), in (published, id)
    order, undated papers last: what a search over earlier papers inserts in order."""
    with engine.connect() as connection:
        if generation is None:
            generation = active_generation(connection)
        dated = paper_dates(connection)
    if generation is None:
        return DatedVectors([], [], [], np.zeros((0, 0), dtype=np.float32))
    vectors = open_vectors(generation)
    keep = [(pid, day, year) for pid, day, year in dated if pid in vectors.row_of]
    rows = np.fromiter((vectors.row_of[pid] for pid, _, _ in keep), dtype=np.int64, count=len(keep))
    return DatedVectors([k[0] for k in keep], [k[1] for k in keep], [k[2] for k in keep],
                        np.asarray(vectors.matrix[rows], dtype=np.float32) if len(keep) else
                        np.zeros((0, generation.dim), dtype=np.float32))
