"""Accounts and their library: sign-up and login (argon2id password hashes), sessions as signed
cookies, saved papers and upvotes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from paperscope.services.browse import list_card
from paperscope.services.mailer import InvalidAddress, address_key, validate_address
from paperscope.services.papers import paper_view
from paperscope.services.scores import score_fields
from paperscope.services.tokens import TokenError, make_token, read_token
from paperscope.store import browse as browse_store
from paperscope.store import queries
from paperscope.store import users as store

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_hasher = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
_DUMMY = _hasher.hash("paperscope: no such account")


class AccountError(ValueError):
    """A sign-up or login that cannot go through, with the reason for people."""


def _now() -> datetime:
    return datetime.now(UTC)


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "email": user["email"]}


def sign_up(engine: Engine, email: str, password: str) -> dict[str, Any]:
    try:
        address = validate_address(email)
    except InvalidAddress as exc:
        raise AccountError(str(exc)) from None
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")
    values = {"email": address, "email_key": address_key(address), "password_hash": _hasher.hash(password),
              "session_version": 1, "created_at": _now()}
    with engine.begin() as connection:
        user_id = store.insert_user(connection, values)
        if user_id is None:
            raise AccountError("an account with this address exists already: log in instead")
        return store.get_user(connection, user_id)  # type: ignore[return-value]


def log_in(engine: Engine, email: str, password: str) -> dict[str, Any]:
    """The user, or AccountError with the same message whether the address or the password is wrong."""
    wrong = AccountError("wrong email address or password")
    with engine.connect() as connection:
        user = store.get_user_by_email(connection, address_key(email or ""))
    if user is None:
        try:
            _hasher.verify(_DUMMY, password or "")  # the same work as a real check: no timing tell
        except VerificationError:
            pass
        raise wrong
    try:
        _hasher.verify(user["password_hash"], password or "")
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if _hasher.check_needs_rehash(user["password_hash"]):
        with engine.begin() as connection:
            store.update_user(connection, user["id"], password_hash=_hasher.hash(password))
    return user


def session_token(secret: str, user: dict[str, Any]) -> str:
    return make_token(secret, "session", {"u": user["id"], "v": user["session_version"]})


def user_for_session(engine: Engine, secret: str, token: str | None) -> dict[str, Any] | None:
    """The logged-in user of a session cookie; None when absent, forged, expired or ended."""
    if not token:
        return None
    try:
        payload = read_token(secret, "session", token)
    except TokenError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    with engine.connect() as connection:
        user = store.get_user(connection, payload["u"])
    if user is None or user["session_version"] != payload.get("v"):
        return None
    return user


def end_all_sessions(engine: Engine, user_id: int) -> None:
    with engine.begin() as connection:
        user = store.get_user(connection, user_id)
        if user:
            store.update_user(connection, user_id, session_version=user["session_version"] + 1)


# --- library ------------------------------------------------------------------------------------


def _paper_id(engine: Engine, ref: str) -> str:
    with engine.connect() as connection:
        row = queries.find_paper(connection, ref) if ref else None
    if row is None:
        raise LookupError(f"no paper with id {ref!r} in the store")
    return row["id"]


def save(engine: Engine, user_id: int, ref: str, saved: bool = True) -> str:
    """Saves (or, saved=False, removes) a paper in the user's library; returns its id."""
    pid = _paper_id(engine, ref)
    with engine.begin() as connection:
        if saved:
            store.save_paper(connection, user_id, pid, _now())
        else:
            store.unsave_paper(connection, user_id, pid)
    return pid


def toggle_upvote(engine: Engine, user_id: int, ref: str) -> tuple[str, bool]:
    pid = _paper_id(engine, ref)
    with engine.begin() as connection:
        return pid, store.toggle_upvote(connection, user_id, pid, _now())


def saved_ids(engine: Engine, user_id: int) -> list[str]:
    with engine.connect() as connection:
        return store.saved_ids(connection, user_id)


def cards(engine: Engine, paper_ids: list[str], today: date | None = None,
          user_id: int | None = None) -> list[dict[str, Any]]:
    """Paper cards (the web's list shape) in the order of `paper_ids`, with this paperscope's own
    upvotes (`local_upvotes`) and, for a user, whether they saved and upvoted each."""
    today = today or _now().date()
    with engine.connect() as connection:
        rows = browse_store.papers_by_ids(connection, paper_ids)
        identities = browse_store.authorship_identities(connection, [a for r in rows for a in r["authorships"]])
        local = store.upvote_counts(connection, paper_ids)
        mine = store.upvoted_ids(connection, user_id, paper_ids) if user_id else set()
        saved = set(store.saved_ids(connection, user_id)) if user_id else set()
    scores = score_fields(engine, [r["id"] for r in rows]) if rows else {}
    out = []
    for r in rows:
        card = list_card(paper_view(r), r["authorships"], identities, scores[r["id"]]["ai_score"], today)
        card.update(local_upvotes=local.get(r["id"], 0), upvoted=r["id"] in mine, saved=r["id"] in saved)
        out.append(card)
    return out


def library(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    return cards(engine, saved_ids(engine, user_id), user_id=user_id)
