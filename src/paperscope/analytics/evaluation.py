"""How well an embedder places papers, measured on a ground truth nobody here wrote: the papers'
own citations (the ACL Anthology Network release, read by sources/aan.py).

- **cite** (SciDocs "cite" style): each query paper ranks every other paper of the corpus by cosine
  similarity; the papers it cites are the relevant ones. Mean average precision (MAP) and nDCG@10.
- **co-citation**: the same ranking; relevant are the papers cited together with the query by at
  least `min_shared` citing papers.
- **category kNN**: the share of each paper's 10 nearest neighbours with its own category label.

Queries are the papers with at least `min_refs` citations inside the corpus, sampled with a fixed
seed, so every embedder is measured on the same queries. `subset` keeps a smaller corpus (the
queries, every paper they cite, and a fixed sample of the rest) for a run that fits a test's time:
fewer candidates make each ranking easier, so subset figures are higher than full-corpus ones and
are compared only with each other. The embedders embed the text a paper would have in the store
(`paper_text`: AAN has titles and no abstracts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paperscope.analytics.embedders import normalise_rows, paper_text
from paperscope.core.records import PaperRecord

BLOCK = 256  # query rows ranked at once


@dataclass
class CitationCorpus:
    ids: list[str]
    texts: list[str]
    cites: list[set[int]]  # for each paper, the corpus papers it cites (indices)
    labels: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def load_aan(folder: Path) -> CitationCorpus:
    """The AAN papers that cite or are cited by another paper with metadata (the citation graph),
    and their citations of each other."""
    from paperscope.sources.aan import read_folder

    records = [r for batch in read_folder(folder) for r in batch.records if isinstance(r, PaperRecord)]
    index = {r.source_key: i for i, r in enumerate(records)}
    edges = [{index[key] for _, key in (r.references or []) if key in index and index[key] != i}
             for i, r in enumerate(records)]
    linked = {i for i, cited in enumerate(edges) if cited} | {j for cited in edges for j in cited}
    order = sorted(linked)
    remap = {old: new for new, old in enumerate(order)}
    records = [records[i] for i in order]
    cites = [{remap[j] for j in edges[i]} for i in order]
    return CitationCorpus([r.source_key for r in records], [paper_text(r.title, r.abstract) for r in records],
                          cites, [r.venue for r in records])


def sample_queries(corpus: CitationCorpus, n: int, min_refs: int = 1, seed: int = 0) -> np.ndarray:
    """`n` query papers (indices) with at least `min_refs` citations inside the corpus."""
    eligible = np.array([i for i, c in enumerate(corpus.cites) if len(c) >= min_refs], dtype=np.int64)
    if len(eligible) < n:
        raise ValueError(f"only {len(eligible)} papers cite {min_refs}+ papers of the corpus; {n} queries asked")
    return np.sort(np.random.default_rng(seed).choice(eligible, size=n, replace=False))


def subset(corpus: CitationCorpus, queries: np.ndarray, size: int, seed: int = 0) -> tuple[CitationCorpus, np.ndarray]:
    """The queries, every paper they cite, and an even random sample of the others up to `size`
    papers; returns the smaller corpus and the queries' indices in it."""
    keep = set(int(q) for q in queries)
    for q in queries:
        keep |= corpus.cites[int(q)]
    rest = np.array([i for i in range(len(corpus)) if i not in keep], dtype=np.int64)
    extra = max(0, size - len(keep))
    if extra:
        keep |= set(int(i) for i in np.random.default_rng(seed).choice(rest, size=min(extra, len(rest)),
                                                                       replace=False))
    order = sorted(keep)
    remap = {old: new for new, old in enumerate(order)}
    small = CitationCorpus(
        [corpus.ids[i] for i in order], [corpus.texts[i] for i in order],
        [{remap[j] for j in corpus.cites[i] if j in remap} for i in order],
        [corpus.labels[i] for i in order] if corpus.labels else [],
    )
    return small, np.array([remap[int(q)] for q in queries], dtype=np.int64)


def cocited(corpus: CitationCorpus, min_shared: int = 2) -> list[set[int]]:
    """For each paper, the papers cited together with it by at least `min_shared` citing papers."""
    pairs: Counter[tuple[int, int]] = Counter()
    for cited in corpus.cites:
        refs = sorted(cited)
        for a in range(len(refs)):
            for b in range(a + 1, len(refs)):
                pairs[(refs[a], refs[b])] += 1
    out: list[set[int]] = [set() for _ in range(len(corpus))]
    for (a, b), n in pairs.items():
        if n >= min_shared:
            out[a].add(b)
            out[b].add(a)
    return out


@dataclass
class RankingScores:
    map: float
    ndcg_at_10: float
    queries: int
    candidates: int


def rank_scores(vectors: np.ndarray, queries: Sequence[int], relevant: Sequence[set[int]],
                k: int = 10) -> RankingScores:
    """MAP and nDCG@k of ranking every other paper by cosine similarity, for each query with at
    least one relevant paper (`relevant[q]`)."""
    vectors = normalise_rows(np.asarray(vectors, dtype=np.float32))
    asked = [int(q) for q in queries if relevant[int(q)]]
    n = vectors.shape[0]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    aps: list[float] = []
    ndcgs: list[float] = []
    for start in range(0, len(asked), BLOCK):
        block = asked[start : start + BLOCK]
        sims = vectors[block] @ vectors.T
        sims[np.arange(len(block)), block] = -np.inf  # a paper is not its own neighbour
        order = np.argsort(-sims, axis=1, kind="stable")
        for row, q in enumerate(block):
            rel = np.zeros(n, dtype=bool)
            rel[list(relevant[q])] = True
            hits = rel[order[row]]
            ranks = np.flatnonzero(hits) + 1  # 1-based ranks of the relevant papers
            aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
            gains = hits[:k].astype(np.float64)
            ideal = discounts[: min(len(ranks), k)].sum()
            ndcgs.append(float((gains * discounts[: len(gains)]).sum() / ideal))
    return RankingScores(float(np.mean(aps)) if aps else float("nan"),
                         float(np.mean(ndcgs)) if ndcgs else float("nan"), len(asked), n - 1)


def category_knn(vectors: np.ndarray, labels: Sequence[str | None], k: int = 10) -> float:
    """Mean share of the k nearest neighbours that share the paper's label (papers with a label)."""
    vectors = normalise_rows(np.asarray(vectors, dtype=np.float32))
    have = np.array([i for i, lab in enumerate(labels) if lab], dtype=np.int64)
    if len(have) <= k:
        return float("nan")
    names = np.array([labels[i] for i in have], dtype=object)
    matrix = vectors[have]
    shares: list[float] = []
    for start in range(0, len(have), BLOCK):
        sims = matrix[start : start + BLOCK] @ matrix.T
        sims[np.arange(sims.shape[0]), np.arange(start, start + sims.shape[0])] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        same = names[top] == names[start : start + sims.shape[0], None]
        shares.extend(same.mean(axis=1).tolist())
    return float(np.mean(shares))


@dataclass
class EmbedderScores:
    cite: RankingScores
    cocite: RankingScores

    def as_dict(self) -> dict[str, float | int]:
        return {"cite_map": self.cite.map, "cite_ndcg10": self.cite.ndcg_at_10, "cite_queries": self.cite.queries,
                "cocite_map": self.cocite.map, "cocite_ndcg10": self.cocite.ndcg_at_10,
                "cocite_queries": self.cocite.queries, "candidates": self.cite.candidates}


def evaluate(vectors: np.ndarray, corpus: CitationCorpus, queries: np.ndarray) -> EmbedderScores:
    """Cite and co-citation rankings of the queries, from the corpus's vectors."""
    return EmbedderScores(rank_scores(vectors, queries, corpus.cites),
                          rank_scores(vectors, queries, cocited(corpus)))


def embed_corpus(embed: Callable[[list[str]], np.ndarray], corpus: CitationCorpus, batch: int = 2048) -> np.ndarray:
    parts = [embed(corpus.texts[i : i + batch]) for i in range(0, len(corpus), batch)]
    return np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32)


# --- rankings that are lists (keyword search, fusion) ------------------------------------------------


def dense_lists(vectors: np.ndarray, queries: Sequence[int], depth: int) -> list[list[int]]:
    """Each query's `depth` nearest other papers by cosine, nearest first."""
    vectors = normalise_rows(np.asarray(vectors, dtype=np.float32))
    out: list[list[int]] = []
    qs = [int(q) for q in queries]
    for start in range(0, len(qs), BLOCK):
        block = qs[start : start + BLOCK]
        sims = vectors[block] @ vectors.T
        sims[np.arange(len(block)), block] = -np.inf
        top = np.argpartition(-sims, min(depth, sims.shape[1] - 1), axis=1)[:, :depth]
        for row in range(len(block)):
            cand = top[row]
            out.append(cand[np.argsort(-sims[row, cand], kind="stable")].tolist())
    return out


def fuse_lists(rankings: Sequence[Sequence[int]], weights: Sequence[float], k: float) -> list[int]:
    """Reciprocal rank fusion: each item scores the sum of weight / (k + rank) over the rankings."""
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda item: (-scores[item], item))


def list_scores(ranked: Sequence[Sequence[int]], queries: Sequence[int], relevant: Sequence[set[int]],
                candidates: int, k: int = 10) -> RankingScores:
    """MAP and nDCG@k of ranked lists (one per query, in the order of `queries`) that may stop
    before the end of the corpus: a relevant paper missing from a list counts as never found, so
    the average precision is taken over the list's depth."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    aps: list[float] = []
    ndcgs: list[float] = []
    for q, ranking in zip(queries, ranked, strict=True):
        rel = relevant[int(q)]
        if not rel:
            continue
        hits = np.array([item in rel for item in ranking if item != int(q)], dtype=bool)
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.sum(np.arange(1, len(ranks) + 1) / ranks) / len(rel)))
        gains = hits[:k].astype(np.float64)
        ideal = discounts[: min(len(rel), k)].sum()
        ndcgs.append(float((gains * discounts[: len(gains)]).sum() / ideal))
    return RankingScores(float(np.mean(aps)) if aps else float("nan"),
                         float(np.mean(ndcgs)) if ndcgs else float("nan"), len(aps), candidates)


def list_label_share(ranked: Sequence[Sequence[int]], queries: Sequence[int], labels: Sequence[str | None],
                     k: int = 10) -> float:
    """Mean share of each labelled query's first k results that carry its label."""
    shares = [float(np.mean([labels[i] == labels[int(q)] for i in ranking[:k]]))
              for q, ranking in zip(queries, ranked, strict=True) if labels[int(q)] and len(ranking)]
    return float(np.mean(shares)) if shares else float("nan")
