"""The kept integer snapshot of author profiles, on SQLite and PostgreSQL: runs on it write exactly
what runs reading the store write, the daily patch redoes only the touched identities, and a
snapshot that disagrees with the store is read again rather than trusted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, delete, select

from paperscope.analytics.author_snapshot import AuthorSnapshot
from paperscope.analytics.authors import build_paper_table, recompute_authors
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services.authors import get_author_profile
from paperscope.services.demo import fixture_plans
from paperscope.store import authors as store
from paperscope.store import schema
from paperscope.store.authors_schema import author_metrics
from tests.conftest import BACKENDS

TODAY = date(2026, 11, 30)
COLUMNS = [c for c in author_metrics.c if c.name != "computed_at"]


def _metrics(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as connection:
        return {r[0]: tuple(r) for r in connection.execute(select(*COLUMNS))}


def _ingest_fixtures(engine: Engine, shared_dir: Path) -> None:
    for plan in fixture_plans(shared_dir):
        run_ingest(engine, plan.source, plan.target, plan.batches)


@BACKENDS
def test_snapshot_runs_write_what_reading_runs_write(engine: Engine, shared_dir: Path, tmp_path: Path) -> None:
    _ingest_fixtures(engine, shared_dir)
    recompute_authors(engine, today=TODAY)
    read = _metrics(engine)
    assert get_author_profile(engine, "A. Turing", today=TODAY)["h_index"] == 23

    folder = tmp_path / "authors"
    full = recompute_authors(engine, today=TODAY, snapshot_folder=folder)
    assert full.mode == "full" and (folder / "snapshot.npz").is_file()
    assert _metrics(engine) == read
    kept = recompute_authors(engine, today=TODAY, resolve=False, snapshot_folder=folder)
    assert kept.mode == "metrics" and "load snapshot" in kept.timings and "read" not in kept.timings
    assert _metrics(engine) == read
    assert get_author_profile(engine, "A. Turing", today=TODAY)["h_index"] == 23


def test_the_snapshot_codes_citations_as_the_store_reads_do(engine: Engine, shared_dir: Path) -> None:
    _ingest_fixtures(engine, shared_dir)
    with engine.connect() as connection:
        papers, edges = store.load_papers(connection), store.load_edges(connection)
        yearly, scores = store.load_citation_counts(connection), store.load_paper_scores(connection)
        authors, authorships = store.load_authors(connection), store.load_authorships(connection)
    assert edges and yearly  # the fixtures hold in-store citations and per-year counts
    table = build_paper_table(papers, edges, yearly, scores)
    snap = AuthorSnapshot.from_rows(papers, authorships, authors, edges, yearly, scores)
    cites, (yp, yy, yc) = snap.citations()
    assert snap.paper_ids == table.ids
    assert cites.tolist() == table.cites.tolist()
    assert sorted(zip(yp.tolist(), yy.tolist(), yc.tolist(), strict=True)) == sorted(
        zip(*(a.tolist() for a in table.year_rows), strict=True))
    with engine.connect() as connection:
        assert snap.counts() == store.snapshot_counts(connection)


@BACKENDS
def test_the_daily_patch_redoes_the_touched_identities_and_matches_a_full_run(
    engine: Engine, listings_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "authors"
    plan = files_plan("listing", [listings_dir / "author-bo-han.txt"], as_of=TODAY)
    run_ingest(engine, plan.source, plan.target, plan.batches)
    full = recompute_authors(engine, today=TODAY, snapshot_folder=folder)
    stamps = select(author_metrics.c.identity_id, author_metrics.c.computed_at)
    with engine.connect() as connection:
        before = dict(connection.execute(stamps).all())

    plan = files_plan("listing", [listings_dir / "author-li-shen.txt"], as_of=TODAY)
    run_ingest(engine, plan.source, plan.target, plan.batches)
    step = recompute_authors(engine, incremental=True, today=TODAY, snapshot_folder=folder)
    assert step.mode == "incremental" and 0 < step.identities < full.identities + 200
    assert "read" not in step.timings  # patched, not read whole
    with engine.connect() as connection:
        after = dict(connection.execute(stamps).all())
    assert after["name:jiangchao-yao"] == before["name:jiangchao-yao"]  # not on the new page: untouched
    assert "name:yan-sun" in after and "name:yan-sun" not in before
    partial = _metrics(engine)
    recompute_authors(engine, today=TODAY, resolve=False)  # read whole, no snapshot, the same identities
    complete = _metrics(engine)
    assert partial == complete


@BACKENDS
def test_a_snapshot_that_disagrees_with_the_store_is_read_again(
    engine: Engine, shared_dir: Path, tmp_path: Path
) -> None:
    _ingest_fixtures(engine, shared_dir)
    folder = tmp_path / "authors"
    recompute_authors(engine, today=TODAY, snapshot_folder=folder)
    # Edges removed behind the snapshot's back (no paper is written): its counts no longer agree.
    with engine.begin() as connection:
        victim = connection.execute(select(schema.citations.c.citing_id)
                                    .where(schema.citations.c.cited_id.is_not(None)).limit(1)).scalar_one()
        connection.execute(delete(schema.citations).where(schema.citations.c.citing_id == victim))
    again = recompute_authors(engine, today=TODAY, resolve=False, snapshot_folder=folder)
    assert "read" in again.timings  # the store was read whole
    kept = _metrics(engine)
    recompute_authors(engine, today=TODAY, resolve=False)
    assert _metrics(engine) == kept
    with engine.connect() as connection:
        assert AuthorSnapshot.load(folder).counts() == store.snapshot_counts(connection)  # type: ignore[union-attr]


def test_an_unreadable_snapshot_is_none(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    assert AuthorSnapshot.load(tmp_path) is None
    assert AuthorSnapshot.load(tmp_path / "missing") is None
