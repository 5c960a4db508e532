"""ingest_deferred: snapshot lines a bulk load hands to the record-by-record path at its end

Revision ID: 0100
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_deferred",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("source", "target", "seq", name="pk_ingest_deferred"),
    )


def downgrade() -> None:
    op.drop_table("ingest_deferred")
