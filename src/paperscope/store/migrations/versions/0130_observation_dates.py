"""observations: whether observed_at is the source's own date for the counts or the ingest time

Revision ID: 0130
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0130"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dated_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_column("dated_by")
