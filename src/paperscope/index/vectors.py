"""The semantic index: HNSW (hnswlib, inner product on unit vectors) over the stored paper embeddings.

A derived folder (`<data_dir>/index/vectors-<embedder>/`): `hnsw.bin` (the graph and vectors),
`ids.txt` (paper id of each label, one a line) and `state.json` (embedder name and fitted version,
dimension, HNSW parameters, the latest `computed_at` indexed). Updates are incremental: embeddings
computed after the watermark are added, a changed paper's vector replaced under its label. A new
embedder version (a refit) or a different number of papers than stored embeddings (merged papers)
rebuilds it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.store import search_reads as reads

SCHEMA_VERSION = 1
M = 16
EF_CONSTRUCTION = 100
# Lookup breadth. Few-word queries land among many papers of nearly equal similarity, where a
# narrow search misses much of the exact top 10: at 200k vectors recall@10 is 0.87 at ef 64 and
# 0.96 at ef 256, at 1M 0.66 and 0.83, for about 0.2 ms more per lookup (bench/hnsw.py,
# bench/search.py; docs/search.md).
EF_SEARCH = 256

Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


def _hnswlib():  # type: ignore[no-untyped-def]
    import hnswlib

    return hnswlib


@dataclass
class VectorUpdate:
    added: int = 0
    replaced: int = 0
    rebuilt: bool = False
    reason: str = ""
    count: int = 0
    model: str = ""
    version: str = ""
    seconds: float = 0.0


class VectorIndex:
    """An opened semantic index folder."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        self.folder = Path(folder)
        self.state: dict[str, Any] = json.loads((self.folder / "state.json").read_text())
        self.ids: list[str] = (self.folder / "ids.txt").read_text().split("\n") if self.state["count"] else []
        self.label_of = {pid: i for i, pid in enumerate(self.ids)}
        self.dim = int(self.state["dim"])
        hnswlib = _hnswlib()
        self.index = hnswlib.Index(space="ip", dim=self.dim)
        if self.ids:
            self.index.load_index(str(self.folder / "hnsw.bin"), max_elements=len(self.ids))
            self.index.set_ef(int(self.state.get("ef", EF_SEARCH)))
            self.index.set_num_threads(threads)

    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / "state.json").is_file()

    @property
    def model(self) -> str:
        return str(self.state["model"])

    @property
    def version(self) -> str:
        return str(self.state["version"])

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, vector: np.ndarray, k: int = 10, ef: int | None = None) -> list[tuple[str, float]]:
        """(paper id, cosine similarity) of the k nearest papers to a unit vector."""
        if not self.ids or not np.any(vector):
            return []
        k = min(k, len(self.ids))
        if ef is not None or k > EF_SEARCH:
            self.index.set_ef(max(ef or 0, k, int(self.state.get("ef", EF_SEARCH))))
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        try:
            labels, distances = self.index.knn_query(query, k=k)
        except RuntimeError:
            # hnswlib refuses when its graph search reaches fewer than k papers (k near the count,
            # a small ef): the exact answer is then affordable and always complete.
            return self._exact_all(query[0], k)
        return [(self.ids[int(lab)], float(1.0 - d)) for lab, d in zip(labels[0], distances[0], strict=True)]

    def _exact_all(self, vector: np.ndarray, k: int, chunk: int = 65_536) -> list[tuple[str, float]]:
        """The exact k nearest papers, reading the vectors a chunk at a time (memory stays bounded)."""
        best_labels = np.zeros(0, dtype=np.int64)
        best_sims = np.zeros(0, dtype=np.float32)
        for start in range(0, len(self.ids), chunk):
            labels = np.arange(start, min(start + chunk, len(self.ids)), dtype=np.int64)
            sims = np.asarray(self.index.get_items(labels), dtype=np.float32) @ vector
            best_labels = np.concatenate([best_labels, labels])
            best_sims = np.concatenate([best_sims, sims])
            if len(best_sims) > k:
                keep = np.argpartition(-best_sims, k - 1)[:k]
                best_labels, best_sims = best_labels[keep], best_sims[keep]
        order = np.lexsort((best_labels, -best_sims))
        return [(self.ids[int(best_labels[i])], float(best_sims[i])) for i in order]

    def vectors(self, paper_ids: list[str]) -> tuple[list[str], np.ndarray]:
        """The indexed vectors of those papers that are indexed (ids in the order returned)."""
        have = [pid for pid in paper_ids if pid in self.label_of]
        if not have:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        matrix = np.asarray(self.index.get_items([self.label_of[pid] for pid in have]), dtype=np.float32)
        return have, matrix

    def exact(self, vector: np.ndarray, paper_ids: list[str], k: int) -> list[tuple[str, float]]:
        """Exact nearest neighbours among `paper_ids` (restrictive filters: the candidates are few)."""
        have, matrix = self.vectors(paper_ids)
        if not have:
            return []
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-sims, kind="stable")[:k]
        return [(have[int(i)], float(sims[int(i)])) for i in top]


def _write(folder: Path, index: Any, ids: list[str], state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if ids:
        index.save_index(str(folder / "hnsw.bin.tmp"))
        (folder / "hnsw.bin.tmp").replace(folder / "hnsw.bin")
    (folder / "ids.txt.tmp").write_text("\n".join(ids))
    (folder / "ids.txt.tmp").replace(folder / "ids.txt")
    (folder / "state.json.tmp").write_text(json.dumps(state, indent=2, default=str))
    (folder / "state.json.tmp").replace(folder / "state.json")


def update_vectors(
    engine: Engine, folder: Path, model: str, version: str, *, rebuild: bool = False,
    progress: Progress = _quiet, threads: int = 2, page: int = 20000,
) -> VectorUpdate:
    """Bring the semantic index in `folder` up to date with the stored embeddings of model@version."""
    hnswlib = _hnswlib()
    started = time.perf_counter()
    folder = Path(folder)
    result = VectorUpdate(model=model, version=version)
    state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").is_file() else {}
    if not state:
        rebuild, result.reason = True, "no index yet"
    elif state.get("schema_version") != SCHEMA_VERSION:
        rebuild, result.reason = True, "index format changed"
    elif (state.get("model"), state.get("version")) != (model, version):
        rebuild, result.reason = True, f"embeddings are now {model}@{version} (index: {state.get('version')})"
    elif rebuild:
        result.reason = "rebuild asked for"
    if rebuild:
        shutil.rmtree(folder, ignore_errors=True)
        state = {}
    ids: list[str] = []
    index = None
    if state.get("count"):
        ids = (folder / "ids.txt").read_text().split("\n")
        index = hnswlib.Index(space="ip", dim=int(state["dim"]))
        index.load_index(str(folder / "hnsw.bin"), max_elements=len(ids))
    label_of = {pid: i for i, pid in enumerate(ids)}
    watermark = datetime.fromisoformat(state["watermark"]) if state.get("watermark") else None
    newest = watermark
    dim = int(state.get("dim") or 0)
    after: str | None = None
    with engine.connect() as connection:
        total = reads.count_papers(connection)
    progress("semantic index", 0, total if watermark is None else None)
    done = 0
    while True:
        with engine.connect() as connection:
            rows = reads.embeddings_changed(connection, model, version, watermark, after, page)
        if not rows:
            break
        after = rows[-1][0]
        dim = rows[0][2]
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
        labels = np.empty(len(rows), dtype=np.int64)
        for j, (pid, _, _, computed_at) in enumerate(rows):
            if pid in label_of:
                labels[j] = label_of[pid]
                result.replaced += 1
            else:
                label_of[pid] = labels[j] = len(ids)
                ids.append(pid)
                result.added += 1
            if newest is None or computed_at > newest:
                newest = computed_at
        if index is None:
            index = hnswlib.Index(space="ip", dim=dim)
            index.init_index(max_elements=max(total, len(ids), 1), M=M, ef_construction=EF_CONSTRUCTION)
        if len(ids) > index.get_max_elements():
            index.resize_index(max(len(ids), int(index.get_max_elements() * 1.25)))
        index.set_num_threads(threads)
        index.add_items(matrix, labels)
        done += len(rows)
        progress("semantic index", done, total if watermark is None else None)
    with engine.connect() as connection:
        stored = reads.count_embeddings(connection, model, version)
    if len(ids) != stored and not rebuild:
        again = update_vectors(engine, folder, model, version, rebuild=True, progress=progress,
                               threads=threads, page=page)
        again.reason = f"index held {len(ids):,} papers, the store {stored:,} embeddings: rebuilt"
        return again
    _write(folder, index, ids, {
        "schema_version": SCHEMA_VERSION,
        "engine": "hnswlib",
        "model": model,
        "version": version,
        "dim": dim,
        "count": len(ids),
        "M": M,
        "ef_construction": EF_CONSTRUCTION,
        "ef": EF_SEARCH,
        "watermark": newest.isoformat() if isinstance(newest, datetime) else newest,
        "updated": datetime.now().astimezone().isoformat(timespec="seconds"),
    })
    result.rebuilt = rebuild
    result.count = len(ids)
    result.seconds = round(time.perf_counter() - started, 3)
    return result

