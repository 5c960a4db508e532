"""indexes the list pages read through: papers.featured_on (the Daily Papers window and its newest
day), observations.observed_at (papers observed lately, for trending) and paper_upvotes.created_at
(papers upvoted lately)

Revision ID: 0120
Revises: 0101
"""

from alembic import op

revision = "0120"
down_revision = "0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_featured_on", "papers", ["featured_on"])
    op.create_index("ix_observations_observed_at", "observations", ["observed_at"])
    op.create_index("ix_paper_upvotes_created_at", "paper_upvotes", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_paper_upvotes_created_at", table_name="paper_upvotes")
    op.drop_index("ix_observations_observed_at", table_name="observations")
    op.drop_index("ix_papers_featured_on", table_name="papers")
