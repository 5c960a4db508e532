"""Tables that keep accounts safe: server-side sessions and the login throttle.

A session cookie names a row here (by the hash of its secret, so a copy of the database opens no
session); logging out deletes the row, a password change deletes all of the user's rows, and every
request checks that its row still exists. The throttle counts wrong passwords per account and per
client address, in the store so every web worker sees the same counts.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table

from paperscope.store.schema import metadata

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie's random secret, hex
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index(None, "user_id"),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("scope", String(16), primary_key=True),  # "account" | "address" | "signup_mail"
    Column("key", String(254), primary_key=True),  # the address key, or the client's IP address
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True)),
)
