"""digests and accounts: users, subscriptions, digest outbox, sent papers, saved papers, upvotes

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email_key", name=op.f("uq_users_email_key")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("topic", sa.JSON(), nullable=False),
        sa.Column("topic_key", sa.String(length=64), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_window_end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_subscriptions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("email_key", "topic_key", name=op.f("uq_subscriptions_email_key_topic_key")),
    )
    op.create_index(op.f("ix_subscriptions_status"), "subscriptions", ["status"], unique=False)
    op.create_table(
        "digest_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("paper_ids", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_digest_outbox_subscription_id_subscriptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_outbox")),
        sa.UniqueConstraint("subscription_id", "period", name=op.f("uq_digest_outbox_subscription_id_period")),
    )
    op.create_index(op.f("ix_digest_outbox_status"), "digest_outbox", ["status"], unique=False)
    op.create_table(
        "digest_sent_papers",
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email_key", "paper_id", name=op.f("pk_digest_sent_papers")),
    )
    op.create_index(op.f("ix_digest_sent_papers_outbox_id"), "digest_sent_papers", ["outbox_id"], unique=False)
    op.create_table(
        "saved_papers",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_saved_papers_user_id_users")),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_saved_papers_paper_id_papers")),
        sa.PrimaryKeyConstraint("user_id", "paper_id", name=op.f("pk_saved_papers")),
    )
    op.create_table(
        "paper_upvotes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=96), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_paper_upvotes_user_id_users")),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_upvotes_paper_id_papers")),
        sa.PrimaryKeyConstraint("user_id", "paper_id", name=op.f("pk_paper_upvotes")),
    )
    op.create_index(op.f("ix_paper_upvotes_paper_id"), "paper_upvotes", ["paper_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_paper_upvotes_paper_id"), table_name="paper_upvotes")
    op.drop_table("paper_upvotes")
    op.drop_table("saved_papers")
    op.drop_index(op.f("ix_digest_sent_papers_outbox_id"), table_name="digest_sent_papers")
    op.drop_table("digest_sent_papers")
    op.drop_index(op.f("ix_digest_outbox_status"), table_name="digest_outbox")
    op.drop_table("digest_outbox")
    op.drop_index(op.f("ix_subscriptions_status"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("users")
