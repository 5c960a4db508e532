"""indexes for the category, organisation and venue pages: an organisation's papers, a venue's papers (on a prefix)

Revision ID: 0151
Revises: 0150
"""

import sqlalchemy as sa
from alembic import op

revision = "0151"
down_revision = "0150"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_paper_organisations_org_id", "paper_organisations", ["org_id"])
    # On a prefix of the venue: PostgreSQL refuses btree entries over ~2.7 kB (schema.venue_prefix).
    op.create_index("ix_papers_venue_prefix", "papers", [sa.text("substr(venue, 1, 200)")])


def downgrade() -> None:
    op.drop_index("ix_papers_venue_prefix", table_name="papers")
    op.drop_index("ix_paper_organisations_org_id", table_name="paper_organisations")
