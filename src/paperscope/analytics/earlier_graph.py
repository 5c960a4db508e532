"""The graph Novelty's approximate search runs on: an HNSW graph (hnswlib, inner product on unit
vectors) of papers, each label with its paper id and *time key*, kept between runs.

A full run grows the graph in time order and queries each paper before the graph holds anything
later (analytics.novelty.nearest_earlier_ann), then adds the rest: the graph ends up holding every
paper. An incremental run (the daily update) loads it, puts the new and re-embedded papers in, drops
the papers that left the store, and asks for each paper to redo the nearest labels whose time key is
below the paper's own threshold (a filter inside the graph search): new papers query the existing
graph instead of a new one being built.

Time keys encode "earlier" (analytics.novelty): key = year * 10^7 + day ordinal, or year * 10^7 +
10^7 - 1 when only the year is known. A paper with a date is later than exactly the keys below its
own; a paper known only by its year is later than the keys below year * 10^7.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
YEAR = 10**7
UNDATED = YEAR - 1
NO_YEAR = np.iinfo(np.int64).max  # never earlier than anything, never later either


@dataclass(frozen=True)
class AnnParams:
    """HNSW parameters of the approximate nearest-earlier search, chosen in bench/novelty.py for
    overlap@10 >= 0.9 with the exact neighbours at the least build time."""

    M: int = 16
    ef_construction: int = 80
    ef: int = 96
    threads: int = 2
    exact_prefix: int = 4_096  # queries with fewer earlier papers are answered exactly


def time_keys(years: list[int | None], dates: list[date | None]) -> tuple[np.ndarray, np.ndarray]:
    """(key, threshold) per paper: it is earlier than paper j exactly when key < threshold[j]."""
    key = np.array(
        [NO_YEAR if y is None else y * YEAR + (d.toordinal() if d is not None else UNDATED)
         for y, d in zip(years, dates, strict=True)],
        dtype=np.int64,
    )
    threshold = np.array(
        [np.iinfo(np.int64).min if y is None else y * YEAR + (d.toordinal() if d is not None else 0)
         for y, d in zip(years, dates, strict=True)],
        dtype=np.int64,
    )
    return key, threshold


class EarlierGraph:
    """An HNSW graph of paper vectors with, per label, the paper id and its time key."""

    def __init__(self, dim: int, params: AnnParams, capacity: int) -> None:
        import hnswlib

        self.dim = dim
        self.params = params
        self.index = hnswlib.Index(space="ip", dim=dim)
        self.index.init_index(max_elements=max(capacity, 1), M=params.M, ef_construction=params.ef_construction)
        self.index.set_num_threads(params.threads)
        self.ids: list[str] = []
        self.keys = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return int(self.live.sum())

    def add(self, vectors: np.ndarray, ids: list[str], keys: np.ndarray) -> np.ndarray:
        """Add papers as new labels (in the order given); returns their labels."""
        start = len(self.ids)
        labels = np.arange(start, start + len(ids), dtype=np.int64)
        if not len(ids):
            return labels
        need = start + len(ids)
        if need > self.index.get_max_elements():
            self.index.resize_index(max(need, int(self.index.get_max_elements() * 1.25)))
        self.index.add_items(np.ascontiguousarray(vectors, dtype=np.float32), labels)
        self.ids.extend(ids)
        self.keys = np.concatenate([self.keys, np.asarray(keys, dtype=np.int64)])
        self.live = np.concatenate([self.live, np.ones(len(ids), dtype=bool)])
        return labels

    def replace(self, labels: np.ndarray, vectors: np.ndarray, keys: np.ndarray) -> None:
        """New vectors (re-embedded papers) and time keys (re-dated papers) under existing labels."""
        if len(labels):
            self.index.add_items(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(labels))
            self.keys[labels] = keys

    def remove(self, labels: np.ndarray) -> None:
        for label in np.asarray(labels).tolist():
            if self.live[label]:
                self.index.mark_deleted(label)
                self.live[label] = False

    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest labels among everything in the graph: (labels, similarities), best first."""
        self.index.set_ef(max(self.params.ef, k))
        labels, distances = self.index.knn_query(np.ascontiguousarray(vectors, dtype=np.float32), k=k)
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)

    def query_earlier(
        self, vectors: np.ndarray, thresholds: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query, the k nearest labels with a time key below its threshold; -1/NaN where fewer."""
        labels = np.full((len(vectors), k), -1, dtype=np.int64)
        sims = np.full((len(vectors), k), np.nan, dtype=np.float32)
        self.index.set_ef(max(self.params.ef, k))
        keys = self.keys
        live_labels = np.flatnonzero(self.live)
        by_key = live_labels[np.argsort(keys[live_labels], kind="stable")]
        sorted_keys = keys[by_key]
        for i in range(len(vectors)):
            limit = int(thresholds[i])
            eligible = int(np.searchsorted(sorted_keys, limit, side="left"))
            if eligible == 0:
                continue
            want = min(k, eligible)
            found = None
            if eligible >= self.params.exact_prefix:
                try:
                    found, distances = self.index.knn_query(
                        vectors[i : i + 1], k=want, num_threads=1, filter=lambda label, limit=limit: keys[label] < limit
                    )
                    found, similar = found[0].astype(np.int64), 1.0 - distances[0]
                except RuntimeError:  # the filtered walk found fewer than `want`: search exactly
                    found = None
            if found is None:
                candidates = by_key[:eligible]
                matrix = np.asarray(self.index.get_items(candidates), dtype=np.float32)
                scores = matrix @ np.asarray(vectors[i], dtype=np.float32)
                top = np.argsort(-scores, kind="stable")[:want]
                found, similar = candidates[top], scores[top]
            labels[i, :want] = found
            sims[i, :want] = similar
        return labels, sims

    # --- files ----------------------------------------------------------------------------------

    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        """Write the graph to `folder` (each file replaced atomically, the state last)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.index.save_index(str(folder / "graph.bin.tmp"))
        (folder / "graph.bin.tmp").replace(folder / "graph.bin")
        (folder / "ids.txt.tmp").write_text("\n".join(self.ids))
        (folder / "ids.txt.tmp").replace(folder / "ids.txt")
        with (folder / "keys.npy.tmp").open("wb") as handle:
            np.save(handle, np.stack([self.keys, self.live.astype(np.int64)]))
        (folder / "keys.npy.tmp").replace(folder / "keys.npy")
        state = {"schema_version": SCHEMA_VERSION, "dim": self.dim, "count": len(self.ids),
                 "params": asdict(self.params), **meta}
        (folder / "state.json.tmp").write_text(json.dumps(state, indent=2))
        (folder / "state.json.tmp").replace(folder / "state.json")

    @staticmethod
    def state(folder: Path) -> dict[str, Any] | None:
        path = Path(folder) / "state.json"
        if not path.is_file():
            return None
        state: dict[str, Any] = json.loads(path.read_text())
        return state if state.get("schema_version") == SCHEMA_VERSION else None

    @classmethod
    def load(cls, folder: Path, threads: int = 2) -> EarlierGraph:
        import hnswlib

        folder = Path(folder)
        state = cls.state(folder)
        if state is None:
            raise FileNotFoundError(f"{folder}: no Novelty graph of this format")
        params = AnnParams(**{**state["params"], "threads": threads})
        graph = cls.__new__(cls)
        graph.dim, graph.params = int(state["dim"]), params
        graph.index = hnswlib.Index(space="ip", dim=graph.dim)
        graph.index.load_index(str(folder / "graph.bin"), max_elements=max(int(state["count"]), 1))
        graph.index.set_num_threads(threads)
        graph.ids = (folder / "ids.txt").read_text().split("\n") if state["count"] else []
        keys = np.load(folder / "keys.npy")
        graph.keys, graph.live = keys[0].astype(np.int64), keys[1].astype(bool)
        if len(graph.ids) != len(graph.keys):
            raise ValueError(f"{folder}: {len(graph.ids)} ids but {len(graph.keys)} time keys")
        return graph
