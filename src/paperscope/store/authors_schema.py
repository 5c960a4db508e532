"""Tables of author profiles: who is who (identity links and hand corrections) and the computed metrics.

Everything here except `author_corrections` is derived data, rebuilt by `paperscope authors recompute`
from the store; corrections are the user's word and survive every re-ingest and recompute. Values
that sources *reported* stay in `author_reports` (schema.py), never in these tables.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, String, Table, Text

from paperscope.store.schema import metadata

# Hand corrections, applied on every recompute. kind: "merge" (a and b are one person), "split"
# (a and b are never one person) or "split_papers" (a's authorships on `papers` are someone else).
author_corrections = Table(
    "author_corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("a", String(160), nullable=False),
    Column("b", String(160)),
    Column("papers", JSON, nullable=False),
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# An author id whose identity is another id (an id absent here is its own identity).
author_identity_links = Table(
    "author_identity_links",
    metadata,
    Column("author_id", String(128), primary_key=True),
    Column("identity_id", String(160), nullable=False),
    Column("rule", String(32), nullable=False),  # shared_id | same_paper | name_evidence | manual_merge
    Column("evidence", Text, nullable=False),
    Index(None, "identity_id"),
)

# Authorships whose identity differs from their author id's (namesakes sharing a name-only id).
authorship_identities = Table(
    "authorship_identities",
    metadata,
    Column("paper_id", String(96), primary_key=True),
    Column("author_id", String(128), primary_key=True),
    Column("identity_id", String(160), nullable=False),
    Column("rule", String(32), nullable=False),  # namesake_split | manual_split
    Column("evidence", Text, nullable=False),
    Index(None, "identity_id"),
)

# Computed metrics per identity (see docs/authors.md for every definition).
author_metrics = Table(
    "author_metrics",
    metadata,
    Column("identity_id", String(160), primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("field", String(32)),
    Column("papers", Integer, nullable=False),
    Column("citations", Integer, nullable=False),
    Column("h_index", Integer, nullable=False),
    Column("i10_index", Integer, nullable=False),
    Column("g_index", Integer, nullable=False),
    Column("papers_5y", Integer, nullable=False),
    Column("citations_5y", Integer, nullable=False),
    Column("h_index_5y", Integer, nullable=False),
    Column("i10_index_5y", Integer, nullable=False),
    Column("g_index_5y", Integer, nullable=False),
    Column("citations_by_year", JSON, nullable=False),
    Column("novelty", Float),
    Column("ai_score", Float),
    Column("members", JSON, nullable=False),  # the author ids of this identity
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index(None, "name_key"),
    Index(None, "h_index"),
)

# Similar authors by the text or embeddings of their work, top few per identity.
author_similar = Table(
    "author_similar",
    metadata,
    Column("identity_id", String(160), primary_key=True),
    Column("similar", JSON, nullable=False),  # [[identity_id, cosine], ...] best first
    Column("method", String(32), nullable=False),  # "embeddings:<model>" | "tfidf"
    Column("computed_at", DateTime(timezone=True), nullable=False),
)

# One row per recompute: when it ran and what it covered (an incremental run starts from the last).
author_runs = Table(
    "author_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mode", String(16), nullable=False),  # full | incremental
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("counts", JSON, nullable=False),
)

# The parts of an author's page whose cost grows with the author's papers (co-authors, top
# organisations, the order of the cards by date and by citations), stored per identity and valid
# while the identity's metrics are those they were built with (`metrics_at`, the metrics row's
# computed_at): a page of a prolific author reads one row instead of every paper and co-author.
# Written by the profile step for prolific identities; smaller ones are cheap to build per view.
author_pages = Table(
    "author_pages",
    metadata,
    Column("identity_id", String(160), primary_key=True),
    Column("metrics_at", String(40), nullable=False),
    Column("parts", JSON, nullable=False),  # {"coauthors": [[id, n]], "orgs": [[org, n]], "order": {sort: [ids]}}
    Column("computed_at", DateTime(timezone=True), nullable=False),
)
