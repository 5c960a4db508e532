"""Tables of subscriptions and email digests, and of accounts and their library.

A digest goes through the outbox: it is built (papers chosen, message rendered) and stored with its
key (subscription, period) before any SMTP conversation, then sent and marked. The key makes building
idempotent; the outbox status makes sending resumable. `digest_sent_papers` is the promise "never the
same paper twice to the same address", written in the same transaction as the outbox row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from paperscope.store.schema import metadata

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),  # as validated (domain normalised)
    Column("email_key", String(254), nullable=False, unique=True),  # lower-cased: one account per address
    Column("password_hash", Text, nullable=False),  # argon2id, PHC string
    Column("session_version", Integer, nullable=False),  # bumped to end every session (password change)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),  # the sign-up link was followed (None: not yet)
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False),
    # {"trending": bool, "query": str | None, "categories": [tag], "authors": [id or name]}
    Column("topic", JSON, nullable=False),
    Column("topic_key", String(64), nullable=False),  # sha256 of the canonical topic
    Column("frequency", String(8), nullable=False),  # daily | weekly
    Column("status", String(16), nullable=False),  # pending | active | unsubscribed
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("confirm_sent_at", DateTime(timezone=True)),  # the last confirmation email
    Column("unsubscribed_at", DateTime(timezone=True)),
    Column("last_window_end", Date),  # the last day covered by a digest built for it
    UniqueConstraint("email_key", "topic_key"),
    Index(None, "status"),
)

digest_outbox = Table(
    "digest_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("subscriptions.id"), nullable=False),
    Column("period", String(16), nullable=False),  # D2026-11-25 (daily) | W2026-48 (weekly)
    Column("email_key", String(254), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | sent | empty | cancelled | failed
    Column("claimed_at", DateTime(timezone=True)),  # when a run took it for sending
    Column("message_id", String(255)),
    Column("message", LargeBinary),  # the whole RFC 5322 message, as sent
    Column("paper_ids", JSON, nullable=False),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("subscription_id", "period"),  # the idempotency key of building
    Index(None, "status"),
)

digest_sent_papers = Table(
    "digest_sent_papers",
    metadata,
    Column("email_key", String(254), primary_key=True),
    Column("paper_id", String(96), primary_key=True),
    Column("outbox_id", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "outbox_id"),
)

saved_papers = Table(
    "saved_papers",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

paper_upvotes = Table(
    "paper_upvotes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("paper_id", String(96), ForeignKey("papers.id"), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "paper_id"),
    Index(None, "created_at"),  # papers upvoted lately, for trending (migration 0120)
)
