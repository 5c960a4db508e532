"""accounts: server-side sessions, the login throttle, and confirmed sign-ups

Revision ID: 0140
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0140"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "login_throttle",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(254), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    # Accounts made before sign-ups were confirmed by email were usable at once: they stay so.
    op.execute("UPDATE users SET confirmed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("confirmed_at")
    op.drop_table("login_throttle")
    op.drop_index("ix_sessions_user_id", "sessions")
    op.drop_table("sessions")
