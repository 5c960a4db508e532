"""Search and discovery: keyword (BM25), semantic (HNSW over the paper embeddings) and hybrid
(reciprocal rank fusion) search with filters and sorts, similar papers, feeds and trending.

The indexes are derived files under `<data_dir>/index/` (`lexical/`, and `vectors/` of the active
embedder generation), built and refreshed from the store by `build_indexes` (`paperscope index`);
deleting them loses nothing. Query text is encoded by the model of the generation the semantic
index holds, which `build_indexes` keeps the active one.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.analytics.embedders import EmbedderUnavailable, MiniLMEmbedder, TfidfSvdEmbedder, paper_text
from paperscope.index.lexical import LexicalIndex, LexicalUpdate, analyse, is_pasted_text, update_lexical
from paperscope.index.vectors import VectorIndex, VectorUpdate, update_vectors
from paperscope.services import embeddings, inputs
from paperscope.services.runners import Runner
from paperscope.store import generations, queries
from paperscope.store import search_reads as reads
from paperscope.store.generations import Generation
from paperscope.store.search_reads import SearchFilter

MODES = ("keyword", "semantic", "hybrid")
SORTS = ("relevance", "date", "score", "citations")
RRF_K = 10  # reciprocal rank fusion: score = sum over modes of weight / (RRF_K + rank); docs/search.md
RRF_WEIGHTS = {"keyword": 1.0, "semantic": 0.5}  # chosen on half the judged set, checked on the other
# Typed queries in hybrid mode per embedder, chosen the same way: with MiniLM vectors the semantic ranking
# is as good as the keyword one on the judged set and weighs the same; with model2vec's it weighs less
# than with TF-IDF's (RRF_WEIGHTS) (docs/search.md, "Quality: the judged set").
HYBRID_WEIGHTS = {"minilm": {"keyword": 1.0, "semantic": 1.0}, "model2vec": {"keyword": 1.0, "semantic": 0.3}}
# Related papers (similar papers; with MiniLM also a pasted abstract in hybrid mode): the dense ranking
# fused with BM25 over all the text's terms. With MiniLM the dense ranking leads (chosen on half of the
# citation evaluation's queries, checked on the other half); with a weaker embedder (TF-IDF, whose
# dense ranking measured below BM25's) BM25 leads, as RRF_WEIGHTS have it (docs/search.md).
RELATED_WEIGHTS = {"minilm": {"keyword": 0.5, "semantic": 1.0}}
FUSION_POOL = 100  # candidates each mode brings to the fusion (at least offset + limit)
# Semantic matches go this deep at most: every paper is "similar" to any query, and ranking the whole
# store for page 10,000 is work no reader needs. Deeper pages are empty, with a note that says why.
SEMANTIC_DEPTH = 10_000
SORT_POOL = 500  # a non-relevance sort reorders this many of the most relevant matches
EXACT_FALLBACK_MAX = 200_000  # restrictive filters: exact search over at most this many candidates
HALF_LIFE_DAYS = 3.0
TRENDING_LOOKBACK_DAYS = 30  # the trending feed ranks the papers observed in these last days
CITATION_WEIGHT = 5.0
MIN_SIMILARITY = 0.1  # cosine below this is no semantic match (negative: further apart than unrelated)

Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


class SearchUnavailable(RuntimeError):
    """An index the mode needs is missing or stale; the message says which command builds it."""


def index_root(data_dir: Path) -> Path:
    return Path(data_dir) / "index"


VECTORS = "vectors"  # the semantic index's folder under the index root: of the active generation


# --- building ------------------------------------------------------------------------------------


@dataclass
class IndexSummary:
    lexical: LexicalUpdate
    vectors: VectorUpdate | None
    embedded: int = 0
    refit_reason: str | None = None
    semantic_skipped: str | None = None
    query_model_problem: str | None = None  # why semantic queries will fail, though the index is built
    folder: str = ""


def build_indexes(
    engine: Engine,
    data_dir: Path,
    embedder_name: str | None = None,
    *,
    rebuild: bool = False,
    embed: bool = True,
    progress: Progress = _quiet,
    runner: Runner | None = None,
    default_embedder: str | None = None,
) -> IndexSummary:
    """Refresh both indexes from the store: the keyword index for changed papers; the embeddings
    of the named embedder's generation (default: the active one's, else `default_embedder`'s; only
    new or changed papers; `embed=False` to skip) and the semantic index of the active generation."""
    root = index_root(data_dir)
    lexical = update_lexical(engine, root / "lexical", rebuild=rebuild, progress=progress)
    summary = IndexSummary(lexical=lexical, vectors=None, folder=str(root))
    if embed:
        try:
            _, embedded, summary.refit_reason = embeddings.update(
                engine, embedder_name, data_dir, progress=progress, runner=runner, default=default_embedder)
        except ValueError as exc:
            summary.semantic_skipped = str(exc)
            return summary
        summary.embedded = embedded.embedded
    with engine.connect() as connection:
        generation = generations.active_generation(connection)
    if generation is None:
        summary.semantic_skipped = "no embedder generation is active: run paperscope score (or paperscope embed)"
        return summary
    summary.vectors = update_vectors(generation, root / VECTORS, rebuild=rebuild, progress=progress)
    if generation.embedder == MiniLMEmbedder.name:
        # The query model's files (MiniLM's ONNX export, once per data dir) are made here, never
        # inside the first search request that needs them.
        try:
            query_model = embeddings.load_embedder(engine, generation)
            if isinstance(query_model, MiniLMEmbedder):
                query_model.prepare()
        except (ValueError, EmbedderUnavailable) as exc:
            summary.query_model_problem = str(exc)
    return summary


# --- results -------------------------------------------------------------------------------------


@dataclass
class Hit:
    paper_id: str
    rank: int
    score: float
    keyword_rank: int | None = None
    keyword_score: float | None = None
    semantic_rank: int | None = None
    similarity: float | None = None
    why: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    query: str
    mode: str
    sort: str
    hits: list[Hit]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query, "mode": self.mode, "sort": self.sort, "notes": self.notes,
            "seconds": self.seconds, "hits": [h.as_dict() for h in self.hits],
        }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else (str(value) if value else None)


def matched_terms(query: str, paper: dict[str, Any]) -> dict[str, list[str]]:
    """Which of the query's terms each field of the paper contains (stemmed as the index does)."""
    terms = [t for t in dict.fromkeys(analyse(query)) if t not in ("titl", "abstract", "author")]
    out: dict[str, list[str]] = {}
    for name, text in (("title", paper.get("title")), ("abstract", paper.get("abstract"))):
        if text:
            have = set(analyse(text))
            found = [t for t in terms if t in have]
            if found:
                out[name] = found
    names = " ".join(paper.get("authors") or []).lower()
    found = [t for t in query.lower().replace('"', " ").split() if len(t) > 2 and t in names.split()]
    if found:
        out["author"] = found
    return out


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


_STOP = _stop_words()


def surface_words(text: str) -> dict[str, str]:
    """Each stemmed term of `text` and the first word it came from (to show words, not stems)."""
    out: dict[str, str] = {}
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]*", text):
        for part in word.split("-"):
            stems = analyse(part)
            if len(stems) == 1 and stems[0] not in out:
                out[stems[0]] = part.lower()
    return out


def query_encoder(embedder: Any) -> Callable[[str], np.ndarray]:
    """Encode one query as `embedder.embed([text])[0]` does, faster for the TF-IDF embedder:
    TruncatedSVD.transform copies its components on every call (about 10 ms for one query); the
    same product with the transposed components kept contiguous takes well under a millisecond."""
    svd = getattr(embedder, "_svd", None)
    vectorizer = getattr(embedder, "_vectorizer", None)
    if not isinstance(embedder, TfidfSvdEmbedder) or svd is None or vectorizer is None:
        return lambda text: embedder.embed([text])[0]
    projection = np.ascontiguousarray(svd.components_.T, dtype=np.float32)

    def encode(text: str) -> np.ndarray:
        vector = np.asarray(vectorizer.transform([text]) @ projection, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    return encode


# --- the searcher --------------------------------------------------------------------------------


def index_stamp(folder: Path) -> tuple[int, int, int] | None:
    """The version stamp of an index folder: its state.json (written last, by an atomic rename, when
    the index is built, updated or a snapshot is swapped in); None when there is no index."""
    try:
        st = (Path(folder) / "state.json").stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


# The semantic index opened by a server's parent process before it forks its workers
# (`preload_vectors`): the workers inherit its pages copy-on-write, and searching never writes to
# them, so N workers hold one copy of the graph and vectors (about 1.2 GiB at a million papers)
# instead of N. A worker uses it while the folder's stamp is the one it was opened at; after a
# rebuild each worker opens the new index itself (until the server restarts, that copy is its own).
_preloaded: dict[Path, tuple[tuple[int, int, int], VectorIndex]] = {}


def preload_vectors(data_dir: Path) -> VectorIndex | None:
    """Open the semantic index of `data_dir` in this process, for the worker processes it forks to
    inherit; None when there is no index yet (the workers then open theirs when it appears)."""
    folder = index_root(data_dir) / VECTORS
    stamp = index_stamp(folder)
    if stamp is None or not VectorIndex.exists(folder):
        return None
    opened = VectorIndex(folder)
    _preloaded[folder] = (stamp, opened)
    return opened


# What a served worker imports on its first searches and recommendations: imported by the parent
# before it forks, the modules' code and tables are shared by every worker instead of loaded by each.
# (Not scikit-learn: its OpenMP runtime must not be started in a process that forks.)
WORKER_LIBRARIES = ("tantivy", "model2vec", "pyarrow", "pyarrow.compute", "pyarrow.ipc")


def preload_libraries() -> list[str]:
    """Import WORKER_LIBRARIES in this process (a server's parent, before it forks); those not
    installed are skipped (the worker that needs one says so); returns those imported."""
    import importlib

    loaded = []
    for name in WORKER_LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        loaded.append(name)
    return loaded


def _inherited_vectors(folder: Path, stamp: tuple[int, int, int]) -> VectorIndex | None:
    kept = _preloaded.get(folder)
    return kept[1] if kept is not None and kept[0] == stamp else None


class Searcher:
    """Opened indexes and the query embedder, reused across queries and threads.

    Each index is opened on first use and reopened when its folder's version stamp (`index_stamp`)
    changes, so a long-lived searcher (one per process, held by the runtime) follows
    `paperscope index` without a restart and never opens anything per request."""

    def __init__(self, engine: Engine, data_dir: Path, root: Path | None = None) -> None:
        self.engine = engine
        self.root = Path(root) if root is not None else index_root(data_dir)  # a published snapshot
        self._lexical: LexicalIndex | None = None
        self._lexical_stamp: tuple[int, int, int] | None = None
        self._vectors: VectorIndex | None = None
        self._vectors_stamp: tuple[int, int, int] | None = None
        self._embedder: Any = None
        self._encode: Callable[[str], np.ndarray] | None = None
        self._generation: Generation | None = None
        self._lock = threading.Lock()

    def version_stamp(self) -> tuple[object, ...]:
        """The version of the indexes searches read now (their folders' stamps): what a cached answer
        must be checked against, without opening anything."""
        return str(self.root), index_stamp(self.root / "lexical"), index_stamp(self.root / VECTORS)

    @property
    def lexical(self) -> LexicalIndex:
        folder = self.root / "lexical"
        stamp = index_stamp(folder)
        if self._lexical is None or stamp != self._lexical_stamp:
            with self._lock:
                if self._lexical is None or stamp != self._lexical_stamp:
                    if stamp is None or not LexicalIndex.exists(folder):
                        raise SearchUnavailable(f"no keyword index at {folder}: run paperscope index")
                    self._lexical, self._lexical_stamp = LexicalIndex(folder), stamp
        return self._lexical

    @property
    def vectors(self) -> VectorIndex:
        folder = self.root / VECTORS
        stamp = index_stamp(folder)
        if self._vectors is None or stamp != self._vectors_stamp:
            with self._lock:
                if self._vectors is None or stamp != self._vectors_stamp:
                    if stamp is None or not VectorIndex.exists(folder):
                        raise SearchUnavailable(f"no semantic index at {folder}: run paperscope index")
                    opened = _inherited_vectors(folder, stamp) or VectorIndex(folder)
                    if self._vectors is None or opened.generation != self._vectors.generation:
                        # Another generation indexed: the query encoder follows it.
                        self._embedder, self._encode, self._generation = None, None, None
                    self._vectors, self._vectors_stamp = opened, stamp
        return self._vectors

    @property
    def generation(self) -> Generation:
        """The embedder generation whose vectors the semantic index holds (the active one when
        the index was built)."""
        vectors = self.vectors
        if self._generation is None or self._generation.id != vectors.generation:
            with self.engine.connect() as connection:
                found = generations.get_generation(connection, vectors.generation)
            if found is None:
                raise SearchUnavailable(f"the semantic index holds generation {vectors.generation}, which the store "
                                        "no longer has: run paperscope index")
            self._generation = found
        return self._generation

    def embedder(self) -> Any:
        """The model of the indexed generation: query text is encoded by the model whose vectors it is
        compared with."""
        if self._embedder is None:
            try:
                self._embedder = embeddings.load_embedder(self.engine, self.generation)
            except ValueError as exc:
                raise SearchUnavailable(str(exc)) from exc
        return self._embedder

    def embed_query(self, text: str) -> np.ndarray:
        if self._encode is None:
            self._encode = query_encoder(self.embedder())
        return self._encode(text)

    # --- candidates --------------------------------------------------------------------------------

    def _store_filter(self, ids: list[str], f: SearchFilter) -> set[str]:
        with self.engine.connect() as connection:
            return reads.filter_ids(connection, ids, f)

    def keyword(self, query: str, f: SearchFilter, need: int, all_terms: bool = False) -> list[tuple[str, float]]:
        """Facet filters inside the index; author and AI Score checked in the store (over-fetched).
        `all_terms`: the query is a paper's text, every term of it a disjunct."""
        rest = SearchFilter(author=f.author, min_score=f.min_score)
        facets = dict(category=f.tag, since=f.since, until=f.until, has_code=f.has_code, all_terms=all_terms)
        if rest.is_empty():
            return self.lexical.search(query, need, **facets)
        fetch = max(need * 5, 50)
        while True:
            hits = self.lexical.search(query, fetch, **facets)
            keep = self._store_filter([pid for pid, _ in hits], rest)
            kept = [(pid, s) for pid, s in hits if pid in keep]
            if len(kept) >= need or len(hits) < fetch or fetch >= 50_000:
                return kept[:need]
            fetch *= 4

    def semantic(self, vector: np.ndarray, f: SearchFilter, need: int) -> list[tuple[str, float]]:
        """Nearest papers; with filters, over-fetched and checked in the store, then an exact search
        over the filtered papers when the filter is too restrictive for the graph search."""
        if f.is_empty():
            return self.vectors.search(vector, need)
        fetch = max(need * 10, 100)
        while fetch <= 4096:
            hits = self.vectors.search(vector, fetch, ef=fetch)
            keep = self._store_filter([pid for pid, _ in hits], f)
            kept = [(pid, s) for pid, s in hits if pid in keep]
            if len(kept) >= need or len(hits) < fetch:
                return kept[:need]
            fetch *= 4
        with self.engine.connect() as connection:
            if reads.count_filtered(connection, f) > EXACT_FALLBACK_MAX:
                return kept[:need]
            ids = reads.filtered_ids(connection, f)
        return self.vectors.exact(vector, ids, need)

    # --- search --------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        mode: str = "hybrid",
        filters: SearchFilter | None = None,
        sort: str = "relevance",
        limit: int = 10,
        offset: int = 0,
    ) -> SearchResult:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}: choose one of {', '.join(SORTS)}")
        started = time.perf_counter()
        inputs.query_text(query)
        f = inputs.resolve_filter(self.engine, filters or SearchFilter())
        notes: list[str] = []
        need = offset + limit if sort == "relevance" else max(SORT_POOL, offset + limit)
        keyword: list[tuple[str, float]] = []
        semantic: list[tuple[str, float]] = []
        pool = need if mode != "hybrid" else max(need, FUSION_POOL)
        # With MiniLM a pasted abstract in hybrid mode is ranked as related papers are: BM25 over all
        # its terms, the dense ranking weighted first (measured in docs/search.md).
        related = mode == "hybrid" and is_pasted_text(query.strip()) and self.dense_leads()
        if mode in ("keyword", "hybrid"):
            keyword = self.keyword(query, f, pool, all_terms=related)
        if mode in ("semantic", "hybrid"):
            try:
                vector = self.embed_query(query)
                if not np.any(vector):
                    notes.append("no word of the query is known to the embedder: no semantic matches")
                elif offset >= SEMANTIC_DEPTH and mode == "semantic":
                    notes.append(f"semantic matches stop at the {SEMANTIC_DEPTH:,} nearest papers")
                else:
                    semantic = self.semantic(vector, f, min(pool, SEMANTIC_DEPTH))
                    close = [(pid, s) for pid, s in semantic if s >= MIN_SIMILARITY]
                    if len(close) < len(semantic):
                        notes.append(f"{len(semantic) - len(close)} semantic neighbours below similarity "
                                     f"{MIN_SIMILARITY:g} left out: not related enough to count as matches")
                    semantic = close
            except SearchUnavailable as exc:
                if mode == "semantic":
                    raise
                notes.append(f"keyword results only: {exc}")
        kw_rank = {pid: (i + 1, s) for i, (pid, s) in enumerate(keyword)}
        sem_rank = {pid: (i + 1, s) for i, (pid, s) in enumerate(semantic)}
        if mode == "keyword":
            ranked = keyword
        elif mode == "semantic":
            ranked = semantic
        else:
            ranked = fuse(kw_rank, sem_rank, self.related_weights() if related else self.hybrid_weights())
        ranked = ranked[:need]
        if sort == "relevance":
            page_ids = [pid for pid, _ in ranked[offset : offset + limit]]
            with self.engine.connect() as connection:
                facts = reads.ranking_facts(connection, page_ids)
            chosen = [(pid, s) for pid, s in ranked[offset : offset + limit] if pid in facts]
        else:
            with self.engine.connect() as connection:
                facts = reads.ranking_facts(connection, [pid for pid, _ in ranked])
            key = {"date": "published", "score": "ai_score", "citations": "cited_by_count"}[sort]
            order = sorted(
                (item for item in ranked if item[0] in facts),
                key=lambda item: (facts[item[0]][key] is None, _desc(facts[item[0]][key])),
            )
            chosen = order[offset : offset + limit]
            notes.append(f"sorted by {sort}: the {len(ranked):,} most relevant matches reordered")
        hits = []
        for i, (pid, score) in enumerate(chosen):
            hit = Hit(paper_id=pid, rank=offset + i + 1, score=round(float(score), 6))
            if pid in kw_rank:
                hit.keyword_rank, hit.keyword_score = kw_rank[pid][0], round(kw_rank[pid][1], 4)
            if pid in sem_rank:
                hit.semantic_rank, hit.similarity = sem_rank[pid][0], round(sem_rank[pid][1], 4)
            hit.why = _why(query, mode, hit, facts[pid])
            hits.append(hit)
        return SearchResult(query, mode, sort, hits, notes, round(time.perf_counter() - started, 4))

    # --- similar papers ----------------------------------------------------------------------------

    def hybrid_weights(self) -> dict[str, float]:
        """The fusion weights of a typed hybrid query for the indexed generation's embedder."""
        try:
            return HYBRID_WEIGHTS.get(self.generation.embedder, RRF_WEIGHTS)
        except SearchUnavailable:  # no semantic index: keyword results only, said in the notes
            return RRF_WEIGHTS

    def related_weights(self) -> dict[str, float]:
        """The fusion weights of related papers for the indexed generation's embedder."""
        return RELATED_WEIGHTS.get(self.generation.embedder, RRF_WEIGHTS)

    def dense_leads(self) -> bool:
        """Whether the indexed generation's nearest papers lead the related-paper fusion."""
        try:
            return self.related_weights()["semantic"] > self.related_weights()["keyword"]
        except SearchUnavailable:  # no semantic index: keyword results only, said in the notes
            return False

    def similar(self, ref: str, limit: int = 10,
                paper: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[Hit]]:
        """The paper and its related papers: its nearest papers by embedding fused with the papers
        sharing its terms (BM25 over all of them), weighted as `related_weights` says; each with its
        cosine similarity, its ranks and the rarest terms shared. `paper`: the paper's row
        (`queries.find_paper`) when the caller has already read it."""
        if paper is None:
            with self.engine.connect() as connection:
                paper = queries.find_paper(connection, ref)
        if paper is None:
            raise LookupError(f"no paper {ref!r} in the store")
        pid = paper["id"]
        mine_text = paper_text(paper["title"], paper["abstract"])
        vectors, lexical = self.vectors, self.lexical  # each property checks its folder's stamp: once here
        have, matrix = vectors.vectors([pid])
        vector = matrix[0] if have else self.embed_query(mine_text)
        pool = max(limit, FUSION_POOL) + 1
        semantic = [(n, s) for n, s in vectors.search(vector, pool, ef=pool) if n != pid]
        keyword = [(n, s) for n, s in lexical.related(mine_text, pool) if n != pid]
        sem_rank = {n: (i + 1, s) for i, (n, s) in enumerate(semantic)}
        kw_rank = {n: (i + 1, s) for i, (n, s) in enumerate(keyword)}
        ranked = fuse(kw_rank, sem_rank, self.related_weights())[:limit]
        # Papers found by their terms alone: their similarity from their stored vectors.
        found, others = vectors.vectors([n for n, _ in ranked if n not in sem_rank])
        similarity = {n: s for n, (_, s) in sem_rank.items()}
        similarity.update({n: float(v @ vector) for n, v in zip(found, others, strict=True)})
        with self.engine.connect() as connection:
            facts = reads.ranking_facts(connection, [n for n, _ in ranked])
        mine = set(analyse(mine_text))
        surface = surface_words(mine_text)
        doc_freq: dict[str, int] = {}  # a term shared with several related papers is looked up once

        def rarity(term: str) -> tuple[int, str]:
            if term not in doc_freq:
                doc_freq[term] = lexical.doc_freq(term) or 10**9
            return doc_freq[term], term

        hits = []
        for other, fused_score in ranked:
            if other not in facts:
                continue
            fact = facts[other]
            shared = mine & set(analyse(paper_text(fact["title"], fact["abstract"])))
            shared = {t for t in shared if surface.get(t, t) not in _STOP and not t.isdigit()}
            rare = sorted(shared, key=rarity)[:6]
            cosine = similarity.get(other)
            hit = Hit(paper_id=other, rank=len(hits) + 1, score=round(fused_score, 6),
                      similarity=round(cosine, 4) if cosine is not None else None)
            hit.why = [f"cosine similarity {cosine:.3f}" if cosine is not None else "no embedding yet"]
            if other in sem_rank:
                hit.semantic_rank = sem_rank[other][0]
                hit.why[0] += f" (semantic #{hit.semantic_rank})"
            if other in kw_rank:
                hit.keyword_rank, hit.keyword_score = kw_rank[other][0], round(kw_rank[other][1], 4)
                hit.why.append(f"keyword #{hit.keyword_rank} (BM25 over all its terms {hit.keyword_score:.2f})")
            if rare:
                hit.why.append("shared terms: " + ", ".join(surface.get(t, t) for t in rare))
            hits.append(hit)
        return {"id": pid, "title": paper["title"], "published": _iso(paper["published"])}, hits


def fuse(keyword: dict[str, tuple[int, float]], semantic: dict[str, tuple[int, float]],
         weights: dict[str, float]) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of the two rankings ({paper id: (rank, score)}): each paper scores the
    sum of weight / (RRF_K + rank) over the rankings that hold it; best first."""
    fused: dict[str, float] = {}
    for name, ranks in (("keyword", keyword), ("semantic", semantic)):
        weight = weights[name]
        for pid, (rank, _) in ranks.items():
            fused[pid] = fused.get(pid, 0.0) + weight / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _desc(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, date):
        return -value.toordinal()
    return -float(value)


def _why(query: str, mode: str, hit: Hit, paper: dict[str, Any]) -> list[str]:
    why = []
    if hit.keyword_rank is not None:
        terms = matched_terms(query, paper)
        shown = "; ".join(f"{name}: {', '.join(ts)}" for name, ts in terms.items())
        line = f"keyword #{hit.keyword_rank} (BM25 {hit.keyword_score:.2f})"
        why.append(line + (f" — {shown}" if shown else ""))
    if hit.semantic_rank is not None:
        why.append(f"semantic #{hit.semantic_rank} (cosine {hit.similarity:.3f})")
    if mode == "hybrid":
        why.append(f"fused rank {hit.rank} (reciprocal rank fusion, k={RRF_K})")
    return why


# --- feeds and trending --------------------------------------------------------------------------

PERIODS = ("day", "week", "month", "trending")
FEED_SORTS = ("newest", "upvotes", "trending")


@dataclass
class FeedItem:
    paper_id: str
    feed_day: str | None
    trending: float
    rank: int = 0
    score: float = 0.0
    label: str = "—"  # the score as a person reads it: "▲ 118 · +12 citations this week"
    why: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Feed:
    period: str
    start: str | None
    end: str | None
    as_of: str
    items: list[FeedItem]
    notes: list[str] = field(default_factory=list)
    window: str | None = None  # trending: the window gains are counted over
    total: int = 0  # papers in the whole list (items are one page of it)

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period, "window": self.window, "start": self.start, "end": self.end,
                "as_of": self.as_of, "notes": self.notes, "total": self.total,
                "items": [i.as_dict() for i in self.items]}


def _ordinal(value: Any) -> int:
    if value is None:
        return 0
    return (value if isinstance(value, date) else date.fromisoformat(str(value)[:10])).toordinal()


def period_window(period: str, day: date) -> tuple[date, date]:
    """The day itself, its ISO week (Monday to Sunday) or its calendar month."""
    if period == "day":
        return day, day
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    raise ValueError(f"unknown period {period!r}: choose one of day, week, month")


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, dtime(0, 0), tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


WINDOWS = {"day": 1, "week": 7, "month": 30}  # trending windows, in days before the moment asked for


def trending_scores(
    observations: list[dict[str, Any]], as_of: datetime, half_life_days: float = HALF_LIFE_DAYS,
    citation_weight: float = CITATION_WEIGHT, window_days: float | None = None,
) -> dict[str, dict[str, float]]:
    """Trending score of each observed paper (docs/search.md):

        gains of a (paper, source) series of observations v_1..v_n at t_1..t_n, each t_i the day the
        source says the count was true (the list's day, the API's date):
            the first value v_1 dated at the paper's feed day (the day a daily list featured it, else
            its publication day; not after t_1; not counted when the paper has neither), then
            max(0, v_i - v_(i-1)) dated at t_i, counted only when the source dated v_i itself (an
            observation dated by its ingest only says the count is at least v_i, not when it grew)
        counted: gains dated in (as_of - window, as_of] (no window: every gain up to as_of)
        decayed(series) = sum of gain * 0.5 ** (age_days / half_life) over the counted gains
        upvotes U = max over sources of decayed(upvotes); citations C = the same for citation counts
        trending = U + citation_weight * C

    Counts are compared only within one source's series: two sources (or a source and a listing)
    that disagree on a count never make a gain. Observations must be in (paper, source, time) order.
    Returns {paper: {trending, upvotes, citations, upvotes_gained, citations_gained}}, the last two
    the plain sums of the counted gains.
    """
    as_of = _as_datetime(as_of)
    since = as_of - timedelta(days=window_days) if window_days is not None else None
    best: dict[str, dict[str, float]] = {}
    series: dict[tuple[str, str, str], list[tuple[datetime, int, Any, bool]]] = {}
    for row in observations:
        observed = _as_datetime(row["observed_at"])
        if observed > as_of:
            continue
        dated = row.get("dated_by") == "source"
        for signal in ("upvotes", "cited_by_count"):
            if row[signal] is not None:
                feed_day = row.get("featured_on") or row.get("published")
                series.setdefault((row["paper_id"], row["source"], signal), []).append(
                    (observed, int(row[signal]), feed_day, dated)
                )
    for (pid, source, signal), points in series.items():
        total = raw = 0.0
        previous: int | None = None
        for observed, value, feed_day, dated in points:
            if previous is None:
                # First sighting: the count grew since the paper appeared; with no day known, when it
                # grew is unknown and it is not counted as recent.
                when = min(_as_datetime(feed_day), observed) if feed_day else None
                gain = value
            else:
                when, gain = (observed if dated else None), max(0, value - previous)
            previous = value
            if gain and when is not None and when <= as_of and (since is None or when > since):
                age = (as_of - when).total_seconds() / 86400.0
                total += gain * math.pow(0.5, age / half_life_days)
                raw += gain
        entry = best.setdefault(pid, {"upvotes": 0.0, "citations": 0.0, "upvotes_gained": 0.0,
                                      "citations_gained": 0.0})
        key = "upvotes" if signal == "upvotes" else "citations"
        if source == LOCAL:  # readers' own upvotes add to what the sources report
            entry["local"] = entry.get("local", 0.0) + total
            entry["local_gained"] = entry.get("local_gained", 0.0) + raw
        elif total > entry[key]:
            entry[key], entry[f"{key}_gained"] = total, raw
    for entry in best.values():
        entry["upvotes"] += entry.pop("local", 0.0)
        entry["upvotes_gained"] += entry.pop("local_gained", 0.0)
        entry["trending"] = entry["upvotes"] + citation_weight * entry["citations"]
    return best


LOCAL = "paperscope"  # the readers' own upvotes, as a source of observations


def with_local_upvotes(connection: Any, observations: list[dict[str, Any]], paper_ids: Iterable[str] = (),
                       upvoted_since: datetime | None = None) -> list[dict[str, Any]]:
    """The observations plus this instance's readers' upvotes as a series of their own: the count
    after each upvote, dated when it was given. Local upvotes add to a source's upvotes. The upvotes
    read are those of the observed papers, of `paper_ids`, and of papers upvoted since `upvoted_since`."""
    from paperscope.store import library_marks

    wanted = {r["paper_id"] for r in observations} | set(paper_ids)
    if upvoted_since is not None:
        wanted |= library_marks.upvoted_since(connection, upvoted_since)
    rows = list(observations)
    count: dict[str, int] = {}
    first: dict[str, Any] = {}
    for pid, when in library_marks.local_upvote_events(connection, wanted):
        count[pid] = count.get(pid, 0) + 1
        first.setdefault(pid, when)
        rows.append({"paper_id": pid, "source": LOCAL, "observed_at": when, "dated_by": "source",
                     "upvotes": count[pid], "cited_by_count": None, "featured_on": first[pid], "published": None})
    rows.sort(key=lambda r: (r["paper_id"], r["source"], _as_datetime(r["observed_at"])))
    return rows


def trend_label(upvotes: int | None, citations_gained: float, window: str | None) -> str:
    """The score as a person reads it: `▲ 118 · +12 citations this week`."""
    parts = [] if upvotes is None else [f"▲ {upvotes:,}"]
    n = int(round(citations_gained))
    if n:
        span = {"day": "today", "week": "this week", "month": "this month"}.get(window or "", "lately")
        parts.append(f"+{n:,} citation{'s' if n != 1 else ''} {span}")
    return " · ".join(parts) or "—"


def feed(
    engine: Engine,
    period: str = "day",
    day: date | None = None,
    category: str | None = None,
    sort: str | None = None,
    limit: int = 30,
    as_of: datetime | None = None,
    window: str = "week",
    offset: int = 0,
) -> Feed:
    """A day's, week's or month's papers (by feed day), or the papers trending over the day, week or
    month (`window`) before `as_of`: the `limit` papers from `offset` on, and in `total` how many the
    whole list holds (only the shown papers' facts and trending scores are read)."""
    if period not in PERIODS:
        raise ValueError(f"unknown feed {period!r}: choose one of {', '.join(PERIODS)}")
    if window not in WINDOWS:
        raise ValueError(f"unknown trending window {window!r}: choose one of {', '.join(WINDOWS)}")
    f = SearchFilter(category=inputs.category_tag(engine, category) if category else None)
    notes: list[str] = []
    now = _as_datetime(as_of) if as_of else datetime.now(UTC)
    start = end = None
    with engine.connect() as connection:
        if period == "trending":
            days = WINDOWS[window]
            since = now - timedelta(days=TRENDING_LOOKBACK_DAYS)
            trend = trending_scores(
                with_local_upvotes(connection, reads.observations_since(connection, since), upvoted_since=since),
                now, window_days=days,
            )
            ids = sorted((pid for pid, t in trend.items() if t["trending"] > 0),
                         key=lambda pid: (-trend[pid]["trending"], pid))
            if f.category and ids:
                keep = reads.filter_ids(connection, ids, f)
                ids = [pid for pid in ids if pid in keep]
            sort = "trending"
            if not ids:
                notes.append(
                    f"no paper gained upvotes or citations in the {window} ({days} day{'s' if days > 1 else ''})"
                    f" before {now.isoformat(timespec='minutes')}"
                )
        else:
            sort = sort or "newest"
            if sort not in FEED_SORTS:
                raise ValueError(f"unknown feed sort {sort!r}: choose one of {', '.join(FEED_SORTS)}")
            anchor = day or reads.latest_feed_day(connection, not_after=now.date())
            if anchor is None:
                return Feed(period, None, None, now.isoformat(), [], ["the store holds no dated papers"])
            if day is None:
                notes.append(f"latest day with papers: {anchor.isoformat()}")
            start, end = period_window(period, anchor)
            rows = reads.feed_papers(connection, start, end, f)
            if sort == "trending":
                row_ids = [r["id"] for r in rows]
                trend = trending_scores(with_local_upvotes(
                    connection, reads.observations_since(connection, None, row_ids), row_ids), now)
                rows.sort(key=lambda r: (-trend.get(r["id"], {}).get("trending", 0.0), -(r["upvotes"] or 0),
                                         r["id"]))
            elif sort == "upvotes":
                rows.sort(key=lambda r: (-(r["upvotes"] or 0), -_ordinal(r["feed_day"]), r["id"]))
            else:
                rows.sort(key=lambda r: (_ordinal(r["feed_day"]), r["upvotes"] or 0, r["id"]), reverse=True)
            ids = [r["id"] for r in rows]
            if sort != "trending":
                page = ids[offset:offset + limit]
                trend = trending_scores(with_local_upvotes(
                    connection, reads.observations_since(connection, None, page), page), now)
        total = len(ids)
        ids = ids[offset:offset + limit]
        facts = reads.ranking_facts(connection, ids)
    items = []
    for pid in ids:
        fact = facts.get(pid)
        if fact is None:
            continue
        t = trend.get(pid, {"trending": 0.0, "upvotes": 0.0, "citations": 0.0, "citations_gained": 0.0})
        item = FeedItem(paper_id=pid, feed_day=_iso(fact["featured_on"] or fact["published"]),
                        trending=float(t["trending"]))
        item.label = trend_label(fact["upvotes"], t.get("citations_gained", 0.0),
                                 window if period == "trending" else None)
        if t["trending"]:
            item.why.append(
                f"trending {t['trending']:.4g} = upvotes {t['upvotes']:.4g} + {CITATION_WEIGHT:g} x "
                f"new citations {t['citations']:.4g} (half-life {HALF_LIFE_DAYS:g} days)"
            )
        items.append(item)
    for i, item in enumerate(items[:limit]):
        item.rank = offset + i + 1
        item.score = item.trending if sort == "trending" else float(facts[item.paper_id]["upvotes"] or 0)
    return Feed(period, _iso(start), _iso(end), now.isoformat(), items[:limit], notes,
                window if period == "trending" else None, total)


# --- quality -------------------------------------------------------------------------------------


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of a ranking against graded judgements (gain 2^g - 1)."""
    gains = [(2 ** relevant.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:k])]
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return sum(gains) / best if best else 0.0


def evaluate(searcher: Searcher, judged: list[dict[str, Any]], modes: tuple[str, ...] = MODES,
             k: int = 10) -> dict[str, dict[str, Any]]:
    """nDCG@k of each mode over a judged set ({"query", "relevant": {paper id: grade}} per line)."""
    out: dict[str, dict[str, Any]] = {}
    for mode in modes:
        per_query = []
        for item in judged:
            ranked = [h.paper_id for h in searcher.search(item["query"], mode, limit=k).hits]
            per_query.append(ndcg_at_k(ranked, item["relevant"], k))
        out[mode] = {"ndcg": sum(per_query) / len(per_query), "per_query": per_query}
    return out
