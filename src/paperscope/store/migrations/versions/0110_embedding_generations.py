"""embedder generations: vectors per embedder and version in files under the data dir, one active

The per-paper embedding rows are dropped: vectors are derived data, rebuilt from the papers by
`paperscope embed backfill` (or the next `paperscope score`) into the new generation's files.

Revision ID: 0110
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0110"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embedding_generations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embedding_generations")),
        sa.UniqueConstraint("embedder", "version", name=op.f("uq_embedding_generations_embedder_version")),
    )
    op.drop_table("paper_embeddings")  # its index goes with it


def downgrade() -> None:
    op.create_table(
        "paper_embeddings",
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_embeddings_paper_id_papers")),
        sa.PrimaryKeyConstraint("paper_id", "model", name=op.f("pk_paper_embeddings")),
    )
    with op.batch_alter_table("paper_embeddings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_embeddings_model_model_version"), ["model", "model_version"])
    op.drop_table("embedding_generations")
