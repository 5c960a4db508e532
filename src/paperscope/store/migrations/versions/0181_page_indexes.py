"""indexes two pages read through: papers (featured_on, published), so the Daily Papers window of
papers no daily list featured is a range (featured_on IS NULL, published between) rather than a
walk of every unfeatured paper; papers.updated_at, so "papers written since the profiles were
computed" on an author's page reads only those papers

Revision ID: 0181
Revises: 0120
"""

from alembic import op

revision = "0181"
down_revision = "0120"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_papers_featured_on", table_name="papers")
    op.create_index("ix_papers_featured_on_published", "papers", ["featured_on", "published"])
    op.create_index("ix_papers_updated_at", "papers", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_papers_updated_at", table_name="papers")
    op.drop_index("ix_papers_featured_on_published", table_name="papers")
    op.create_index("ix_papers_featured_on", "papers", ["featured_on"])
