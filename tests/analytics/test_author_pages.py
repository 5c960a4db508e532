"""An author's page parts (co-authors, organisations, card order) are stored by the profile step for
prolific identities: the page reads them instead of every paper, shows what a live build shows, and
stops using them as soon as the identity's metrics change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

from paperscope.cli.app import app
from paperscope.core.settings import load_settings
from paperscope.services import authors
from paperscope.services.store import open_store
from paperscope.store.authors_schema import author_pages
from tests.conftest import BACKENDS

BO_HAN = "name:bo-han"


@pytest.fixture
def engine(tmp_path: Path, database_url: str, listings_dir: Path) -> Any:
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url}
    for name in ("author-bo-han.txt", "author-li-shen.txt"):
        result = CliRunner().invoke(app, ["ingest", "listing", str(listings_dir / name), "--as-of", "2026-11-30"],
                                    env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    store = open_store(load_settings(env))
    yield store
    store.dispose()


def _statements(engine: Any, call: Any) -> tuple[Any, list[str]]:
    seen: list[str] = []

    def listen(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", listen)
    try:
        return call(), seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


@BACKENDS
def test_stored_parts_show_what_a_live_build_shows(engine: Any) -> None:
    live = {sort: authors.get_author_profile(engine, BO_HAN, sort=sort) for sort in authors.SORTS}
    assert authors.store_page_parts(engine, min_papers=10) >= 2  # Bo Han and Li Shen at least
    assert authors.store_page_parts(engine, min_papers=10) == 0  # nothing stale: nothing rebuilt
    for sort in authors.SORTS:
        stored, statements = _statements(engine, lambda s=sort: authors.get_author_profile(engine, BO_HAN, sort=s))
        assert stored == live[sort]
        # The stored page reads no co-author's authorships: not one query over the author's papers' authors.
        assert not any("FROM authorships" in q and "paper_id IN" in q for q in statements), sort
    profile = live["date"]
    assert profile["coauthors"] and profile["orgs"] and len(profile["paper_ids"]) == profile["papers"]


@BACKENDS
def test_parts_built_with_other_metrics_are_not_used(engine: Any) -> None:
    authors.store_page_parts(engine, min_papers=10)
    with engine.begin() as connection:  # stored parts that would show another author's co-authors
        connection.execute(author_pages.update().values(parts={
            "coauthors": [["name:nobody", "Nobody", 99]], "orgs": [], "order": {"date": [], "citations": []},
            "split": []}))
    assert authors.get_author_profile(engine, BO_HAN)["coauthors"][0]["id"] == "name:nobody"
    authors.recompute(engine, similar=False)  # new metrics: the old parts (still stored) no longer apply
    rebuilt = authors.get_author_profile(engine, BO_HAN)
    assert rebuilt["coauthors"][0]["id"] != "name:nobody" and rebuilt["paper_ids"]
