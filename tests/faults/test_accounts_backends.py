"""Login throttling, server-side sessions and the password policy on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from paperscope.services import accounts
from paperscope.store import sessions as sessions_store
from tests.conftest import BACKENDS

PASSWORD = "correct horse battery"
LIMITS = accounts.LoginLimits(free_failures=3, address_free_failures=10, max_wait=60)


def _confirmed_user(engine, email="reader@example.org"):
    result = accounts.sign_up(engine, email, PASSWORD)
    return accounts.confirm_sign_up(engine, "s", _token(result.user))


def _token(user):
    from paperscope.services.tokens import make_token

    return make_token("s", "signup", {"u": user["id"], "e": user["email_key"]})


@BACKENDS
def test_wrong_passwords_lock_the_account_with_a_growing_wait_even_for_the_right_one(engine):
    _confirmed_user(engine)
    now = datetime.now(UTC)
    for n in range(3):  # the free failures
        with pytest.raises(accounts.AccountError, match="wrong email address or password"):
            accounts.log_in(engine, "reader@example.org", f"guess {n}", "10.0.0.1", LIMITS, now)
    # Now blocked for 1 s: even the right password is refused, without being checked.
    with pytest.raises(accounts.LoginThrottled) as throttled:
        accounts.log_in(engine, "reader@example.org", PASSWORD, "10.0.0.2", LIMITS, now)
    assert throttled.value.retry_after == 1
    later = now + timedelta(seconds=2)
    with pytest.raises(accounts.AccountError, match="wrong"):
        accounts.log_in(engine, "reader@example.org", "guess 4", "10.0.0.2", LIMITS, later)
    with pytest.raises(accounts.LoginThrottled) as throttled:  # the wait doubles
        accounts.log_in(engine, "reader@example.org", PASSWORD, "10.0.0.2", LIMITS, later)
    assert throttled.value.retry_after == 2
    # After the wait the right password works and the count starts again.
    user = accounts.log_in(engine, "reader@example.org", PASSWORD, "10.0.0.2", LIMITS, later + timedelta(seconds=3))
    assert user["email"] == "reader@example.org"
    with pytest.raises(accounts.AccountError, match="wrong"):
        accounts.log_in(engine, "reader@example.org", "again", "10.0.0.2", LIMITS, later + timedelta(seconds=3))


@BACKENDS
def test_one_address_guessing_many_accounts_is_throttled(engine):
    now = datetime.now(UTC)
    for n in range(10):
        with pytest.raises(accounts.AccountError, match="wrong"):
            accounts.log_in(engine, f"user{n}@example.org", "guess", "10.9.9.9", LIMITS, now)
    with pytest.raises(accounts.LoginThrottled):
        accounts.log_in(engine, "user99@example.org", "guess", "10.9.9.9", LIMITS, now)
    # Another address is not held up.
    with pytest.raises(accounts.AccountError, match="wrong"):
        accounts.log_in(engine, "user99@example.org", "guess", "10.1.1.1", LIMITS, now)


@BACKENDS
def test_parallel_guesses_are_all_counted(engine):
    _confirmed_user(engine)

    def attempt(n: int) -> str:
        try:
            accounts.log_in(engine, "reader@example.org", f"guess {n}", f"10.0.1.{n}", LIMITS)
        except accounts.LoginThrottled:
            return "throttled"
        except accounts.AccountError:
            return "wrong"
        return "in"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    # Each attempt is counted, in one statement, before its password is checked: no count is lost
    # between parallel attempts, and only those that started before the block got a verdict.
    with engine.connect() as connection:
        row = sessions_store.get_throttle(connection, "account", "reader@example.org")
    assert row["failures"] == outcomes.count("wrong")
    assert outcomes.count("throttled") >= 16 - (LIMITS.free_failures + 8) and outcomes.count("in") == 0
    with pytest.raises(accounts.LoginThrottled):
        accounts.log_in(engine, "reader@example.org", PASSWORD, "10.0.2.1", LIMITS)


@BACKENDS
def test_sessions_end_on_logout_and_on_a_password_change(engine):
    user = _confirmed_user(engine)
    laptop, phone = accounts.start_session(engine, user), accounts.start_session(engine, user)
    assert accounts.user_for_session(engine, laptop)["id"] == user["id"]
    accounts.end_session(engine, laptop)
    assert accounts.user_for_session(engine, laptop) is None
    assert accounts.user_for_session(engine, phone) is not None
    accounts.change_password(engine, user["id"], PASSWORD, "a brand new passphrase")
    assert accounts.user_for_session(engine, phone) is None
    expired = accounts.start_session(engine, user)
    assert accounts.user_for_session(engine, expired, now=datetime.now(UTC) + accounts.SESSION_AGE) is None


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", " " * 12, "          ", "password1234", "qwertyuiop12",
                                      "reader@example.org", "1234567890123"])
def test_weak_passwords_are_refused(password):
    assert accounts.password_problem(password, "reader@example.org") is not None


@pytest.mark.parametrize("password", [PASSWORD, "Tr0ub4dour&3xyz", "paperscope reads papers at night"])
def test_strong_passwords_pass(password):
    assert accounts.password_problem(password, "reader@example.org") is None
