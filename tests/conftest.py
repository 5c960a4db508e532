"""Shared test fixtures: where ../shared is, and a per-test store on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository; tests that need it skip with the reason when it is absent."""
    if not (SHARED / "fixtures").is_dir():
        pytest.skip(f"../shared/fixtures not found at {SHARED}: recorded source responses unavailable")
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


@pytest.fixture(scope="session")
def listings_dir(shared_dir: Path) -> Path:
    path = shared_dir / "listings"
    if not path.is_dir():
        pytest.skip(f"../shared/listings not found at {path}")
    return path
