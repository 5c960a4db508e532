"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:15:59.516706
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("orcid", sa.String(length=32), nullable=True),
        sa.Column("openalex_id", sa.String(length=32), nullable=True),
        sa.Column("s2_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
    )
    with op.batch_alter_table("authors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authors_name_key"), ["name_key"], unique=False)

    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_runs")),
    )
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_runs_source_target"), ["source", "target"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    op.create_table(
        "papers",
        sa.Column("id", sa.String(length=96), nullable=False),
        sa.Column("arxiv_id", sa.String(length=40), nullable=True),
        sa.Column("arxiv_version", sa.Integer(), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("openalex_id", sa.String(length=32), nullable=True),
        sa.Column("s2_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_key", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("updated", sa.Date(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("primary_category", sa.String(length=32), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("journal_ref", sa.Text(), nullable=True),
        sa.Column("license", sa.Text(), nullable=True),
        sa.Column("venue", sa.Text(), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("author_count", sa.Integer(), nullable=True),
        sa.Column("authors_truncated", sa.Boolean(), nullable=False),
        sa.Column("authors_source", sa.String(length=32), nullable=True),
        sa.Column("orgs", sa.JSON(), nullable=False),
        sa.Column("code_urls", sa.JSON(), nullable=False),
        sa.Column("code_badge", sa.Boolean(), nullable=True),
        sa.Column("has_code", sa.Boolean(), nullable=False),
        sa.Column("cited_by_count", sa.Integer(), nullable=True),
        sa.Column("cited_by_source", sa.String(length=32), nullable=True),
        sa.Column("upvotes", sa.Integer(), nullable=True),
        sa.Column("listing_score", sa.Float(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("featured_on", sa.Date(), nullable=True),
        sa.Column("field_sources", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_papers")),
    )
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_papers_arxiv_id"), ["arxiv_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_papers_doi"), ["doi"], unique=False)
        batch_op.create_index(batch_op.f("ix_papers_openalex_id"), ["openalex_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_papers_primary_category_published"),
            ["primary_category", "published"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_papers_published"), ["published"], unique=False)
        batch_op.create_index(batch_op.f("ix_papers_s2_id"), ["s2_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_papers_title_key"), ["title_key"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_source_position"), ["source", "position"], unique=True
        )

    op.create_table(
        "author_reports",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("h_index", sa.Integer(), nullable=True),
        sa.Column("i10_index", sa.Integer(), nullable=True),
        sa.Column("paper_count", sa.Integer(), nullable=True),
        sa.Column("citation_count", sa.Integer(), nullable=True),
        sa.Column("novelty", sa.Float(), nullable=True),
        sa.Column("ai_score", sa.Float(), nullable=True),
        sa.Column("counts_by_year", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["authors.id"], name=op.f("fk_author_reports_author_id_authors")
        ),
        sa.PrimaryKeyConstraint("source", "source_key", name=op.f("pk_author_reports")),
    )
    with op.batch_alter_table("author_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_author_reports_author_id"), ["author_id"], unique=False)

    op.create_table(
        "authorships",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("affiliations", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["authors.id"], name=op.f("fk_authorships_author_id_authors")),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_authorships_paper_id_papers")),
        sa.PrimaryKeyConstraint("paper_id", "position", name=op.f("pk_authorships")),
    )
    with op.batch_alter_table("authorships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorships_author_id"), ["author_id"], unique=False)

    op.create_table(
        "citation_counts",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_citation_counts_paper_id_papers")),
        sa.PrimaryKeyConstraint("paper_id", "source", "year", name=op.f("pk_citation_counts")),
    )
    op.create_table(
        "citations",
        sa.Column("citing_id", sa.String(length=96), nullable=False),
        sa.Column("cited_scheme", sa.String(length=16), nullable=False),
        sa.Column("cited_value", sa.String(length=255), nullable=False),
        sa.Column("cited_id", sa.String(length=96), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["citing_id"], ["papers.id"], name=op.f("fk_citations_citing_id_papers")),
        sa.PrimaryKeyConstraint("citing_id", "cited_scheme", "cited_value", name=op.f("pk_citations")),
    )
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citations_cited_id"), ["cited_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_citations_cited_scheme_cited_value"), ["cited_scheme", "cited_value"], unique=False
        )

    op.create_table(
        "code_links",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_code_links_paper_id_papers")),
        sa.PrimaryKeyConstraint("paper_id", "url", name=op.f("pk_code_links")),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("cited_by_count", sa.Integer(), nullable=True),
        sa.Column("upvotes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_observations_paper_id_papers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_observations_paper_id_observed_at"), ["paper_id", "observed_at"], unique=False
        )

    op.create_table(
        "paper_external_ids",
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_external_ids_paper_id_papers")
        ),
        sa.PrimaryKeyConstraint("scheme", "value", name=op.f("pk_paper_external_ids")),
    )
    with op.batch_alter_table("paper_external_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_external_ids_paper_id"), ["paper_id"], unique=False)

    op.create_table(
        "paper_organisations",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("org_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_paper_organisations_org_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_organisations_paper_id_papers")
        ),
        sa.PrimaryKeyConstraint("paper_id", "org_id", name=op.f("pk_paper_organisations")),
    )
    op.create_table(
        "paper_sources",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=False),
        sa.Column("record_hash", sa.String(length=32), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_sources_paper_id_papers")),
        sa.PrimaryKeyConstraint(
            "paper_id", "source", "source_key", "record_hash", name=op.f("pk_paper_sources")
        ),
    )


def downgrade() -> None:
    op.drop_table("paper_sources")
    op.drop_table("paper_organisations")
    with op.batch_alter_table("paper_external_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_external_ids_paper_id"))

    op.drop_table("paper_external_ids")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observations_paper_id_observed_at"))

    op.drop_table("observations")
    op.drop_table("code_links")
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citations_cited_scheme_cited_value"))
        batch_op.drop_index(batch_op.f("ix_citations_cited_id"))

    op.drop_table("citations")
    op.drop_table("citation_counts")
    with op.batch_alter_table("authorships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorships_author_id"))

    op.drop_table("authorships")
    with op.batch_alter_table("author_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_author_reports_author_id"))

    op.drop_table("author_reports")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_source_position"))

    op.drop_table("quarantine")
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_papers_title_key"))
        batch_op.drop_index(batch_op.f("ix_papers_s2_id"))
        batch_op.drop_index(batch_op.f("ix_papers_published"))
        batch_op.drop_index(batch_op.f("ix_papers_primary_category_published"))
        batch_op.drop_index(batch_op.f("ix_papers_openalex_id"))
        batch_op.drop_index(batch_op.f("ix_papers_doi"))
        batch_op.drop_index(batch_op.f("ix_papers_arxiv_id"))

    op.drop_table("papers")
    op.drop_table("organisations")
    with op.batch_alter_table("ingest_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_runs_source_target"))

    op.drop_table("ingest_runs")
    with op.batch_alter_table("authors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authors_name_key"))

    op.drop_table("authors")
