"""A store loaded with every listing and recorded fixture, once per module and backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from paperscope.ingest.pipeline import RunSummary, run_ingest
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from tests.conftest import fresh_database


def ingest_everything(engine: Engine, shared: Path) -> list[RunSummary]:
    return [
        run_ingest(engine, plan.source, plan.target, plan.batches)
        for plan in listing_plans(shared) + fixture_plans(shared)
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Engine, list[RunSummary]]]:
    with fresh_database(request.param, tmp_path_factory.mktemp("store")) as url:
        engine = open_engine(url)
        upgrade(engine)
        summaries = ingest_everything(engine, shared_dir)
        yield engine, summaries
        engine.dispose()
