"""The store's tables (SQLAlchemy Core). The Alembic migrations create exactly these.

JSON columns hold small lists and maps (categories, links, affiliations); everything queried by
value (ids, dates, categories' primary tag, counts) is a plain indexed column.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

papers = Table(
    "papers",
    metadata,
    Column("id", String(96), primary_key=True),  # arXiv:2306.01234 | doi:10.x/y | title:<hash>
    Column("arxiv_id", String(40)),
    Column("arxiv_version", Integer),
    Column("doi", String(255)),
    Column("openalex_id", String(32)),
    Column("s2_id", String(64)),
    Column("title", Text, nullable=False),
    Column("title_key", Text, nullable=False),  # normalised title, for matching across sources
    Column("abstract", Text),
    Column("published", Date),
    Column("updated", Date),
    Column("year", Integer),
    Column("primary_category", String(32)),  # short tag: LG, CV, CL, ...
    Column("categories", JSON, nullable=False),  # source categories: ["cs.LG", "stat.ML"]
    Column("comments", Text),
    Column("journal_ref", Text),
    Column("license", Text),
    Column("venue", Text),
    Column("links", JSON, nullable=False),
    Column("author_count", Integer),
    Column("authors_truncated", Boolean, nullable=False),
    Column("authors_source", String(32)),
    Column("orgs", JSON, nullable=False),
    Column("code_urls", JSON, nullable=False),
    Column("code_badge", Boolean),
    Column("has_code", Boolean, nullable=False),
    Column("cited_by_count", Integer),
    Column("cited_by_source", String(32)),
    Column("upvotes", Integer),
    Column("listing_score", Float),
    Column("keywords", JSON, nullable=False),
    Column("featured_on", Date),
    Column("field_sources", JSON, nullable=False),  # field -> source that supplied the merged value
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(None, "arxiv_id"),
    Index(None, "doi"),
    Index(None, "openalex_id"),
    Index(None, "s2_id"),
    Index(None, "title_key"),
    Index(None, "published"),
    Index(None, "primary_category", "published"),
)

# Ids of schemes without a column of their own (aan, corpusid, dblp, pmid, ...).
paper_external_ids = Table(
    "paper_external_ids",
    metadata,
    Column("scheme", String(32), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("paper_id", String(96), ForeignKey("papers.id"), nullable=False),
    Index(None, "paper_id"),
)

authors = Table(
    "authors",
    metadata,
    Column("id", String(128), primary_key=True),  # orcid:… | openalex:A… | s2:… | name:<slug>
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("orcid", String(32)),
    Column("openalex_id", String(32)),
    Column("s2_id", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "name_key"),
)

authorships = Table(
    "authorships",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("position", Integer, primary_key=True),  # 0-based order on the paper
    Column("author_id", String(128), ForeignKey("authors.id"), nullable=False),
    Column("name", Text, nullable=False),  # as the source wrote it
    Column("affiliations", JSON, nullable=False),
    Column("origin", String(16), nullable=False),  # "source" | "page_owner" (listing owner, not shown)
    Index(None, "author_id"),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", String(255), primary_key=True),  # the slug a listing shows, or a normalised name
    Column("name", Text, nullable=False),
)

paper_organisations = Table(
    "paper_organisations",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("org_id", String(255), ForeignKey("organisations.id"), primary_key=True),
)

code_links = Table(
    "code_links",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("url", Text, primary_key=True),
    Column("origin", String(32), nullable=False),  # "text" (abstract/comments) or "<source> metadata"
)

citations = Table(
    "citations",
    metadata,
    Column("citing_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("cited_scheme", String(16), primary_key=True),  # openalex | s2 | arxiv | doi | aan
    Column("cited_value", String(255), primary_key=True),
    Column("cited_id", String(96)),  # the cited paper once it is in the store
    Column("source", String(32), nullable=False),
    Index(None, "cited_id"),
    Index(None, "cited_scheme", "cited_value"),
)

citation_counts = Table(
    "citation_counts",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)

observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(96), ForeignKey("papers.id"), nullable=False),
    Column("source", String(32), nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer),
    Column("cited_by_count", Integer),
    Column("upvotes", Integer),
    # "source": observed_at is the day the source says the counts were true; None: the ingest time
    # (a source that gives no date), which trending uses only as a baseline.
    Column("dated_by", String(16)),
    Index(None, "paper_id", "observed_at"),
)

paper_sources = Table(
    "paper_sources",
    metadata,
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("source_key", String(255), primary_key=True),
    # One row per distinct version of what the source said: its hash, when first seen, by which run.
    Column("record_hash", String(32), primary_key=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer),
    Column("record", JSON, nullable=False),  # what this source said (abstract left out: see papers)
)

author_reports = Table(
    "author_reports",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("source_key", String(255), primary_key=True),
    Column("author_id", String(128), ForeignKey("authors.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("field", String(32)),
    Column("h_index", Integer),
    Column("i10_index", Integer),
    Column("paper_count", Integer),
    Column("citation_count", Integer),
    Column("novelty", Float),
    Column("ai_score", Float),
    Column("counts_by_year", JSON, nullable=False),
    Column("as_of", Date),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Index(None, "author_id"),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("target", Text, nullable=False),  # what was ingested: files, query, folder
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("counts", JSON, nullable=False),
    Column("cursor", Text),  # where the next run resumes
    Column("error", Text),
    Index(None, "source", "target"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("source", String(32), nullable=False),
    Column("position", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "source", "position", unique=True),
)
