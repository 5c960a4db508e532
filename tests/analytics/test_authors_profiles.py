"""Author profiles on real ingested fixtures, on SQLite and PostgreSQL: the reference h-index,
reported values kept apart, namesakes, corrections surviving re-ingest, incremental recompute, CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, delete, select
from typer.testing import CliRunner

from paperscope.analytics.authors import recompute_authors
from paperscope.analytics.metrics import h_index
from paperscope.cli.app import app
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services.authors import merge_authors, recompute, split_authors
from paperscope.services.browse import author_page
from paperscope.store.authors_schema import author_identity_links, author_metrics, authorship_identities
from tests.conftest import BACKENDS

TODAY = date(2026, 11, 30)
REQUIRED = {"name", "field", "h_index", "i10_index", "g_index", "papers", "citations", "citations_by_year",
            "novelty", "ai_score", "coauthors", "similar_authors", "orgs", "reported", "cards"}


def _profile(engine: Engine, ref: str, sort: str = "date", today: date | None = None) -> dict:
    """The author page's profile with every card, as the JSON API writes it."""
    page = author_page(engine, ref, sort=sort, today=today, per_page=1000)
    return {**page, "cards": [card.as_dict() for card in page["cards"]]}


def _ingest(engine: Engine, source: str, path: Path, as_of: date | None = None) -> None:
    plan = files_plan(source, [path], as_of=as_of)
    run_ingest(engine, plan.source, plan.target, plan.batches)


@pytest.fixture
def author_json(fixtures_dir: Path) -> Path:
    return fixtures_dir / "semantic_scholar" / "danielnsilva_semanticscholar" / "data_json" / "Author.json"


@BACKENDS
def test_reference_h_index_of_the_s2_author_file(engine: Engine, author_json: Path) -> None:
    data = json.loads(author_json.read_text())
    _ingest(engine, "s2", author_json)
    recompute(engine, progress=None)
    profile = _profile(engine, "A. Turing", today=TODAY)
    counts = [p["citationCount"] for p in data["papers"]]
    assert profile["id"] == "s2:2262347"
    assert profile["h_index"] == data["hIndex"] == 23 == h_index(counts)
    assert profile["papers"] == len(data["papers"]) == 60
    assert profile["citations"] == sum(counts)
    assert profile["i10_index"] == sum(c >= 10 for c in counts)
    assert REQUIRED <= set(profile)
    # S2's own figures are there, labelled with their source, not as computed values.
    [reported] = profile["reported"]
    assert reported["source"] == "s2" and reported["label"] == "Semantic Scholar author 2262347"
    assert reported["values"] == {"h_index": 23, "paper_count": 60, "citation_count": data["citationCount"]}
    # Cards: newest first by default, most cited first on request, each with its count's source.
    by_date = [(c["year"] or 0, c["published"] or "") for c in profile["cards"]]
    assert by_date == sorted(by_date, reverse=True) and by_date[0][0] == 2022
    top = _profile(engine, "s2:2262347", sort="citations", today=TODAY)["cards"][0]
    assert top["title"] == "Computing Machinery and Intelligence"
    assert top["citations"] == max(counts) and top["citations_source"] == "reported by s2"
    # S2 gives no per-year counts and no categories: those stay empty, not invented.
    assert profile["citations_by_year"] == {} and profile["field"] is None
    assert profile["novelty"] is None and profile["ai_score"] is None


@BACKENDS
def test_listing_profile_shows_computed_and_reported_apart(engine: Engine, listings_dir: Path) -> None:
    _ingest(engine, "listing", listings_dir / "author-bo-han.txt", as_of=TODAY)
    recompute(engine)
    profile = _profile(engine, "Bo Han", today=TODAY)
    assert profile["id"] == "name:bo-han" and profile["field"] == "LG"
    assert profile["papers"] == 49  # 50 cards, one of them by a namesake
    assert profile["h_index"] == 0 and profile["citations"] == 0  # the page gives no citation counts
    [reported] = profile["reported"]
    assert reported["label"] == "listing page author-bo-han.txt, as of 2026-11-30"
    assert reported["values"] == {"field": "LG", "h_index": 87, "paper_count": 263, "citation_count": 12368,
                                  "novelty": 54.0, "ai_score": 64.0}
    assert profile["also_named"] == [{"id": "name:bo-han~CR", "papers": 1, "field": "CR"}]
    assert [c["name"] for c in profile["coauthors"][:1]] == ["Jiangchao Yao"]
    assert profile["coauthors"][0]["papers"] >= 10
    assert {"org": "tsinghua", "papers": 4} in profile["orgs"]
    first = profile["cards"][0]
    assert first["date"] == "Jun 3"
    assert [a["name"] for a in first["authors"]] == ["Xinyu Pang", "Zhanke Zhou", "Xuan Li"]
    assert first["et_al"] is True  # the page owner is not printed among the first three
    other = _profile(engine, "name:bo-han~CR", today=TODAY)
    assert [c["title"] for c in other["cards"]] == ["Towards Zero-trust Security for the Metaverse"]
    assert other["reported"] == []  # the listing's header belongs to the page owner, not the namesake


@BACKENDS
def test_corrections_survive_reingest_and_recompute(engine: Engine, listings_dir: Path) -> None:
    page = listings_dir / "author-bo-han.txt"
    _ingest(engine, "listing", page, as_of=TODAY)
    recompute(engine, similar=False)
    security = "title:7729af68de47"
    assert _profile(engine, "name:bo-han~CR", today=TODAY)["cards"][0]["id"] == security
    merge_authors(engine, "name:bo-han", "name:bo-han~CR", note="checked by hand")
    split_authors(engine, "name:bo-han", papers=["title:c4fed3261dd4"])
    split_authors(engine, "name:jianing-zhu", "name:jiangchao-yao")
    recompute(engine, similar=False)
    with engine.begin() as connection:  # derived tables wiped, as a store rebuilt from scratch would be
        for table in (author_identity_links, authorship_identities, author_metrics):
            connection.execute(delete(table))
    _ingest(engine, "listing", page, as_of=TODAY)
    recompute(engine, similar=False)
    profile = _profile(engine, "Bo Han", today=TODAY)
    ids = {c["id"] for c in profile["cards"]}
    assert security in ids and "title:c4fed3261dd4" not in ids
    assert profile["papers"] == 49
    moved = _profile(engine, "name:bo-han~split2", today=TODAY)
    assert [c["id"] for c in moved["cards"]] == ["title:c4fed3261dd4"]
    assert "hand correction #2" in moved["identity"]["split"][0]


@BACKENDS
@pytest.mark.parametrize("slice_share", [1.0, 0.0], ids=["reads-slice", "reads-all"])
def test_incremental_recompute_only_redoes_touched_identities(
    engine: Engine, listings_dir: Path, slice_share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("paperscope.analytics.authors.SLICE_SHARE", slice_share)
    stamps = select(author_metrics.c.identity_id, author_metrics.c.computed_at)
    _ingest(engine, "listing", listings_dir / "author-bo-han.txt", as_of=TODAY)
    full = recompute_authors(engine, today=TODAY)
    with engine.connect() as connection:
        before = dict(connection.execute(stamps).all())
    _ingest(engine, "listing", listings_dir / "author-li-shen.txt", as_of=TODAY)
    step = recompute_authors(engine, incremental=True, today=TODAY)
    assert step.mode == "incremental" and 0 < step.identities < full.identities + 200
    with engine.connect() as connection:
        after = dict(connection.execute(stamps).all())
    assert after["name:jiangchao-yao"] == before["name:jiangchao-yao"]  # not on the new page: untouched
    assert "name:yan-sun" in after and "name:yan-sun" not in before
    # Papers of both pages that the second ingest left unchanged do not make their authors stale.
    assert after["name:chaojian-yu"] == before["name:chaojian-yu"]
    # What the incremental run wrote is what a full run computes.
    columns = [c for c in author_metrics.c if c.name not in ("computed_at",)]
    with engine.connect() as connection:
        partial = {r[0]: tuple(r) for r in connection.execute(select(*columns))}
    recompute_authors(engine, today=TODAY)
    with engine.connect() as connection:
        complete = {r[0]: tuple(r) for r in connection.execute(select(*columns))}
    for ident in ("name:yan-sun", "name:jiangchao-yao", "name:anke-tang"):
        assert partial[ident] == complete[ident]


def test_aan_counting_convention(engine: Engine, fixtures_dir: Path) -> None:
    """AAN reports no counts: a paper's citations are the distinct in-store papers citing it."""
    _ingest(engine, "aan", fixtures_dir / "citation_graph" / "aan_acl_anthology_network")
    recompute_authors(engine, today=TODAY)
    profile = _profile(engine, "Kevin Knight", today=TODAY)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT s.paper_id, COUNT(DISTINCT c.citing_id) FROM authorships s "
            "LEFT JOIN citations c ON c.cited_id = s.paper_id AND c.citing_id <> s.paper_id "
            "WHERE s.author_id = 'name:kevin-knight' GROUP BY s.paper_id").fetchall()
    counts = [n for _, n in rows]
    assert profile["papers"] == len(rows) == 70
    assert profile["citations"] == sum(counts) and profile["h_index"] == h_index(counts) == 21
    assert sum(profile["citations_by_year"].values()) == profile["citations"]
    assert {c["citations_source"] for c in profile["cards"]} == {"citing papers in the store"}


def test_cli_author_json_and_text(tmp_path: Path, author_json: Path) -> None:
    runner = CliRunner()
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": ""}
    assert runner.invoke(app, ["ingest", "s2", "--from-file", str(author_json)], env=env).exit_code == 0
    result = runner.invoke(app, ["authors", "recompute"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = orjson.loads(runner.invoke(app, ["author", "A. Turing", "--json"], env=env).stdout)
    assert REQUIRED <= set(data) and data["h_index"] == 23 and data["papers"] == 60
    text = runner.invoke(app, ["author", "s2:2262347", "--sort", "citations", "--limit", "1"], env=env).stdout
    assert "h-index 23 · 60 papers" in text
    assert "reported by Semantic Scholar author 2262347: h-index 23 · 60 papers" in text
    assert "Computing Machinery and Intelligence" in text
    missing = runner.invoke(app, ["author", "Nobody Here"], env=env)
    assert missing.exit_code == 1 and "no author named" in missing.output


@BACKENDS
def test_novelty_and_ai_score_are_means_of_the_paper_scores(engine: Engine, listings_dir: Path) -> None:
    from datetime import UTC, datetime

    from paperscope.store.scores_schema import paper_scores

    _ingest(engine, "listing", listings_dir / "author-bo-han.txt", as_of=TODAY)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(paper_scores.insert(), [
            {"paper_id": "title:c4fed3261dd4", "novelty_pct": 40.0, "ai_score": 70.0, "computed_at": now},
            {"paper_id": "title:df66aa8877ec", "novelty_pct": 61.0, "ai_score": None, "computed_at": now},
        ])
    recompute_authors(engine, today=TODAY)
    profile = _profile(engine, "Bo Han", sort="score", today=TODAY)
    assert profile["novelty"] == 50.5 and profile["ai_score"] == 70.0  # over the papers that have one
    assert profile["cards"][0]["id"] == "title:c4fed3261dd4" and profile["cards"][0]["ai_score"] == 70.0
    assert _profile(engine, "Jianing Zhu", today=TODAY)["ai_score"] == 70.0
    assert _profile(engine, "Zhanke Zhou", today=TODAY)["novelty"] is None
