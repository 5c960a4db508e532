"""The semantic index: HNSW (hnswlib, inner product on unit vectors) over one embedder
generation's paper vectors.

A derived folder (`<data_dir>/index/vectors/`, of the active generation): `hnsw.bin` (the graph and vectors),
`ids.txt` (paper id of each label, one a line), `hashes.txt` (the text hash of each label's
vector) and `state.json` (generation, embedder and version, dimension, HNSW parameters). Updates
are incremental: a paper new to the generation is added, one whose vector was recomputed (its
hash differs) replaced under its label. Papers that left the generation rebuild it.
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

from paperscope.store import generations
from paperscope.store.generations import Generation

SCHEMA_VERSION = 2
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
    generation: int = 0
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

    @property
    def generation(self) -> int:
        return int(self.state.get("generation") or 0)

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


def _write(folder: Path, index: Any, ids: list[str], hashes: list[str], state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if ids:
        index.save_index(str(folder / "hnsw.bin.tmp"))
        (folder / "hnsw.bin.tmp").replace(folder / "hnsw.bin")
    for name, lines in (("ids.txt", ids), ("hashes.txt", hashes)):
        (folder / f"{name}.tmp").write_text("\n".join(lines))
        (folder / f"{name}.tmp").replace(folder / name)
    (folder / "state.json.tmp").write_text(json.dumps(state, indent=2, default=str))
    (folder / "state.json.tmp").replace(folder / "state.json")


def update_vectors(
    generation: Generation, folder: Path, *, rebuild: bool = False, progress: Progress = _quiet,
    threads: int = 2, page: int = 20000,
) -> VectorUpdate:
    """Bring the semantic index in `folder` up to date with the generation's vectors."""
    hnswlib = _hnswlib()
    started = time.perf_counter()
    folder = Path(folder)
    result = VectorUpdate(model=generation.embedder, version=generation.version, generation=generation.id)
    state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").is_file() else {}
    if not state:
        rebuild, result.reason = True, "no index yet"
    elif state.get("schema_version") != SCHEMA_VERSION:
        rebuild, result.reason = True, "index format changed"
    elif state.get("generation") != generation.id:
        rebuild, result.reason = True, f"generation {generation.id} ({generation.label}) is now indexed"
    elif rebuild:
        result.reason = "rebuild asked for"
    source = generations.open_vectors(generation)
    ids: list[str] = []
    hashes: list[str] = []
    index = None
    if not rebuild and state.get("count"):
        ids = (folder / "ids.txt").read_text().split("\n")
        hashes = (folder / "hashes.txt").read_text().split("\n")
        if any(pid not in source.row_of for pid in ids):
            rebuild, result.reason, ids, hashes = True, "papers left the generation", [], []
        else:
            index = hnswlib.Index(space="ip", dim=int(state["dim"]))
            index.load_index(str(folder / "hnsw.bin"), max_elements=len(ids))
    if rebuild:
        shutil.rmtree(folder, ignore_errors=True)
    label_of = {pid: i for i, pid in enumerate(ids)}
    todo = [r for r, (pid, digest) in enumerate(zip(source.ids, source.hashes, strict=True))
            if pid not in label_of or hashes[label_of[pid]] != digest]
    total = len(todo)
    progress("semantic index", 0, total)
    dim = generation.dim
    for start in range(0, total, page):
        rows = todo[start : start + page]
        matrix = np.asarray(source.matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
        labels = np.empty(len(rows), dtype=np.int64)
        for j, r in enumerate(rows):
            pid, digest = source.ids[r], source.hashes[r]
            if pid in label_of:
                labels[j] = label_of[pid]
                hashes[label_of[pid]] = digest
                result.replaced += 1
            else:
                label_of[pid] = labels[j] = len(ids)
                ids.append(pid)
                hashes.append(digest)
                result.added += 1
        if index is None:
            index = hnswlib.Index(space="ip", dim=dim)
            index.init_index(max_elements=max(len(source), 1), M=M, ef_construction=EF_CONSTRUCTION)
        if len(ids) > index.get_max_elements():
            index.resize_index(max(len(ids), int(index.get_max_elements() * 1.25)))
        index.set_num_threads(threads)
        index.add_items(matrix, labels)
        progress("semantic index", start + len(rows), total)
    _write(folder, index, ids, hashes, {
        "schema_version": SCHEMA_VERSION,
        "engine": "hnswlib",
        "generation": generation.id,
        "model": generation.embedder,
        "version": generation.version,
        "dim": dim,
        "count": len(ids),
        "M": M,
        "ef_construction": EF_CONSTRUCTION,
        "ef": EF_SEARCH,
        "updated": datetime.now().astimezone().isoformat(timespec="seconds"),
    })
    result.rebuilt = rebuild
    result.count = len(ids)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
