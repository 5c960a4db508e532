"""The vector files of one embedder generation: columnar Arrow IPC files under the data dir.

One folder per generation (its path is kept in the generation's row). Each file holds three
columns: `paper_id` (string), `text_hash` (the hash of the text the vector was computed from, so
a changed paper is seen as stale) and `vector` (fixed-size list of float32, unit length). Files:

- `base-<stamp>.arrow`: the compacted vectors, one row per paper, sorted by paper id;
- `part-<key>.arrow`: what one unit of work wrote (a backfill's id range, a daily update), later
  parts overriding earlier ones and the base for the same paper.

A part is written to a temporary name and renamed, so a reader never sees half a file, and the
same unit of work written twice leaves the same file: workers on several machines may each write
their id ranges, in any order, any number of times. `compact` folds the parts into a new base.
Files are opened memory-mapped: the vectors of 2.7M papers are not read into memory until used.
Arrow was chosen over `.npy` arrays with a separate id list, and over one blob per row in the
store, by measurement (docs/benchmarks.md, "Vector files").
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUFFIX = ".arrow"


def _pa():  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.ipc  # noqa: F401  (registers pa.ipc)

    return pa


def _schema(dim: int):  # type: ignore[no-untyped-def]
    pa = _pa()
    return pa.schema([
        ("paper_id", pa.string()),
        ("text_hash", pa.string()),
        ("vector", pa.list_(pa.float32(), dim)),
    ])


def write_vectors(path: Path, paper_ids: Sequence[str], hashes: Sequence[str], vectors: np.ndarray) -> Path:
    """Write one vector file atomically (a temporary name, then a rename)."""
    pa = _pa()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(paper_ids) or len(hashes) != len(paper_ids):
        raise ValueError(f"{path.name}: {len(paper_ids)} ids, {len(hashes)} hashes and vectors "
                         f"of shape {vectors.shape} do not line up")
    dim = vectors.shape[1]
    table = pa.table(
        [pa.array(list(paper_ids), pa.string()), pa.array(list(hashes), pa.string()),
         pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim)],
        schema=_schema(dim),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=65536)
    os.replace(tmp, path)
    return path


@dataclass
class VectorFile:
    """One opened (memory-mapped) vector file."""

    path: Path
    ids: list[str]
    hashes: list[str]
    matrix: np.ndarray  # read-only view on the mapped file where the layout allows

    @classmethod
    def open(cls, path: Path) -> VectorFile:
        pa = _pa()
        source = pa.memory_map(str(path), "r")
        table = pa.ipc.open_file(source).read_all()
        dim = table.schema.field("vector").type.list_size
        column = table.column("vector")
        if column.num_chunks == 1:
            values = column.chunk(0).flatten()
        else:
            values = pa.concat_arrays([c.flatten() for c in column.chunks])
        matrix = values.to_numpy(zero_copy_only=False).reshape(-1, dim) if len(table) else np.zeros(
            (0, dim), dtype=np.float32)
        return cls(path, table.column("paper_id").to_pylist(), table.column("text_hash").to_pylist(), matrix)


@dataclass
class VectorSet:
    """Every vector of a generation: the base and the parts merged (a later part wins for a paper)."""

    folder: Path
    dim: int
    ids: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    files: tuple[str, ...] = ()
    row_of: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, paper_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The vectors of those of `paper_ids` that have one, in the order asked."""
        have = [pid for pid in paper_ids if pid in self.row_of]
        if not have:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        return have, np.asarray(self.matrix[[self.row_of[pid] for pid in have]], dtype=np.float32)

    def hash_of(self, paper_id: str) -> str | None:
        row = self.row_of.get(paper_id)
        return None if row is None else self.hashes[row]


def read_rows(folder: Path, dim: int, paper_ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The vectors of those of `paper_ids` that the generation's files hold, in the order asked, read
    without opening the whole set (what a served page needs: `open_set` keeps every id, hash and,
    over several files, a merged copy of every vector). Each file's id column is matched against the
    wanted ids by Arrow (a hash of the wanted ids, no Python object per stored paper) and only the
    matching rows are gathered from the memory-mapped vectors; a later file wins for a paper, as in
    `open_set`."""
    pa = _pa()
    import pyarrow.compute as pc

    folder = Path(folder)
    wanted = list(dict.fromkeys(paper_ids))
    found: dict[str, np.ndarray] = {}
    if wanted:
        value_set = pa.array(wanted, pa.string())
        for name in list_files(folder):
            table = pa.ipc.open_file(pa.memory_map(str(folder / name), "r")).read_all()
            ids = table.column("paper_id")
            positions = np.flatnonzero(pc.is_in(ids, value_set=value_set).to_numpy(zero_copy_only=False))
            if not len(positions):
                continue
            matrix = _gather(table.column("vector"), positions, dim)
            for pid, row in zip(ids.take(pa.array(positions, pa.int64())).to_pylist(), matrix, strict=True):
                found[pid] = row
    have = [pid for pid in paper_ids if pid in found]
    if not have:
        return [], np.zeros((0, dim), dtype=np.float32)
    return have, np.asarray(np.stack([found[pid] for pid in have]), dtype=np.float32)


def _gather(column, positions: np.ndarray, dim: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Rows `positions` (ascending) of a chunked fixed-size-list column, copied out of each chunk's
    zero-copy view: only those rows' pages of the mapped file are read. (Arrow's own `take` on a
    chunked column concatenates every chunk first: a copy of every vector, 1 GiB at a million.)"""
    out = np.empty((len(positions), dim), dtype=np.float32)
    start, done = 0, 0
    for chunk in column.chunks:
        stop = start + len(chunk)
        upto = int(np.searchsorted(positions, stop, side="left"))
        if upto > done:
            values = chunk.flatten().to_numpy(zero_copy_only=True).reshape(-1, dim)
            out[done:upto] = values[positions[done:upto] - start]
            done = upto
        start = stop
    return out


def list_files(folder: Path) -> tuple[str, ...]:
    """The generation's files in the order they apply: the newest base, then parts by write time."""
    folder = Path(folder)
    if not folder.is_dir():
        return ()
    bases = sorted(p.name for p in folder.glob(f"base-*{SUFFIX}"))
    parts = sorted(folder.glob(f"part-*{SUFFIX}"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return tuple(bases[-1:] + [p.name for p in parts])


def open_set(folder: Path, dim: int) -> VectorSet:
    """Merge the base and parts of `folder` into one set."""
    folder = Path(folder)
    names = list_files(folder)
    opened = [VectorFile.open(folder / name) for name in names]
    opened = [f for f in opened if f.ids]
    if not opened:
        return VectorSet(folder, dim, files=names)
    if len(opened) == 1:
        only = opened[0]
        return VectorSet(folder, dim, only.ids, only.hashes, only.matrix, names,
                         {pid: i for i, pid in enumerate(only.ids)})
    ids = [pid for f in opened for pid in f.ids]
    hashes = [h for f in opened for h in f.hashes]
    row_of = {pid: i for i, pid in enumerate(ids)}  # later rows overwrite: the newest part wins
    keep = np.fromiter(sorted(row_of.values()), dtype=np.int64, count=len(row_of))
    matrix = np.concatenate([f.matrix for f in opened])[keep]
    ids = [ids[i] for i in keep]
    hashes = [hashes[i] for i in keep]
    return VectorSet(folder, dim, ids, hashes, matrix, names, {pid: i for i, pid in enumerate(ids)})


def compact(folder: Path, dim: int, keep_ids: set[str] | None = None) -> VectorSet:
    """Fold every part into one new base (sorted by paper id; only `keep_ids` when given, so papers
    that left the store leave the files), then delete the files it replaces."""
    folder = Path(folder)
    merged = open_set(folder, dim)
    order = sorted(range(len(merged.ids)), key=merged.ids.__getitem__)
    if keep_ids is not None:
        order = [i for i in order if merged.ids[i] in keep_ids]
    base = folder / f"base-{time.time_ns():020d}{SUFFIX}"
    idx = np.asarray(order, dtype=np.int64)
    write_vectors(base, [merged.ids[i] for i in order], [merged.hashes[i] for i in order],
                  merged.matrix[idx] if len(order) else np.zeros((0, dim), dtype=np.float32))
    for name in merged.files:
        (folder / name).unlink(missing_ok=True)
    return open_set(folder, dim)
