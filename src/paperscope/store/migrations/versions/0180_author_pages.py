"""author_pages: the stored parts of an author's page (co-authors, organisations, card order)

Revision ID: 0180
Revises: 0101
"""

import sqlalchemy as sa
from alembic import op

revision = "0180"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "author_pages",
        sa.Column("identity_id", sa.String(160), primary_key=True),
        sa.Column("metrics_at", sa.String(40), nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("author_pages")
