"""Tables of the scores: paper embeddings, per-paper scores and the fitted models behind them.

Embeddings are float32 vectors stored as bytes (one row per paper and embedder), with the hash of
the text they were computed from so that only new or changed papers are embedded again. A fitted
model (the TF-IDF embedder, the AI Score model, the category classifier) is one `model_runs` row:
its card (what it was trained on, its metrics) as JSON and its fitted state as bytes.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Table

from paperscope.store.schema import metadata

paper_embeddings = Table(
    "paper_embeddings",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("model", String(64), primary_key=True),  # embedder name: tfidf-svd, minilm
    Column("model_version", String(64), nullable=False),  # a refit changes it: older rows are stale
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32, L2-normalised, little-endian
    Column("text_hash", String(32), nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index(None, "model", "model_version"),
)

paper_scores = Table(
    "paper_scores",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("novelty_raw", Float),  # 1 - mean cosine similarity to the k nearest earlier papers
    Column("novelty_pct", Float),  # percentile of novelty_raw within (category, year)
    Column("novelty_evidence", JSON),  # {"k", "peers", "neighbours": [[paper_id, similarity], ...]}
    Column("novelty_model", String(128)),  # embedder name@version
    Column("ai_score", Float),  # 0-100
    Column("ai_linear", Float),  # the model's raw output; ai_score = clip(100 * ai_linear, 0, 100)
    Column(
        "ai_explanation", JSON
    ),  # {"baseline", "contributions": [[feature, value, contribution]], "other"}
    Column("ai_model_id", Integer),
    Column("predicted_category", String(32)),  # only for papers whose sources give no category
    Column("category_confidence", Float),
    Column("category_model_id", Integer),
    Column("computed_at", DateTime(timezone=True), nullable=False),
)

model_runs = Table(
    "model_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # embedder | ai_score | category
    Column("name", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("card", JSON, nullable=False),
    Column("artifact", LargeBinary),  # the fitted state (pickle), when the model has one
    Index(None, "kind", "name", "created_at"),
)
