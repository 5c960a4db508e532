"""The integer snapshot author metrics are computed from, kept between runs and patched.

Reading millions of string-keyed rows (papers, authorships, citation edges, per-year counts) and
coding them as integers is most of a profile run's time; the indices themselves are a few numpy
sorts. The snapshot keeps the coded arrays in one file under the data dir
(`<data_dir>/derived/authors/snapshot.npz`, ids beside it). A run loads it and patches it with what
changed since (papers written after its watermark, and the papers those cite; scores computed after
its scores watermark) instead of reading the store again. It is checked against the store's row
counts after every patch and rebuilt from the store when they differ (papers merged away, edges
resolved later): it never silently drifts from the store.

Codes: papers by position in `paper_ids`, authors by position in `author_ids` (author rows first,
then ids found only on authorships). Citation edges are distinct (citing, cited) pairs of papers
in the store, without self-citations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from paperscope.analytics.metrics import unique_counts

SNAPSHOT_VERSION = 1
_ARRAYS = ("year", "tag", "reported", "novelty", "ai", "ship_paper", "ship_author", "edge_citing",
           "edge_cited", "y_paper", "y_source", "y_year", "y_count", "edge_rows", "count_rows")


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)


@dataclass
class AuthorSnapshot:
    paper_ids: list[str]
    year: np.ndarray  # int, -1 unknown
    tag: np.ndarray  # int code into tags, -1 unknown
    tags: list[str]
    reported: np.ndarray  # the count a source reported, 0 unknown
    novelty: np.ndarray  # float, NaN unknown
    ai: np.ndarray
    ship_paper: np.ndarray  # one row per authorship: paper code
    ship_author: np.ndarray  # and author code
    author_ids: list[str]
    author_names: list[str | None]
    author_keys: list[str | None]
    edge_citing: np.ndarray
    edge_cited: np.ndarray
    y_paper: np.ndarray  # per-year counts a source reported: paper code, source code, year, count
    y_source: np.ndarray
    y_year: np.ndarray
    y_count: np.ndarray
    sources: list[str]
    edge_rows: np.ndarray  # per paper: resolved citation rows it cites with, as stored (the count check)
    count_rows: np.ndarray  # per paper: its per-year count rows as stored
    papers_seen: str | None = None  # the latest papers.updated_at read (ISO), the patch watermark
    scores_seen: str | None = None  # the latest paper_scores.computed_at read (ISO)
    _paper_index: dict[str, int] | None = None
    _author_index: dict[str, int] | None = None

    # --- coding ---------------------------------------------------------------------------------

    @property
    def paper_index(self) -> dict[str, int]:
        if self._paper_index is None:
            self._paper_index = {pid: i for i, pid in enumerate(self.paper_ids)}
        return self._paper_index

    @property
    def author_index(self) -> dict[str, int]:
        if self._author_index is None:
            self._author_index = {aid: i for i, aid in enumerate(self.author_ids)}
        return self._author_index

    @classmethod
    def empty(cls) -> AuthorSnapshot:
        i64, f64 = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return cls([], i64, i64.copy(), [], i64.copy(), f64, f64.copy(), i64.copy(), i64.copy(), [], [], [],
                   i64.copy(), i64.copy(), i64.copy(), i64.copy(), i64.copy(), i64.copy(), [], i64.copy(),
                   i64.copy())

    @classmethod
    def from_rows(cls, papers: list[tuple], authorships: list[tuple], authors: list[tuple],
                  edges: list[tuple], yearly: list[tuple], scores: list[tuple]) -> AuthorSnapshot:
        """Code the store's bulk reads (store.authors.load_*) as a snapshot."""
        snap = cls.empty()
        snap.put_papers(papers)
        snap.put_authors(authors)
        snap.put_authorships(authorships)
        snap.put_edges(edges)
        snap.put_yearly(yearly)
        snap.put_scores(scores)
        return snap

    def _paper_codes(self, ids: list[str] | tuple[str, ...]) -> np.ndarray:
        get = self.paper_index.get
        return np.fromiter(map(get, ids, repeat(-1)), dtype=np.int64, count=len(ids))

    def put_papers(self, rows: list[tuple]) -> None:
        """Add or update papers: (id, year, primary_category, cited_by_count, ...)."""
        index = self.paper_index
        new = [r[0] for r in rows if r[0] not in index]
        if new:
            start = len(self.paper_ids)
            self.paper_ids.extend(new)
            index.update((pid, start + j) for j, pid in enumerate(new))
            grow = len(new)
            self.year = np.concatenate([self.year, np.full(grow, -1, dtype=np.int64)])
            self.tag = np.concatenate([self.tag, np.full(grow, -1, dtype=np.int64)])
            self.reported = np.concatenate([self.reported, np.zeros(grow, dtype=np.int64)])
            self.novelty = np.concatenate([self.novelty, np.full(grow, np.nan)])
            self.ai = np.concatenate([self.ai, np.full(grow, np.nan)])
            self.edge_rows = np.concatenate([self.edge_rows, np.zeros(grow, dtype=np.int64)])
            self.count_rows = np.concatenate([self.count_rows, np.zeros(grow, dtype=np.int64)])
        tag_codes = {t: i for i, t in enumerate(self.tags)}
        codes = self._paper_codes([r[0] for r in rows])
        self.year[codes] = [_int_or(r[1], -1) for r in rows]
        self.tag[codes] = [tag_codes.setdefault(r[2], len(tag_codes)) if r[2] else -1 for r in rows]
        self.reported[codes] = [_int_or(r[3], 0) for r in rows]
        self.tags = [t for t, _ in sorted(tag_codes.items(), key=lambda kv: kv[1])]

    def put_authors(self, rows: list[tuple]) -> None:
        """Add or update author rows: (id, name, name_key, ...)."""
        index = self.author_index
        for r in rows:
            code = index.get(r[0])
            if code is None:
                index[r[0]] = len(self.author_ids)
                self.author_ids.append(r[0])
                self.author_names.append(r[1])
                self.author_keys.append(r[2])
            else:
                self.author_names[code], self.author_keys[code] = r[1], r[2]

    def put_authorships(self, rows: list[tuple]) -> None:
        """Append authorships (paper id, position, author id); an author without a row gets a code
        (sorted, after the author rows) and no name."""
        paper_col, _, author_col = zip(*rows, strict=True) if rows else ((), (), ())
        index = self.author_index
        for author_id in sorted(set(author_col) - index.keys()):
            index[author_id] = len(self.author_ids)
            self.author_ids.append(author_id)
            self.author_names.append(None)
            self.author_keys.append(None)
        pp = self._paper_codes(paper_col)
        pa = np.fromiter(map(index.__getitem__, author_col), dtype=np.int64, count=len(rows))
        if (pp < 0).any():
            raise ValueError("an authorship names a paper the snapshot does not hold")
        self.ship_paper = np.concatenate([self.ship_paper, pp])
        self.ship_author = np.concatenate([self.ship_author, pa])

    def put_edges(self, rows: list[tuple]) -> None:
        """Add citation edges (citing id, cited id); pairs outside the store or repeated are dropped."""
        citing_ids, cited_ids = zip(*rows, strict=True) if rows else ((), ())
        citing, cited = self._paper_codes(citing_ids), self._paper_codes(cited_ids)
        self.edge_rows += np.bincount(citing[citing >= 0], minlength=len(self.paper_ids))
        ok = (citing >= 0) & (cited >= 0) & (citing != cited)
        n = max(len(self.paper_ids), 1)
        pair, _ = unique_counts(np.concatenate([self.edge_citing * n + self.edge_cited, citing[ok] * n + cited[ok]]))
        self.edge_citing, self.edge_cited = pair // n, pair % n

    def put_yearly(self, rows: list[tuple]) -> None:
        """Add per-year counts: (paper id, source, year, count); rows without a year are dropped."""
        stored = self._paper_codes([r[0] for r in rows])
        self.count_rows += np.bincount(stored[stored >= 0], minlength=len(self.paper_ids))
        rows = [r for r in rows if r[2] is not None]
        source_codes = {s: i for i, s in enumerate(self.sources)}
        codes = self._paper_codes([r[0] for r in rows])
        keep = codes >= 0
        self.y_paper = np.concatenate([self.y_paper, codes[keep]])
        found = np.array([source_codes.setdefault(r[1], len(source_codes)) for r in rows], dtype=np.int64)
        self.y_source = np.concatenate([self.y_source, found[keep] if len(found) else found])
        self.y_year = np.concatenate([self.y_year, np.array([int(r[2]) for r in rows], dtype=np.int64)[keep]])
        self.y_count = np.concatenate([self.y_count, np.array([int(r[3]) for r in rows], dtype=np.int64)[keep]])
        self.sources = [s for s, _ in sorted(source_codes.items(), key=lambda kv: kv[1])]

    def put_scores(self, rows: list[tuple]) -> None:
        """Set (paper id, novelty percentile, AI Score); None clears."""
        codes = self._paper_codes([r[0] for r in rows])
        for code, (_, nov, score) in zip(codes.tolist(), rows, strict=True):
            if code >= 0:
                self.novelty[code] = np.nan if nov is None else float(nov)
                self.ai[code] = np.nan if score is None else float(score)

    def drop_rows_of(self, paper_ids: list[str]) -> np.ndarray:
        """Forget the authorships, outgoing edges and per-year counts of these papers (before they are
        read again); returns their codes."""
        codes = self._paper_codes(paper_ids)
        codes = codes[codes >= 0]
        mask = np.zeros(len(self.paper_ids), dtype=bool)
        mask[codes] = True
        keep = ~mask[self.ship_paper]
        self.ship_paper, self.ship_author = self.ship_paper[keep], self.ship_author[keep]
        keep = ~mask[self.edge_citing]
        self.edge_citing, self.edge_cited = self.edge_citing[keep], self.edge_cited[keep]
        keep = ~mask[self.y_paper]
        self.y_paper, self.y_source = self.y_paper[keep], self.y_source[keep]
        self.y_year, self.y_count = self.y_year[keep], self.y_count[keep]
        self.edge_rows[codes] = 0
        self.count_rows[codes] = 0
        return codes

    def counts(self) -> dict[str, int]:
        """The store's row counts as this snapshot knows them (store.authors.snapshot_counts)."""
        named = sum(1 for name in self.author_names if name is not None)
        return {"papers": len(self.paper_ids), "authors": named, "authorships": int(self.ship_paper.size),
                "edges": int(self.edge_rows.sum()), "citation_counts": int(self.count_rows.sum())}

    # --- derived --------------------------------------------------------------------------------

    def citations(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per paper its citations (max of the reported count and the citing papers in the store),
        and its citations per year as rows (paper, year, count): the reported counts of the source
        with the most citations in total (ties: the later source name), else the in-store citing
        papers by their year."""
        n = len(self.paper_ids)
        in_store = np.bincount(self.edge_cited, minlength=n).astype(np.int64)
        cites = np.maximum(self.reported, in_store)
        c_year = self.year[self.edge_citing]
        dated = c_year >= 0
        span_lo = int(c_year[dated].min()) if dated.any() else 0
        span = int(c_year[dated].max()) - span_lo + 1 if dated.any() else 1
        keys, e_count = unique_counts(self.edge_cited[dated] * span + (c_year[dated] - span_lo))
        e_paper, e_year = keys // span, keys % span + span_lo
        # The reporting source per paper: highest total, then the highest source name.
        n_sources = max(len(self.sources), 1)
        rank = np.empty(n_sources, dtype=np.int64)
        rank[np.argsort(np.array(self.sources or [""], dtype=object), kind="stable")] = np.arange(n_sources)
        pair = self.y_paper * n_sources + self.y_source
        pairs, inverse = np.unique(pair, return_inverse=True)
        totals = np.bincount(inverse, weights=self.y_count, minlength=pairs.size).astype(np.int64)
        p_of, s_of = pairs // n_sources, pairs % n_sources
        order = np.lexsort((-rank[s_of], -totals, p_of))
        first = np.ones(order.size, dtype=bool)
        first[1:] = p_of[order][1:] != p_of[order][:-1]
        best = np.full(n, -1, dtype=np.int64)
        best[p_of[order][first]] = s_of[order][first]
        chosen = best[self.y_paper] == self.y_source
        has_reported = best >= 0
        from_edges = ~has_reported[e_paper]
        yp = np.concatenate([self.y_paper[chosen], e_paper[from_edges]])
        yy = np.concatenate([self.y_year[chosen], e_year[from_edges]])
        yc = np.concatenate([self.y_count[chosen], e_count[from_edges]])
        return cites, (yp, yy, yc)

    # --- files ----------------------------------------------------------------------------------

    def save(self, folder: Path, counts: dict[str, int]) -> None:
        """Write the snapshot (arrays, then ids, then the state naming the store's counts)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "snapshot.npz.tmp").open("wb") as handle:
            np.savez(handle, **{name: getattr(self, name) for name in _ARRAYS})
        (folder / "snapshot.npz.tmp").replace(folder / "snapshot.npz")
        lists = {"paper_ids": self.paper_ids, "author_ids": self.author_ids, "author_names": self.author_names,
                 "author_keys": self.author_keys, "tags": self.tags, "sources": self.sources}
        (folder / "lists.json.tmp").write_text(json.dumps(lists))
        (folder / "lists.json.tmp").replace(folder / "lists.json")
        state = {"version": SNAPSHOT_VERSION, "papers_seen": self.papers_seen, "scores_seen": self.scores_seen,
                 "counts": counts, "written": datetime.now().astimezone().isoformat(timespec="seconds")}
        (folder / "state.json.tmp").write_text(json.dumps(state))
        (folder / "state.json.tmp").replace(folder / "state.json")

    @classmethod
    def load(cls, folder: Path) -> AuthorSnapshot | None:
        """The snapshot kept in `folder`, or None when there is none of this version."""
        folder = Path(folder)
        try:
            state = json.loads((folder / "state.json").read_text())
            if state.get("version") != SNAPSHOT_VERSION:
                return None
            lists = json.loads((folder / "lists.json").read_text())
            with np.load(folder / "snapshot.npz") as arrays:
                values = {name: arrays[name] for name in _ARRAYS}
        except (OSError, ValueError, KeyError):
            return None
        snap = cls(**lists, **values)
        snap.papers_seen, snap.scores_seen = state.get("papers_seen"), state.get("scores_seen")
        return snap
