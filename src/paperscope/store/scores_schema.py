"""Tables of the scores: embedder generations, per-paper scores and the fitted models behind them.

A generation is one embedder at one version (a TF-IDF fit, a MiniLM release, a distilled static
model); its vectors are derived files under the data dir (store/vector_files.py), its row says
where they are and whether it is the one active generation that every query and score uses. A fitted
model (the TF-IDF embedder, the AI Score model, the category classifier) is one `model_runs` row:
its card (what it was trained on, its metrics) as JSON and its fitted state as bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from paperscope.store.schema import metadata

embedding_generations = Table(
    "embedding_generations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("embedder", String(64), nullable=False),  # minilm | model2vec | tfidf-svd
    Column("version", String(128), nullable=False),  # a refit or a new model release is a new generation
    Column("dim", Integer, nullable=False),
    Column("folder", Text, nullable=False),  # where its vector files are (under the data dir)
    Column("state", String(16), nullable=False),  # backfilling | ready | retired
    Column("active", Boolean, nullable=False),  # exactly one generation is active once any is
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("progress", JSON, nullable=False),  # {"papers", "embedded", "covered", "updated_at", ...}
    UniqueConstraint("embedder", "version"),
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
