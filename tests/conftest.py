"""Shared test fixtures: where ../shared is, and a per-test store on each backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository; tests that need it skip with the reason when it is absent."""
    if not (SHARED / "fixtures").is_dir():
        reason = f"../shared/fixtures not found at {SHARED}: recorded source responses unavailable"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run the tests that read them)")
        pytest.skip(reason)
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


@pytest.fixture(scope="session")
def listings_dir(shared_dir: Path) -> Path:
    path = shared_dir / "listings"
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"../shared/listings not found at {path} (CI must run the tests that read them)")
        pytest.skip(f"../shared/listings not found at {path}")
    return path


# --- stores -------------------------------------------------------------------------------------
# Every store test runs on SQLite and on PostgreSQL. The PostgreSQL server is named by
# PAPERSCOPE_TEST_POSTGRES_URL (an admin URL, e.g. postgresql+psycopg://postgres@localhost/postgres);
# .ci/run installs and starts one. Each test gets a database of its own, dropped afterwards.

import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from paperscope.store.engine import open_engine  # noqa: E402
from paperscope.store.migrate import upgrade  # noqa: E402

POSTGRES_ENV = "PAPERSCOPE_TEST_POSTGRES_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _require_postgres() -> str:
    url = postgres_admin_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set in CI: the PostgreSQL backend must be tested")
        pytest.skip(f"{POSTGRES_ENV} not set: no PostgreSQL server to test against")
    return url


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A new empty database on `backend` ("sqlite" in `folder`, or "postgres"), dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'paperscope.db'}"
        return
    admin_url = _require_postgres()
    name = f"ps_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on the backend named by the test's `backend` parameter."""
    with fresh_database(getattr(request, "param", "sqlite"), tmp_path) as url:
        yield url


BACKENDS = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated store on the test's backend (SQLite unless parametrised with BACKENDS)."""
    store = open_engine(database_url)
    upgrade(store)
    yield store
    store.dispose()
