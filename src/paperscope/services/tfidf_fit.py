"""The TF-IDF + SVD embedder's fit: made on the store's texts, kept as a model run, refitted once
the store has grown by a quarter. Each fit is a new embedder version, so a new generation."""

from __future__ import annotations

from sqlalchemy import Engine

from paperscope.analytics.embedders import TfidfSvdEmbedder, paper_text
from paperscope.store import scores as store

REFIT_GROWTH = 0.25  # refit the TF-IDF embedder once the store has grown by a quarter since its fit
FIT_SAMPLE = 200_000  # papers the TF-IDF embedder is fitted on at most (an even sample by id)
MIN_FIT_ABSTRACTS = 500  # fit on abstracts alone once there are this many


def _fit_texts(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        rows = store.list_texts(connection, with_abstract=True)
        if len(rows) < MIN_FIT_ABSTRACTS:
            rows = store.list_texts(connection)
    if len(rows) > FIT_SAMPLE:
        step = len(rows) / FIT_SAMPLE
        rows = [rows[int(i * step)] for i in range(FIT_SAMPLE)]
    return [paper_text(r["title"], r["abstract"]) for r in rows]


def fitted_tfidf(engine: Engine, refit: bool = False) -> tuple[TfidfSvdEmbedder, str | None]:
    """The store's current TF-IDF fit and, when it was (re)fitted now, why. Earlier fits keep their
    fitted state: a generation of an earlier fit can be activated again and encode queries."""
    embedder = TfidfSvdEmbedder()
    with engine.connect() as connection:
        papers = store.count_papers(connection)
        last = store.latest_model_run(connection, "embedder", embedder.name, with_artifact=True)
    reason = None
    if last is None or last["artifact"] is None:
        reason = "no fitted model in the store yet"
    elif refit:
        reason = "refit asked for"
    else:
        fitted_at = int(last["card"].get("store_papers") or 0)
        if papers >= fitted_at * (1 + REFIT_GROWTH) and papers > fitted_at:
            reason = (
                f"the store grew from {fitted_at:,} to {papers:,} papers since the last fit "
                f"(refit at +{REFIT_GROWTH:.0%})"
            )
    if reason is None:
        return TfidfSvdEmbedder.loads(last["artifact"]), None  # type: ignore[index]
    texts = _fit_texts(engine)
    if len(texts) < 3:
        raise ValueError(f"the store holds {len(texts)} papers with text: too few to fit {embedder.name}")
    embedder.fit(texts)
    card = {
        "fitted_on": len(texts),
        "store_papers": papers,
        "dim": embedder.dim,
        "reason": reason,
        "model": "sublinear TF-IDF (words, English stop words removed) + truncated SVD",
    }
    with engine.begin() as connection:
        store.insert_model_run(connection, "embedder", embedder.name, embedder.version, card, embedder.dumps())
    return embedder, reason
