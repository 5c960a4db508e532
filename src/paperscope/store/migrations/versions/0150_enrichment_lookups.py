"""enrichment_lookups: which paper was looked up in which source, when, and with what outcome

Revision ID: 0150
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0150"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrichment_lookups",
        sa.Column("paper_id", sa.String(96), sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("matched_by", sa.String(16), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("enrichment_lookups")
