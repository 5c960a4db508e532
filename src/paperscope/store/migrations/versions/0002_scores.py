"""scores: paper embeddings, paper scores, fitted models

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_embeddings",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_embeddings_paper_id_papers")
        ),
        sa.PrimaryKeyConstraint("paper_id", "model", name=op.f("pk_paper_embeddings")),
    )
    with op.batch_alter_table("paper_embeddings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_embeddings_model_model_version"), ["model", "model_version"], unique=False
        )

    op.create_table(
        "paper_scores",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("novelty_raw", sa.Float(), nullable=True),
        sa.Column("novelty_pct", sa.Float(), nullable=True),
        sa.Column("novelty_evidence", sa.JSON(), nullable=True),
        sa.Column("novelty_model", sa.String(length=128), nullable=True),
        sa.Column("ai_score", sa.Float(), nullable=True),
        sa.Column("ai_linear", sa.Float(), nullable=True),
        sa.Column("ai_explanation", sa.JSON(), nullable=True),
        sa.Column("ai_model_id", sa.Integer(), nullable=True),
        sa.Column("predicted_category", sa.String(length=32), nullable=True),
        sa.Column("category_confidence", sa.Float(), nullable=True),
        sa.Column("category_model_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_scores_paper_id_papers")),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_scores")),
    )

    op.create_table(
        "model_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_runs")),
    )
    with op.batch_alter_table("model_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_runs_kind_name_created_at"), ["kind", "name", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("model_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_runs_kind_name_created_at"))
    op.drop_table("model_runs")
    op.drop_table("paper_scores")
    with op.batch_alter_table("paper_embeddings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_embeddings_model_model_version"))
    op.drop_table("paper_embeddings")
