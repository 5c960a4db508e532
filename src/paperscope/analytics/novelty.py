"""Novelty of a paper: how far it lies from the literature before it.

    novelty_raw = 1 - mean cosine similarity of its embedding to its k nearest *earlier* papers
    novelty_pct = percentile of novelty_raw among the papers of its category and year

"Earlier" means an earlier year, or the same year and an earlier date when both papers have a
date (papers known only by their year are never earlier than one of the same year). With fewer than
k earlier papers, or fewer than `min_peers` scored papers in its (category, year), the value is
None: the store holds too little to say. The k neighbours, with their similarities, are the evidence.

Sorted by (year, date, undated last), the papers earlier than any paper form a *prefix* of the
order. Two searches use that:

- exact (`nearest_earlier`): blocks of queries against growing prefixes with matrix products;
  quadratic in the number of papers, the reference and the choice for small stores.
- approximate (`nearest_earlier_ann`): one HNSW graph (hnswlib) grown in time order; the papers of
  each prefix length are queried just before the graph grows past it, so every answer comes from
  earlier papers only. One build of the graph, n log n; its agreement with the exact search is
  measured in bench/novelty.py (overlap of the neighbours, rank correlation of the percentiles).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from paperscope.analytics.earlier_graph import AnnParams, EarlierGraph, time_keys

DEFAULT_K = 10
MIN_PEERS = 5
SEARCH_BLOCK = 1024  # query rows per matrix product in nearest_earlier
EXACT_UP_TO = 50_000  # stores up to this many papers are searched exactly (seconds, and no error)
DEFAULT_ANN = AnnParams()
KEPT_GRAPH_SHARE = 0.2  # an incremental run redoing more of the papers than this grows a new graph


# (time-ordered vectors, prefix, k, rows to search or None) -> (indices, similarities): nearest_earlier
NeighbourSearch = Callable[[np.ndarray, np.ndarray, int, "np.ndarray | None"], tuple[np.ndarray, np.ndarray]]


@dataclass
class Novelty:
    raw: np.ndarray  # (n,) float, NaN where too few earlier papers
    percentile: np.ndarray  # (n,) float 0-100, NaN where raw is NaN or too few peers
    neighbours: np.ndarray  # (n, k) indices into the input, -1 where none
    similarities: np.ndarray  # (n, k) cosine similarities, best first
    peers: np.ndarray  # (n,) size of the (category, year) group the percentile is taken in
    earlier: np.ndarray  # (n,) number of earlier papers each paper was compared with
    searched: int = 0  # papers whose neighbours were searched this time (the others were reused)
    graph: EarlierGraph | None = None  # the approximate search's graph, to keep for the next run


def earlier_prefix(years: Sequence[int | None], dates: Sequence[date | None]) -> tuple[np.ndarray, np.ndarray]:
    """(order, prefix): `order` sorts the papers by time; papers order[:prefix[i]] are exactly those
    earlier than paper order[i]. Papers without a year get prefix 0 and sort last."""
    year = np.array([y if y is not None else 10**6 for y in years], dtype=np.int64)
    dated = np.array([d is not None for d in dates])
    day = np.array([d.toordinal() if d is not None else 0 for d in dates], dtype=np.int64)
    day_key = np.where(dated, day, np.iinfo(np.int64).max)
    order = np.lexsort((day_key, year))
    sorted_year, sorted_day, sorted_dated = year[order], day[order], dated[order]
    year_start = np.searchsorted(sorted_year, sorted_year, side="left")
    # Within a year the dated papers come first, sorted by day: strictly earlier days are a prefix.
    composite = sorted_year * 10**7 + np.where(sorted_dated, sorted_day, 10**7 - 1)
    day_start = np.searchsorted(composite, composite, side="left")
    prefix = np.where(sorted_dated, day_start, year_start).astype(np.int64)
    prefix[sorted_year == 10**6] = 0
    return order, prefix


def nearest_earlier(
    vectors: np.ndarray,
    prefix: np.ndarray,
    k: int,
    block: int = SEARCH_BLOCK,
    chunk: int = 16_384,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row i of `vectors` (already in time order), the k rows among vectors[:prefix[i]]
    with the highest cosine similarity: (indices, similarities), best first, -1/NaN where fewer.
    With `rows` (ascending), only those rows are searched; the others stay -1/NaN."""
    n = len(vectors)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    best_idx = np.full((n, k), -1, dtype=np.int64)
    best_sim = np.full((n, k), -np.inf, dtype=np.float32)
    for b0 in range(0, len(rows), block):
        members = rows[b0 : b0 + block]
        limits = prefix[members]
        reach = int(limits.max()) if len(limits) else 0
        if reach == 0:
            continue
        queries = vectors[members]
        top_sim = np.full((len(members), k), -np.inf, dtype=np.float32)
        top_idx = np.full((len(members), k), -1, dtype=np.int64)
        floor = int(limits.min())
        for c0 in range(0, reach, chunk):
            c1 = min(reach, c0 + chunk)
            sims = queries @ vectors[c0:c1].T
            if c1 > floor:  # some queries may not see every column of this chunk
                sims[np.arange(c0, c1)[None, :] >= limits[:, None]] = -np.inf
            width = c1 - c0
            if width > k:  # the chunk's own top k first: the merge then handles 2k columns, not k + chunk
                part = np.argpartition(sims, width - k, axis=1)[:, width - k :]
                sims = np.take_along_axis(sims, part, axis=1)
                columns = part + c0
            else:
                columns = np.broadcast_to(np.arange(c0, c1), sims.shape)
            merged_sim = np.concatenate([top_sim, sims], axis=1)
            merged_idx = np.concatenate([top_idx, columns], axis=1)
            keep = np.argpartition(merged_sim, merged_sim.shape[1] - k, axis=1)[:, merged_sim.shape[1] - k :]
            top_sim = np.take_along_axis(merged_sim, keep, axis=1)
            top_idx = np.take_along_axis(merged_idx, keep, axis=1)
        ranked = np.argsort(-top_sim, axis=1, kind="stable")
        best_sim[members] = np.take_along_axis(top_sim, ranked, axis=1)
        best_idx[members] = np.take_along_axis(top_idx, ranked, axis=1)
    best_idx[~np.isfinite(best_sim)] = -1
    return best_idx, np.where(np.isfinite(best_sim), best_sim, np.nan).astype(np.float32)


def nearest_earlier_ann(
    vectors: np.ndarray,
    prefix: np.ndarray,
    k: int,
    rows: np.ndarray | None = None,
    params: AnnParams | None = None,
    graph: EarlierGraph | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`nearest_earlier` answered from an HNSW graph grown in time order (same arguments and
    result). The rows are taken by their prefix length, ascending: before the queries of prefix p
    the graph receives rows up to p and nothing later, so a query only ever meets earlier papers.
    Prefixes shorter than `exact_prefix` are searched exactly (a small graph buys nothing).
    `graph`, when given, must be empty; it is grown with every row (labels = row numbers) and can
    be kept for the next, incremental run."""
    params = params or (graph.params if graph is not None else DEFAULT_ANN)
    keep = graph is not None
    n, dim = vectors.shape
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    best_idx = np.full((n, k), -1, dtype=np.int64)
    best_sim = np.full((n, k), np.nan, dtype=np.float32)
    rows = rows[prefix[rows] > 0]
    cut = max(params.exact_prefix, k)
    small = rows[prefix[rows] < cut]
    if small.size:
        idx, sim = nearest_earlier(vectors, prefix, k, rows=small)
        best_idx[small], best_sim[small] = idx[small], sim[small]
    rows = rows[prefix[rows] >= cut]
    rows = rows[np.argsort(prefix[rows], kind="stable")]
    limits = prefix[rows]
    if graph is None:
        if rows.size == 0:
            return best_idx, best_sim
        graph = EarlierGraph(dim, params, capacity=int(limits[-1]))
    if len(graph.ids):
        raise ValueError("nearest_earlier_ann grows an empty graph: this one holds papers already")
    no_ids = [""] * n
    bounds = np.flatnonzero(np.diff(limits)) + 1
    starts = np.concatenate(([0], bounds)).astype(np.int64)
    stops = np.concatenate((bounds, [rows.size])).astype(np.int64)
    grown = 0
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        if a >= b:
            continue
        reach = int(limits[a])
        if reach > grown:
            graph.add(vectors[grown:reach], no_ids[grown:reach], np.zeros(reach - grown, dtype=np.int64))
            grown = reach
        members = rows[a:b]
        best_idx[members], best_sim[members] = graph.query(vectors[members], k)
    if keep and grown < n:  # the rest, so that the kept graph holds every paper
        graph.add(vectors[grown:], no_ids[grown:], np.zeros(n - grown, dtype=np.int64))
    return best_idx, best_sim


def _search_kept_graph(
    graph: EarlierGraph,
    vectors: np.ndarray,
    ids: list[str],
    keys: np.ndarray,
    thresholds: np.ndarray,
    changed: np.ndarray,
    rows: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The incremental search on a graph kept from an earlier run (rows in time order, as in
    nearest_earlier): the graph is first brought up to date (new papers added, changed vectors and
    dates replaced, papers gone removed), then each of `rows` asks for its nearest earlier labels."""
    n = len(ids)
    label_of = {pid: label for label, pid in enumerate(graph.ids) if graph.live[label]}
    label = np.array([label_of.get(pid, -1) for pid in ids], dtype=np.int64)
    present = label >= 0
    gone = np.ones(len(graph.ids), dtype=bool)
    gone[label[present]] = False
    graph.remove(np.flatnonzero(gone & graph.live))
    redo = np.flatnonzero(present & (changed | (graph.keys[np.maximum(label, 0)] != keys)))
    graph.replace(label[redo], vectors[redo], keys[redo])
    new = np.flatnonzero(~present)
    label[new] = graph.add(vectors[new], [ids[i] for i in new.tolist()], keys[new])
    position = np.full(len(graph.ids), -1, dtype=np.int64)
    position[label] = np.arange(n)
    found, sims = graph.query_earlier(vectors[rows], thresholds[rows], k)
    best_idx = np.full((n, k), -1, dtype=np.int64)
    best_sim = np.full((n, k), np.nan, dtype=np.float32)
    best_idx[rows] = np.where(found >= 0, position[np.maximum(found, 0)], -1)
    best_sim[rows] = sims
    return best_idx, best_sim


def percentile_within(
    values: np.ndarray, groups: Sequence[object], min_peers: int = MIN_PEERS
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile (0-100, ties share the mid rank) of each value within its group; NaN values take
    no part; groups smaller than `min_peers` give NaN. Returns (percentiles, group sizes)."""
    out = np.full(len(values), np.nan)
    sizes = np.zeros(len(values), dtype=np.int64)
    members: dict[object, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        if not np.isnan(values[i]):
            members[group].append(i)
    for indices in members.values():
        idx = np.array(indices)
        sizes[idx] = len(idx)
        if len(idx) < min_peers:
            continue
        group_values = values[idx]
        ordered = np.sort(group_values)
        below = np.searchsorted(ordered, group_values, side="left")
        upto = np.searchsorted(ordered, group_values, side="right")
        out[idx] = 100.0 * (below + 0.5 * (upto - below)) / len(idx)
    return out, sizes


@dataclass
class Previous:
    """Stored results that may be reused: per paper (input order) whether it has some, the number of
    earlier papers it was compared with, and its neighbours (input indices) and similarities."""

    valid: np.ndarray  # (n,) bool
    earlier: np.ndarray  # (n,) int
    neighbours: np.ndarray  # (n, k) int, -1 where none
    similarities: np.ndarray  # (n, k) float


def compute_novelty(
    vectors: np.ndarray,
    years: Sequence[int | None],
    dates: Sequence[date | None],
    categories: Sequence[str | None],
    k: int = DEFAULT_K,
    min_peers: int = MIN_PEERS,
    changed: np.ndarray | None = None,
    previous: Previous | None = None,
    method: str = "auto",
    ann: AnnParams | None = None,
    ids: Sequence[str] | None = None,
    graph: EarlierGraph | None = None,
    search: NeighbourSearch | None = None,
) -> Novelty:
    """Novelty of every paper (rows of unit-length `vectors`) against the earlier ones among them.

    Incremental when `previous` is given: a paper's neighbours are searched again only if it is in
    `changed` (bool per paper: new or re-embedded), has no valid previous result, was compared with
    a different number of earlier papers, or some changed paper is among its earlier ones. Papers
    older than every change keep their neighbours; percentiles are always recomputed.

    `method`: "exact", "ann" (nearest_earlier_ann) or "auto": exact up to EXACT_UP_TO papers.
    With `ids` (one per paper) the approximate search returns its graph in `Novelty.graph`, to be
    kept; a `graph` kept from an earlier run (with `previous`) answers the papers to redo when they
    are few (KEPT_GRAPH_SHARE), instead of a new graph being grown.

    `search` replaces the exact `nearest_earlier` (same arguments and answer), e.g. to spread its
    queries over a cluster; by default the exact search runs here."""
    if method not in ("auto", "exact", "ann"):
        raise ValueError(f"novelty search method {method!r}: expected 'auto', 'exact' or 'ann'")
    n = len(vectors)
    order, prefix = earlier_prefix(years, dates)
    sorted_vectors = np.ascontiguousarray(vectors[order], dtype=np.float32)
    if previous is None:
        rows = None
    else:
        dirty = ~previous.valid[order] | (previous.earlier[order] != prefix)
        if changed is not None and changed.any():
            changed_sorted = changed[order]
            dirty |= changed_sorted | (prefix > int(np.flatnonzero(changed_sorted).min()))
        rows = np.flatnonzero(dirty)
    kept: EarlierGraph | None = None
    if method == "ann" or (method == "auto" and n > EXACT_UP_TO):
        ids_sorted = None if ids is None else [ids[i] for i in order.tolist()]
        keys, thresholds = time_keys([years[i] for i in order.tolist()], [dates[i] for i in order.tolist()])
        if (graph is not None and ids_sorted is not None and rows is not None
                and len(rows) <= KEPT_GRAPH_SHARE * n):
            changed_sorted = np.zeros(n, dtype=bool) if changed is None else changed[order]
            idx_sorted, sims_sorted = _search_kept_graph(
                graph, sorted_vectors, ids_sorted, keys, thresholds, changed_sorted, rows, k
            )
            kept = graph
        else:
            params = ann or (graph.params if graph is not None else DEFAULT_ANN)
            fresh = EarlierGraph(sorted_vectors.shape[1], params, capacity=n) if ids_sorted is not None else None
            idx_sorted, sims_sorted = nearest_earlier_ann(sorted_vectors, prefix, k, rows=rows, params=params,
                                                          graph=fresh)
            if fresh is not None and ids_sorted is not None:
                fresh.ids, fresh.keys = ids_sorted, keys
                kept = fresh
    elif search is not None:
        idx_sorted, sims_sorted = search(sorted_vectors, prefix, k, rows)
    else:
        idx_sorted, sims_sorted = nearest_earlier(sorted_vectors, prefix, k, rows=rows)
    neighbours = np.full((n, k), -1, dtype=np.int64)
    similarities = np.full((n, k), np.nan, dtype=np.float32)
    has = idx_sorted >= 0
    neighbours[order] = np.where(has, order[np.maximum(idx_sorted, 0)], -1)
    similarities[order] = sims_sorted
    if previous is not None and rows is not None:
        reused = np.ones(n, dtype=bool)
        reused[order[rows]] = False
        neighbours[reused] = previous.neighbours[reused]
        similarities[reused] = previous.similarities[reused]
    earlier = np.zeros(n, dtype=np.int64)
    earlier[order] = prefix
    raw = np.full(n, np.nan)
    enough = earlier >= k
    raw[enough] = 1.0 - similarities[enough].astype(np.float64).mean(axis=1)
    groups = [(categories[i], years[i]) for i in range(n)]
    percentile, peers = percentile_within(raw, groups, min_peers)
    searched = n if rows is None else len(rows)
    return Novelty(raw, percentile, neighbours, similarities, peers, earlier, searched, kept)


def compute_author_novelty(paper_percentiles: dict[str, Sequence[float | None]]) -> dict[str, float | None]:
    """Author Novelty %: the mean of their papers' novelty percentiles (papers without one are left
    out; an author with none gets None)."""
    out: dict[str, float | None] = {}
    for author, values in paper_percentiles.items():
        known = [v for v in values if v is not None and not np.isnan(v)]
        out[author] = float(np.mean(known)) if known else None
    return out
