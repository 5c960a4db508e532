"""Accounts and their library: sign-up confirmed by email (the answer never tells whether an address
has an account), login (argon2id hashes, throttled per account and per address), server-side
sessions that logout and a password change end, saved papers and upvotes. docs/security.md."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from zxcvbn import zxcvbn

from paperscope.core.settings import Settings
from paperscope.services.cards import Card, build_cards
from paperscope.services.mailer import (
    InvalidAddress,
    MailSettings,
    Transport,
    address_key,
    compose,
    validate_address,
)
from paperscope.services.tokens import MAX_AGE, TokenError, make_token, read_token
from paperscope.store import queries
from paperscope.store import sessions as sessions_store
from paperscope.store import users as store

MIN_PASSWORD = 12  # OWASP ASVS 4.0 level 1, 2.1.1
MAX_PASSWORD = 1024
MIN_STRENGTH = 3  # zxcvbn's "safely unguessable" (0-4): rejects common passwords, repeats, keyboard runs
STRENGTH_CHECKED = 64  # zxcvbn's work grows with length; a longer password is checked on its start
SESSION_AGE = timedelta(seconds=MAX_AGE["session"])
FAILURES_FORGOTTEN = timedelta(days=1)  # wrong passwords older than this no longer count
SIGNUP_MAIL_INTERVAL = timedelta(minutes=10)  # one sign-up email per address in this time at most
_hasher = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
_DUMMY = _hasher.hash("paperscope: no such account")


class AccountError(ValueError):
    """A sign-up or login that cannot go through, with the reason for people."""


class LoginThrottled(AccountError):
    """Too many wrong passwords for this account or from this address: retry after `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimits:
    """How many wrong passwords are free, per account and per client address, and the longest wait."""

    free_failures: int = 5
    address_free_failures: int = 20
    max_wait: int = 900

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(settings.login_free_failures, settings.login_address_free_failures, settings.login_max_wait)

    def wait(self, failures: int, free: int) -> int:
        """Seconds the next attempt must wait after `failures` wrong passwords: 0 while fewer than
        `free`, then 1, 2, 4, ... up to max_wait."""
        if failures < free:
            return 0
        return min(self.max_wait, 2 ** min(failures - free, 30))


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def public_user(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "email": user["email"]}


def password_problem(password: Any, email: str = "") -> str | None:
    """Why this password may not be used (too short, too long, too easy to guess), or None."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return f"the password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"the password may have at most {MAX_PASSWORD} characters"
    local = email.split("@")[0]
    result = zxcvbn(password[:STRENGTH_CHECKED], user_inputs=[v for v in (email, local, "paperscope") if v])
    if result["score"] < MIN_STRENGTH:
        why = result["feedback"].get("warning") or "it is built from common words or patterns"
        return f"the password is too easy to guess ({why.rstrip('.')}): try a longer phrase of unrelated words"
    return None


@dataclass
class SignUp:
    """A sign-up: the account it made (`created`), or the one the address had already."""

    user: dict[str, Any]
    created: bool


def sign_up(engine: Engine, email: str, password: str, now: datetime | None = None) -> SignUp:
    """Make an unconfirmed account, or find the address's account. The caller answers the same in
    both cases and sends the mail (`send_sign_up_mail`): the page never tells who has an account."""
    try:
        address = validate_address(email)
    except InvalidAddress as exc:
        raise AccountError(str(exc)) from None
    problem = password_problem(password, address)
    if problem:
        raise AccountError(problem)
    values = {"email": address, "email_key": address_key(address), "password_hash": _hasher.hash(password),
              "session_version": 1, "created_at": now or _now(), "confirmed_at": None}
    with engine.begin() as connection:
        user_id = store.insert_user(connection, values)
        if user_id is None:
            return SignUp(store.get_user_by_email(connection, values["email_key"]), False)  # type: ignore[arg-type]
        return SignUp(store.get_user(connection, user_id), True)  # type: ignore[arg-type]


def send_sign_up_mail(engine: Engine, mail: MailSettings, signup: SignUp, transport: Transport,
                      now: datetime | None = None) -> bool:
    """The sign-up email: a confirm link for a new account, "you already have an account" for an
    existing one. At most one per address per SIGNUP_MAIL_INTERVAL (False: none sent). Raises MailError."""
    now = now or _now()
    user = signup.user
    with engine.begin() as connection:
        last = sessions_store.get_throttle(connection, "signup_mail", user["email_key"])
        if last and now - _aware(last["last_failure_at"]) < SIGNUP_MAIL_INTERVAL:  # type: ignore[operator]
            return False
        sessions_store.clear_throttle(connection, "signup_mail", user["email_key"])
        sessions_store.count_failure(connection, "signup_mail", user["email_key"], now, now)
    confirmed = user.get("confirmed_at") is not None
    if signup.created or not confirmed:
        token = make_token(mail.secret_key, "signup", {"u": user["id"], "e": user["email_key"]})
        subject = "Confirm your paperscope account"
        text = (f"Someone, probably you, signed up to paperscope with {user['email']}.\n\n"
                f"Follow this link to confirm the address and log in:\n{mail.url('/signup/confirm', token=token)}\n\n"
                "If it was not you, ignore this email: nothing happens without the link.\n")
    else:
        subject = "You already have a paperscope account"
        text = (f"Someone, probably you, tried to sign up to paperscope with {user['email']}, "
                "but you already have an account with this address.\n\n"
                f"Log in here: {mail.url('/login')}\n\n"
                "If it was not you, ignore this email: your account is unchanged.\n")
    html = "".join(f"<p>{escape(part)}</p>" for part in text.strip().split("\n\n"))
    message = compose(mail, user["email"], subject, text, html, f"signup.{user['id']}.{now.strftime('%Y%m%d%H%M%S%f')}")
    with transport as t:
        t.send(mail.from_address, user["email"], message, f"signup-{user['id']}-{now.timestamp()}")
    return True


def confirm_sign_up(engine: Engine, secret: str, token: str | None, now: datetime | None = None) -> dict[str, Any]:
    """The account a sign-up link confirms (confirmed now if it was not). Raises TokenError."""
    payload = read_token(secret, "signup", token or "")
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise TokenError("this sign-up link is not valid")
    with engine.begin() as connection:
        user = store.get_user(connection, payload["u"])
        if user is None or user["email_key"] != payload.get("e"):
            raise TokenError("this sign-up link is for an account that no longer exists")
        if user["confirmed_at"] is None:
            user["confirmed_at"] = now or _now()
            store.update_user(connection, user["id"], confirmed_at=user["confirmed_at"])
    return user


def _throttle_keys(email: str, client: str | None) -> list[tuple[str, str]]:
    return [("account", address_key(email or "")[:254]), ("address", (client or "unknown")[:254])]


def check_throttle(engine: Engine, email: str, client: str | None, now: datetime | None = None) -> None:
    """Raises LoginThrottled when this account or this address must wait before another attempt."""
    now = now or _now()
    waits = []
    with engine.connect() as connection:
        for scope, key in _throttle_keys(email, client):
            row = sessions_store.get_throttle(connection, scope, key)
            until = _aware(row["blocked_until"]) if row else None
            if until is not None and until > now:
                waits.append(math.ceil((until - now).total_seconds()))
    if waits:
        raise LoginThrottled(max(waits))


def log_in(engine: Engine, email: str, password: str, client: str | None = None,
           limits: LoginLimits | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The user, or AccountError with the same message whether the address or the password is wrong.

    Throttled per account and per client address: the attempt counts as a failure *before* the
    password is checked (so parallel guesses are all counted), and is taken back when it succeeds.
    Raises LoginThrottled, without checking the password, while either must wait.
    """
    limits = limits or LoginLimits()
    answered = (lambda: now) if now is not None else _now  # when a wrong password is answered
    now = now or _now()
    check_throttle(engine, email, client, now)
    keys = _throttle_keys(email, client)
    with engine.begin() as connection:
        for (scope, key), free in zip(keys, (limits.free_failures, limits.address_free_failures), strict=True):
            failures = sessions_store.count_failure(connection, scope, key, now, now - FAILURES_FORGOTTEN)
            wait = limits.wait(failures, free)
            sessions_store.block_until(connection, scope, key, now + timedelta(seconds=wait) if wait else None)
        user = store.get_user_by_email(connection, keys[0][1])
    wrong = AccountError("wrong email address or password")
    if user is None:
        try:
            _hasher.verify(_DUMMY, password or "")  # the same work as a real check: no timing tell
        except VerificationError:
            pass
        _restart_waits(engine, keys, limits, answered())
        raise wrong
    try:
        _hasher.verify(user["password_hash"], password or "")
    except (VerificationError, InvalidHashError):
        _restart_waits(engine, keys, limits, answered())
        raise wrong from None
    with engine.begin() as connection:
        sessions_store.clear_throttle(connection, *keys[0])
        sessions_store.take_back_failure(connection, *keys[1], limits.address_free_failures, limits.wait, now)
        if _hasher.check_needs_rehash(user["password_hash"]):
            store.update_user(connection, user["id"], password_hash=_hasher.hash(password))
    if user["confirmed_at"] is None:
        raise AccountError("this account is not confirmed yet: follow the link in the email we sent "
                           "(sign up again to get a new one)")
    return user


def _restart_waits(engine: Engine, keys: list[tuple[str, str]], limits: LoginLimits, now: datetime) -> None:
    """A wrong password's wait runs from its answer, not from when the attempt was counted (the
    password check itself takes a good part of a second)."""
    with engine.begin() as connection:
        for (scope, key), free in zip(keys, (limits.free_failures, limits.address_free_failures), strict=True):
            row = sessions_store.get_throttle(connection, scope, key)
            wait = limits.wait(row["failures"], free) if row else 0
            until = _aware(row["blocked_until"]) if row else None
            if wait and until is not None and until < now + timedelta(seconds=wait):
                sessions_store.block_until(connection, scope, key, now + timedelta(seconds=wait))


# --- sessions: a random secret in the cookie, its hash in the store -------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(engine: Engine, user: dict[str, Any], now: datetime | None = None) -> str:
    """A new session of this user; returns the cookie value (a random secret kept only as a hash)."""
    now = now or _now()
    secret = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        sessions_store.insert_session(connection, _hash(secret), user["id"], now, now + SESSION_AGE)
    return secret


def user_for_session(engine: Engine, cookie: str | None, now: datetime | None = None) -> dict[str, Any] | None:
    """The logged-in user of a session cookie; None when absent, unknown, expired or ended."""
    if not cookie or len(cookie) > 128:
        return None
    now = now or _now()
    with engine.connect() as connection:
        session = sessions_store.get_session(connection, _hash(cookie))
        if session is None or _aware(session["expires_at"]) <= now:  # type: ignore[operator]
            return None
        user = store.get_user(connection, session["user_id"])
    return user if user is not None and user["confirmed_at"] is not None else None


def end_session(engine: Engine, cookie: str | None) -> None:
    """Log out: this session ends on the server, whatever happens to the cookie."""
    if cookie and len(cookie) <= 128:
        with engine.begin() as connection:
            sessions_store.delete_session(connection, _hash(cookie))


def end_all_sessions(engine: Engine, user_id: int) -> int:
    """End every session of the user (a password change, "log out everywhere"); returns how many."""
    with engine.begin() as connection:
        ended = sessions_store.delete_user_sessions(connection, user_id)
        user = store.get_user(connection, user_id)
        if user:
            store.update_user(connection, user_id, session_version=user["session_version"] + 1)
    return ended


def change_password(engine: Engine, user_id: int, current: str, new: str) -> dict[str, Any]:
    """Set a new password after checking the current one; every session of the user ends."""
    with engine.connect() as connection:
        user = store.get_user(connection, user_id)
    if user is None:
        raise AccountError("no such account")
    try:
        _hasher.verify(user["password_hash"], current or "")
    except (VerificationError, InvalidHashError):
        raise AccountError("the current password is wrong") from None
    problem = password_problem(new, user["email"])
    if problem:
        raise AccountError(problem)
    with engine.begin() as connection:
        store.update_user(connection, user_id, password_hash=_hasher.hash(new))
    end_all_sessions(engine, user_id)
    return user


# --- library ------------------------------------------------------------------------------------


def find_paper_id(engine: Engine, ref: str) -> str | None:
    """The id of the paper `ref` names (an id, a bare arXiv id or DOI), or None."""
    with engine.connect() as connection:
        row = queries.find_paper(connection, ref) if ref else None
    return row["id"] if row else None


def _paper_id(engine: Engine, ref: str) -> str:
    found = find_paper_id(engine, ref)
    if found is None:
        raise LookupError(f"no paper with id {ref!r} in the store")
    return found


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


def set_upvote(engine: Engine, user_id: int, ref: str, on: bool) -> str:
    """Upvotes (or, on=False, takes back the upvote of) a paper; idempotent. Returns its id."""
    pid = _paper_id(engine, ref)
    with engine.begin() as connection:
        store.set_upvote(connection, user_id, pid, on, _now())
    return pid


def marks(engine: Engine, user_id: int, paper_id: str) -> dict[str, Any]:
    """What a card's Save and Upvote controls show for this reader and paper."""
    with engine.connect() as connection:
        saved = paper_id in set(store.saved_ids(connection, user_id))
        upvoted = paper_id in store.upvoted_ids(connection, user_id, [paper_id])
        count = store.upvote_counts(connection, [paper_id]).get(paper_id, 0)
    return {"paper_id": paper_id, "saved": saved, "upvoted": upvoted, "local_upvotes": count}


def marked_cards(engine: Engine, user_id: int, paper_ids: list[str]) -> list[dict[str, Any]]:
    """The papers' cards (as JSON) with the reader's marks on each: saved, upvoted, local upvotes."""
    shown = build_cards(engine, paper_ids, _now().date())
    with engine.connect() as connection:
        saved = set(store.saved_ids(connection, user_id))
        voted = store.upvoted_ids(connection, user_id, paper_ids)
        counts = store.upvote_counts(connection, paper_ids)
    return [{**card.as_dict(), "saved": card.id in saved, "upvoted": card.id in voted,
             "local_upvotes": counts.get(card.id, 0)} for card in shown]


def upvoted(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The cards of the papers the reader upvoted, most recent first, with the reader's marks."""
    with engine.connect() as connection:
        ids = store.user_upvoted_ids(connection, user_id)
    return marked_cards(engine, user_id, ids)


def saved_ids(engine: Engine, user_id: int) -> list[str]:
    with engine.connect() as connection:
        return store.saved_ids(connection, user_id)


def library(engine: Engine, user_id: int, today: date | None = None) -> list[Card]:
    """The reader's saved papers as cards (the Save/Upvote state is the page's `LibraryMarks`)."""
    return build_cards(engine, saved_ids(engine, user_id), today or _now().date())
