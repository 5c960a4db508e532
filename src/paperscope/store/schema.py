"""The store's tables (SQLAlchemy Core). The Alembic migrations create exactly these.

JSON columns hold small lists and maps (categories, links, affiliations); everything queried by
value (ids, dates, categories' primary tag, counts) is a plain indexed column.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    literal_column,
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
    # The Daily Papers window by feed day: featured papers by featured_on, the others (featured_on
    # NULL) by published, both ranges of this one index (migrations 0120, 0181).
    Index(None, "featured_on", "published"),
    Index(None, "updated_at"),  # papers written since a profile run (migration 0181)
    Index(None, "primary_category", "published"),
)
# A venue's papers (its page). On a prefix: a venue is free text, and PostgreSQL refuses a btree
# entry over ~2.7 kB, which a hostile record must not turn into a failed ingest.
VENUE_PREFIX = 200
venue_prefix = func.substr(papers.c.venue, literal_column("1"), literal_column(str(VENUE_PREFIX)))
Index("ix_papers_venue_prefix", venue_prefix)

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
    Index(None, "org_id"),  # an organisation's papers (its page)
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
    Index(None, "observed_at"),  # papers observed lately, for trending (migration 0120)
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

# Lines a bulk snapshot load set aside for the record-by-record path (they share an id or title
# with an earlier line, or need cleaning or a quarantine reason); written there once the bulk
# rows and their indexes are in, in line order, and deleted as they go.
ingest_deferred = Table(
    "ingest_deferred",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("target", Text, primary_key=True),
    Column("seq", BigInteger, primary_key=True),  # file index << 32 | line number: input order
    Column("position", Text, nullable=False),  # "<path>:<line>", as quarantine positions are written
    Column("raw", LargeBinary, nullable=False),  # the line's bytes, exactly as read
)

# `paperscope build`: one row per build, one per stage run within it, so a killed build resumes at
# its first unfinished stage and reports every stage's time, rate and memory at the end.
builds = Table(
    "builds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Text, nullable=False),  # the snapshot files, as the ingest run names them
    Column("mode", String(16), nullable=False),  # full (first load) | incremental (a store with papers)
    Column("status", String(16), nullable=False),  # running | done | failed | superseded
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

build_stages = Table(
    "build_stages",
    metadata,
    Column("build_id", Integer, ForeignKey("builds.id"), primary_key=True),
    Column("stage", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("seconds", Float),  # wall, summed over the runs of this stage (a resumed stage runs twice)
    Column("cpu_seconds", Float),  # this process and its children
    Column("peak_rss_mib", Float),  # the process's peak so far when the stage ended
    Column("items", Integer),  # what the stage counts (records, papers, authors, documents)
    Column("detail", JSON, nullable=False),
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
