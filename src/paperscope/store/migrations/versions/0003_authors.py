"""author profiles: identity links, corrections, metrics, similar authors

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "author_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("a", sa.String(length=160), nullable=False),
        sa.Column("b", sa.String(length=160), nullable=True),
        sa.Column("papers", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_corrections")),
    )
    op.create_table(
        "author_identity_links",
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("identity_id", sa.String(length=160), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("author_id", name=op.f("pk_author_identity_links")),
    )
    op.create_index(op.f("ix_author_identity_links_identity_id"), "author_identity_links", ["identity_id"])
    op.create_table(
        "authorship_identities",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("author_id", sa.String(length=128), nullable=False),
        sa.Column("identity_id", sa.String(length=160), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("paper_id", "author_id", name=op.f("pk_authorship_identities")),
    )
    op.create_index(op.f("ix_authorship_identities_identity_id"), "authorship_identities", ["identity_id"])
    op.create_table(
        "author_metrics",
        sa.Column("identity_id", sa.String(length=160), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("papers", sa.Integer(), nullable=False),
        sa.Column("citations", sa.Integer(), nullable=False),
        sa.Column("h_index", sa.Integer(), nullable=False),
        sa.Column("i10_index", sa.Integer(), nullable=False),
        sa.Column("g_index", sa.Integer(), nullable=False),
        sa.Column("papers_5y", sa.Integer(), nullable=False),
        sa.Column("citations_5y", sa.Integer(), nullable=False),
        sa.Column("h_index_5y", sa.Integer(), nullable=False),
        sa.Column("i10_index_5y", sa.Integer(), nullable=False),
        sa.Column("g_index_5y", sa.Integer(), nullable=False),
        sa.Column("citations_by_year", sa.JSON(), nullable=False),
        sa.Column("novelty", sa.Float(), nullable=True),
        sa.Column("ai_score", sa.Float(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_author_metrics")),
    )
    op.create_index(op.f("ix_author_metrics_name_key"), "author_metrics", ["name_key"])
    op.create_index(op.f("ix_author_metrics_h_index"), "author_metrics", ["h_index"])
    op.create_table(
        "author_similar",
        sa.Column("identity_id", sa.String(length=160), nullable=False),
        sa.Column("similar", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_author_similar")),
    )
    op.create_table(
        "author_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_runs")),
    )


def downgrade() -> None:
    op.drop_table("author_runs")
    op.drop_table("author_similar")
    op.drop_index(op.f("ix_author_metrics_h_index"), table_name="author_metrics")
    op.drop_index(op.f("ix_author_metrics_name_key"), table_name="author_metrics")
    op.drop_table("author_metrics")
    op.drop_index(op.f("ix_authorship_identities_identity_id"), table_name="authorship_identities")
    op.drop_table("authorship_identities")
    op.drop_index(op.f("ix_author_identity_links_identity_id"), table_name="author_identity_links")
    op.drop_table("author_identity_links")
    op.drop_table("author_corrections")
