"""Signed, expiring tokens for the links in emails (confirm, unsubscribe, preferences) and the
session cookie: itsdangerous timed serializers, one salt per purpose, so a token made for one
purpose never passes for another."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

DAY = 24 * 3600
MAX_AGE = {
    "confirm": 7 * DAY,
    "signup": 2 * DAY,
    "unsubscribe": 365 * DAY,  # an old digest's unsubscribe link keeps working for a year
    "preferences": 30 * DAY,
    "session": 30 * DAY,
}
SECRET_FILE = "secret_key"


class TokenError(ValueError):
    """A link or cookie whose token is forged, damaged, for another purpose, or expired."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def resolve_secret(configured: str | None, data_dir: Path) -> str:
    """The configured secret, else one generated once and kept in <data_dir>/secret_key (mode 0600),
    so that the CLI (which signs the links in emails) and the web app (which checks them) agree."""
    if configured:
        return configured
    path = data_dir / SECRET_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return value


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"paperscope-{purpose}")


def make_token(secret: str, purpose: str, payload: Any) -> str:
    return _serializer(secret, purpose).dumps(payload)


def read_token(secret: str, purpose: str, token: str | None, max_age: int | None = None) -> Any:
    if not token or len(token) > 1000:
        raise TokenError(f"the {purpose} link is incomplete: copy the whole link from the email")
    try:
        return _serializer(secret, purpose).loads(token, max_age=max_age or MAX_AGE[purpose])
    except SignatureExpired:
        raise TokenError(f"the {purpose} link has expired", expired=True) from None
    except BadSignature:
        raise TokenError(f"the {purpose} link is not valid (damaged or not made by this paperscope)") from None
