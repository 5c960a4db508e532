"""Scoring use cases: embed the store incrementally, then Novelty, predicted categories and the AI
Score for every paper; explain one paper's scores; the model cards; score fields for exports.

Every stage recomputes its scores for the whole store from the current embeddings (a new paper can
change the neighbours and percentiles of others); only the embeddings are incremental.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from paperscope.analytics import categories as category_model
from paperscope.analytics import impact, novelty
from paperscope.analytics.codecheck import compute_code_detection
from paperscope.analytics.earlier_graph import EarlierGraph
from paperscope.analytics.embedders import paper_text
from paperscope.services import embeddings
from paperscope.services.runners import Runner
from paperscope.store import generations, queries
from paperscope.store import scores as store
from paperscope.store.generations import Generation

GRAPH_SOURCES = ("aan",)  # sources whose citation edges are complete within their own corpus

Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class ScoreSummary:
    embedder: str = ""
    version: str = ""
    generation: int = 0
    refit_reason: str | None = None
    papers: int = 0
    embedded: int = 0
    unchanged: int = 0
    novelty_raw: int = 0
    novelty_pct: int = 0
    novelty_searched: int = 0  # papers whose nearest earlier papers were searched (others reused)
    novelty_search: str = ""  # exact, approximate on a new graph, or approximate on the kept graph
    categories_predicted: int = 0
    category_status: str = ""
    ai_scored: int = 0
    ai_status: str = ""
    ai_reason: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


# --- embeddings ---------------------------------------------------------------------------------


def _aligned_vectors(engine: Engine, generation: Generation, ids: list[str]) -> tuple[np.ndarray, dict[str, str]]:
    """The generation's vectors in the order of `ids` (zero rows for papers without one), and the
    hash of the text each was computed from."""
    vectors = generations.open_vectors(generation)
    out = np.zeros((len(ids), generation.dim), dtype=np.float32)
    rows = [(i, vectors.row_of[pid]) for i, pid in enumerate(ids) if pid in vectors.row_of]
    if rows:
        mine, theirs = zip(*rows, strict=True)
        out[list(mine)] = vectors.matrix[list(theirs)]
    hashes = {pid: vectors.hashes[vectors.row_of[pid]] for pid in ids if pid in vectors.row_of}
    return out, hashes


# --- stages -------------------------------------------------------------------------------------


def novelty_graph_folder(data_dir: Path, generation: Generation) -> Path:
    """Where the approximate Novelty search keeps its graph between runs (a derived folder)."""
    return Path(data_dir) / "derived" / f"novelty-g{generation.id}"


def score_novelty(
    engine: Engine,
    generation: Generation,
    facts: list[dict[str, Any]],
    vectors: np.ndarray,
    hashes: dict[str, str],
    k: int = novelty.DEFAULT_K,
    changed: set[str] | None = None,
    graph_folder: Path | None = None,
    summary: ScoreSummary | None = None,
    runner: Runner | None = None,
) -> tuple[int, int, int]:
    """Novelty of every paper with an abstract, against the earlier papers with one. With `changed`
    (the ids embedded this run), stored neighbours of papers older than every change are reused.
    Above novelty.EXACT_UP_TO papers the search is approximate; with `graph_folder` its graph is
    kept there, so that the next incremental run queries it instead of growing a new one.
    Returns (papers with a raw Novelty, with a percentile, papers whose neighbours were searched)."""
    # A zero vector (no word the embedder knows) says nothing about where the paper lies.
    known = np.abs(vectors).sum(axis=1) > 0
    subset = [i for i, f in enumerate(facts) if (f["abstract_chars"] or 0) > 0 and f["year"] is not None and known[i]]
    model = generation.label
    previous = None
    changed_mask = None
    if changed is not None:
        # Changed: embedded in this run, or since the stored evidence was computed (by whatever
        # embedded it: its text hash differs from the one the evidence names).
        previous, stale = _previous_novelty(engine, [facts[i]["id"] for i in subset], model, k, hashes)
        changed_mask = np.array([facts[i]["id"] in changed or facts[i]["id"] in stale for i in subset])
    kept = None
    if graph_folder is not None and previous is not None:
        state = EarlierGraph.state(graph_folder)
        if state is not None and state.get("model") == model and state.get("dim") == vectors.shape[1]:
            kept = EarlierGraph.load(graph_folder)
    result = novelty.compute_novelty(
        vectors[subset],
        [facts[i]["year"] for i in subset],
        [facts[i]["published"] for i in subset],
        [facts[i]["primary_category"] for i in subset],
        k=k,
        changed=changed_mask,
        previous=previous,
        ids=[facts[i]["id"] for i in subset] if graph_folder is not None else None,
        graph=kept,
        search=neighbour_search(runner),
    )
    if summary is not None:
        summary.novelty_search = (
            "exact" if result.graph is None and len(subset) <= novelty.EXACT_UP_TO
            else "approximate, kept graph" if kept is not None and result.graph is kept
            else "approximate, new graph"
        )
    if graph_folder is not None:
        # Kept before the scores are written: a run stopped in between redoes those papers on a
        # graph that already holds them, never on one that lacks them.
        if result.graph is not None:
            result.graph.save(graph_folder, {"model": model})
        else:
            shutil.rmtree(graph_folder, ignore_errors=True)
    rows: list[dict[str, Any]] = [
        {
            "paper_id": f["id"],
            "novelty_evidence": {"reason": "no abstract, no year, or no known word: nothing to compare"},
        }
        for f in facts
    ]
    for j, i in enumerate(subset):
        f = facts[i]
        evidence: dict[str, Any] = {
            "k": k,
            "earlier": int(result.earlier[j]),
            "peers": int(result.peers[j]),
            "group": [f["primary_category"], f["year"]],
            "model": model,
            "generation": generation.id,
            "text_hash": hashes.get(f["id"]),
        }
        if result.earlier[j] < k:
            evidence["reason"] = f"only {int(result.earlier[j])} earlier papers with an abstract ({k} needed)"
        else:
            evidence["neighbours"] = [
                [facts[subset[int(n)]]["id"], round(float(s), 6)]
                for n, s in zip(result.neighbours[j], result.similarities[j], strict=True)
                if n >= 0
            ]
            if np.isnan(result.percentile[j]):
                evidence["reason"] = (
                    f"only {int(result.peers[j])} scored papers in its category and year "
                    f"({novelty.MIN_PEERS} needed for a percentile)"
                )
        raw, pct = result.raw[j], result.percentile[j]
        rows[i] = {
            "paper_id": f["id"],
            "novelty_raw": None if np.isnan(raw) else float(raw),
            "novelty_pct": None if np.isnan(pct) else float(pct),
            "novelty_evidence": evidence,
            "novelty_model": model,
        }
    with engine.begin() as connection:
        store.write_scores(connection, rows, store.NOVELTY_COLUMNS)
    return (
        int((~np.isnan(result.raw)).sum()),
        int((~np.isnan(result.percentile)).sum()),
        result.searched,
    )


NOVELTY_PIECE_ROWS = 8 * novelty.SEARCH_BLOCK  # whole blocks per piece: each block computed as in one process


def _search_piece(shared: tuple[np.ndarray, np.ndarray, int], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors, prefix, k = shared
    indices, similarities = novelty.nearest_earlier(vectors, prefix, k, rows=rows)
    return indices[rows], similarities[rows]


def neighbour_search(runner: Runner | None, piece_rows: int = NOVELTY_PIECE_ROWS) -> novelty.NeighbourSearch | None:
    """Novelty's nearest-earlier search spread over `runner` in pieces of whole query blocks (None:
    in this process). Each block is the same matrix product as in one process: equal answers.
    `piece_rows` must be a multiple of novelty.SEARCH_BLOCK for that."""
    if piece_rows % novelty.SEARCH_BLOCK:
        raise ValueError(f"piece_rows={piece_rows} is not a multiple of {novelty.SEARCH_BLOCK}")
    if runner is None or runner.name == "local":
        return None

    def search(
        vectors: np.ndarray, prefix: np.ndarray, k: int, rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(vectors)
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        pieces = [rows[i : i + piece_rows] for i in range(0, len(rows), piece_rows)]
        indices = np.full((n, k), -1, dtype=np.int64)
        similarities = np.full((n, k), np.nan, dtype=np.float32)
        for piece, (found, sims) in zip(pieces, runner.map_shared(_search_piece, (vectors, prefix, k), pieces),
                                        strict=True):
            indices[piece], similarities[piece] = found, sims
        return indices, similarities

    return search


def _previous_novelty(
    engine: Engine, ids: list[str], model: str, k: int, hashes: dict[str, str]
) -> tuple[novelty.Previous, set[str]]:
    """Stored Novelty evidence of these papers, usable where it came from the same embedder, k and
    text; and the papers whose text changed since their evidence was computed."""
    with engine.connect() as connection:
        stored = store.get_scores(connection, ids)
    index = {pid: i for i, pid in enumerate(ids)}
    n = len(ids)
    stale: set[str] = set()
    previous = novelty.Previous(
        valid=np.zeros(n, dtype=bool),
        earlier=np.full(n, -1, dtype=np.int64),
        neighbours=np.full((n, k), -1, dtype=np.int64),
        similarities=np.full((n, k), np.nan, dtype=np.float32),
    )
    for i, pid in enumerate(ids):
        evidence = (stored.get(pid) or {}).get("novelty_evidence") or {}
        if evidence.get("model") != model or evidence.get("k") != k or "earlier" not in evidence:
            continue
        if evidence.get("text_hash") != hashes.get(pid):
            stale.add(pid)
            continue
        found = [(index.get(nid), sim) for nid, sim in evidence.get("neighbours", [])]
        if any(j is None for j, _ in found) or (evidence["earlier"] >= k and len(found) != k):
            continue  # a neighbour left the store, or the evidence is partial: search again
        previous.valid[i] = True
        previous.earlier[i] = evidence["earlier"]
        for m, (j, sim) in enumerate(found):
            previous.neighbours[i, m] = j
            previous.similarities[i, m] = sim
    return previous, stale


def score_categories(engine: Engine) -> tuple[int, dict[str, Any]]:
    """Train the category classifier and predict a category for every paper without one."""
    with engine.connect() as connection:
        rows = store.list_texts(connection)
        tagged = store.list_listing_categories(connection)
    texts = [paper_text(r["title"], r["abstract"]) for r in rows]
    labels = [r["primary_category"] for r in rows]
    listing_tags = {i: tagged[r["id"]] for i, r in enumerate(rows) if r["id"] in tagged}
    model, card = category_model.train_category_classifier(texts, labels, listing_tags)
    with engine.begin() as connection:
        model_id = store.insert_model_run(
            connection, "category", "tfidf-logreg", "1", card, model.dumps() if model else None
        )
        store.prune_model_artifacts(connection, "category", model_id)
    out = [{"paper_id": r["id"]} for r in rows]
    predicted = 0
    if model is not None:
        # Only papers with an abstract: the classifier learnt from titles with abstracts, and a bare
        # title (the ACL Anthology's papers) is too little to say (tried: mostly wrong).
        todo = [i for i, r in enumerate(rows) if not r["primary_category"] and r["abstract"]]
        guesses, confidence = model.predict([texts[i] for i in todo])
        for i, guess, conf in zip(todo, guesses, confidence, strict=True):
            if conf >= category_model.MIN_CONFIDENCE:
                out[i] = {
                    "paper_id": rows[i]["id"],
                    "predicted_category": guess,
                    "category_confidence": float(conf),
                    "category_model_id": model_id,
                }
                predicted += 1
    with engine.begin() as connection:
        store.write_scores(connection, out, store.CATEGORY_COLUMNS)
    return predicted, card


def score_impact(
    engine: Engine,
    generation: Generation,
    facts: list[dict[str, Any]],
    vectors: np.ndarray,
    as_of_year: int | None = None,
    min_labelled: int = impact.MIN_LABELLED,
) -> tuple[int, dict[str, Any]]:
    """Train, evaluate and apply the AI Score model; with too few labels, clear every AI Score."""
    as_of_year = as_of_year or date.today().year
    with engine.connect() as connection:
        authorships = store.list_authorship_pairs(connection)
        citations = store.list_resolved_citations(connection)
        references = store.count_references(connection)
        graph_ids = {source: store.paper_ids_in_source(connection, source) for source in GRAPH_SOURCES}
    incoming = Counter(cited for _, cited in citations)
    labels, sources, _ = impact.compute_citation_labels(facts, incoming, graph_ids, as_of_year)
    base = impact.compute_base_features(facts, authorships, citations, references)
    categories = [f["primary_category"] for f in facts]
    training = impact.train_ai_score(
        base,
        vectors,
        categories,
        [f["year"] for f in facts],
        [f["published"] for f in facts],
        labels,
        sources,
        min_labelled=min_labelled,
    )
    card = {
        **training.card,
        "as_of_year": as_of_year,
        "min_age_years": impact.MIN_AGE,
        "embedder": generation.label,
        "embedder_generation": generation.id,
        **_impact_scope(training.card),
    }
    import pickle

    artifact = pickle.dumps((training.model, training.space)) if training.model else None
    with engine.begin() as connection:
        model_id = store.insert_model_run(connection, "ai_score", "ridge", "1", card, artifact)
        store.prune_model_artifacts(connection, "ai_score", model_id)
    rows: list[dict[str, Any]] = [{"paper_id": f["id"]} for f in facts]
    if training.model is not None and training.space is not None:
        X = training.space.build(base, vectors, categories)
        linear = training.model.linear(X)
        scores = impact.to_score(linear)
        explanations = impact.explain_rows(training.model, X)
        rows = [
            {
                "paper_id": f["id"],
                "ai_score": float(scores[i]),
                "ai_linear": float(linear[i]),
                "ai_explanation": explanations[i],
                "ai_model_id": model_id,
            }
            for i, f in enumerate(facts)
        ]
    with engine.begin() as connection:
        store.write_scores(connection, rows, store.AI_COLUMNS)
    return (len(facts) if training.model is not None else 0), card


def _impact_scope(card: dict[str, Any]) -> dict[str, Any]:
    """The card's plain words: what it was trained on and where it does not apply."""
    if card.get("status") != "trained":
        return {"trained_on": "nothing: too few labelled papers", "does_not_apply": ["every paper"]}
    sources = ", ".join(f"{n:,} {s}" for s, n in card["label_sources"].items())
    return {
        "trained_on": (
            f"{card['n_labelled']:,} papers of {card['years'][0]}-{card['years'][1]} whose citation "
            f"count is known ({sources}), labelled with their citation percentile within category, "
            "year and count source"
        ),
        "does_not_apply": [
            "fields and eras missing from the training papers (see categories and years): the score extrapolates there",
            "citation counts of other sources than those listed: their percentiles are not comparable",
            "papers younger than the as-of year minus the minimum age are scored but were never labels",
            "a paper's score is a prediction from what was known at publication, not its actual impact",
        ],
    }


def run_scores(
    engine: Engine,
    embedder_name: str | None = None,
    *,
    refit: bool = False,
    k: int = novelty.DEFAULT_K,
    as_of_year: int | None = None,
    min_labelled: int = impact.MIN_LABELLED,
    progress: Progress = _quiet,
    data_dir: Path | None = None,
    runner: Runner | None = None,
    default_embedder: str | None = None,
) -> ScoreSummary:
    """Every score for every paper: embeddings (the named embedder's generation brought up to date;
    default: the active one's, else `default_embedder`'s), then Novelty, categories and the AI Score
    from the active generation's vectors. Vector files live under `data_dir` (a SQLite store without
    one: beside the database file). With `data_dir`, the approximate Novelty search keeps its graph
    under it (novelty_graph_folder) and daily runs query that graph; without, a large store grows a
    new graph each run. With a Ray `runner`, the embeddings and Novelty's exact neighbour search run
    on its cluster (same results)."""
    summary = ScoreSummary()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.seconds[stage] = round(now - clock, 3)
        clock = now

    progress("fit", 0, None)
    changed: set[str] = set()
    updated, embedded, summary.refit_reason = embeddings.update(
        engine, embedder_name, data_dir, refit=refit, progress=progress, changed=changed, runner=runner,
        default=default_embedder)
    summary.embedded, summary.unchanged = embedded.embedded, embedded.unchanged
    lap("embed")
    with engine.connect() as connection:
        generation = generations.active_generation(connection) or updated
        facts = store.list_paper_facts(connection)
    if generation.id != updated.id:
        changed = set()  # the active generation's vectors did not change in this run
    summary.embedder, summary.version, summary.generation = generation.embedder, generation.version, generation.id
    summary.papers = len(facts)
    vectors, hashes = _aligned_vectors(engine, generation, [f["id"] for f in facts])
    progress("novelty", 0, None)
    graph_folder = novelty_graph_folder(data_dir, generation) if data_dir is not None else None
    summary.novelty_raw, summary.novelty_pct, summary.novelty_searched = score_novelty(
        engine, generation, facts, vectors, hashes, k, changed, graph_folder, summary, runner
    )
    lap("novelty")
    progress("categories", 0, None)
    summary.categories_predicted, category_card = score_categories(engine)
    summary.category_status = category_card["status"]
    lap("categories")
    progress("ai score", 0, None)
    summary.ai_scored, ai_card = score_impact(engine, generation, facts, vectors, as_of_year, min_labelled)
    summary.ai_status, summary.ai_reason = ai_card["status"], ai_card.get("reason")
    lap("ai_score")
    progress("done", 1, 1)
    return summary


# --- reads --------------------------------------------------------------------------------------


def explain_paper(engine: Engine, ref: str, paper: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A paper's scores with their evidence: novelty neighbours (titles, similarities), the AI Score's
    feature contributions, the predicted category, and the code links found in its text. `paper`:
    the paper's row (`queries.find_paper`) when the caller has already read it."""
    with engine.connect() as connection:
        paper = paper if paper is not None else queries.find_paper(connection, ref)
        if paper is None:
            return None
        scores = store.get_scores(connection, [paper["id"]]).get(paper["id"])
        evidence = (scores or {}).get("novelty_evidence") or {}
        neighbour_ids = [n[0] for n in evidence.get("neighbours", [])]
        titles = store.get_titles(connection, neighbour_ids)
        ai_card = store.latest_model_run(connection, "ai_score")
    out: dict[str, Any] = {
        "id": paper["id"],
        "title": paper["title"],
        "year": paper["year"],
        "published": paper["published"].isoformat() if paper["published"] else None,
        "category": paper["primary_category"],
        "scored": scores is not None,
        "code": {
            "has_code": bool(paper["has_code"]),
            "urls": paper["code_urls"],
            "badge": paper["code_badge"],
        },
    }
    if scores is None:
        out["reason"] = "not scored yet: run `paperscope score`"
        return out
    out["novelty"] = {
        "percentile": scores["novelty_pct"],
        "raw": scores["novelty_raw"],
        "model": scores["novelty_model"],
        "generation": evidence.get("generation"),
        "k": evidence.get("k"),
        "earlier_papers": evidence.get("earlier"),
        "peers": evidence.get("peers"),
        "group": evidence.get("group"),
        "reason": evidence.get("reason"),
        "neighbours": [
            {
                "id": pid,
                "similarity": sim,
                "title": titles.get(pid, {}).get("title"),
                "year": titles.get(pid, {}).get("year"),
            }
            for pid, sim in evidence.get("neighbours", [])
        ],
    }
    explanation = scores["ai_explanation"]
    out["ai_score"] = {
        "score": scores["ai_score"],
        "linear": scores["ai_linear"],
        "model_id": scores["ai_model_id"],
        "baseline": explanation["baseline"] if explanation else None,
        "contributions": [
            {"feature": name, "value": value, "contribution": contribution}
            for name, value, contribution in (explanation or {}).get("contributions", [])
        ],
        "other": explanation["other"] if explanation else None,
        "reason": None
        if scores["ai_score"] is not None
        else (ai_card or {}).get("card", {}).get("reason", "no AI Score model trained yet"),
    }
    out["predicted_category"] = {
        "category": scores["predicted_category"],
        "confidence": scores["category_confidence"],
        "reason": (
            "the source gives a category"
            if paper["primary_category"]
            else None
            if scores["predicted_category"]
            else "no abstract to classify"
            if not paper["abstract"]
            else f"classifier unsure (below {category_model.MIN_CONFIDENCE:.0%}) or not trained"
        ),
    }
    return out


def model_cards(engine: Engine) -> dict[str, Any]:
    """The latest card of each model, and code detection measured against the listing badges."""
    with engine.connect() as connection:
        out: dict[str, Any] = {}
        for kind in ("ai_score", "category", "embedder"):
            run = store.latest_model_run(connection, kind)
            out[kind] = (
                None
                if run is None
                else {
                    "id": run["id"],
                    "name": run["name"],
                    "version": run["version"],
                    "created_at": run["created_at"].isoformat() if run["created_at"] else None,
                    **run["card"],
                }
            )
        out["code_detection"] = compute_code_detection(store.list_badge_cards(connection))
        out["coverage"] = store.score_counts(connection)
    return out


def score_fields(engine: Engine, paper_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The export's score columns: novelty (percentile), ai_score, predicted_category; None where absent."""
    with engine.connect() as connection:
        scores = store.get_scores(connection, paper_ids)
    empty = {"novelty": None, "ai_score": None, "predicted_category": None}
    return {
        pid: (
            {
                "novelty": s["novelty_pct"],
                "ai_score": s["ai_score"],
                "predicted_category": s["predicted_category"],
            }
            if (s := scores.get(pid))
            else dict(empty)
        )
        for pid in paper_ids
    }


def author_scores(engine: Engine, author_ids: list[str]) -> dict[str, dict[str, float | None]]:
    """Author Novelty % and Author AI Score: means over the author's scored papers."""
    with engine.connect() as connection:
        rows = store.list_author_paper_scores(connection, author_ids)
    pct = novelty.compute_author_novelty({a: [r["novelty_pct"] for r in rows.get(a, [])] for a in author_ids})
    ai = impact.compute_author_ai_score({a: [r["ai_score"] for r in rows.get(a, [])] for a in author_ids})
    return {a: {"novelty": pct[a], "ai_score": ai[a]} for a in author_ids}


def code_detection(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        return compute_code_detection(store.list_badge_cards(connection))
