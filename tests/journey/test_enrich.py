"""Enrichment: papers imported without counts or ids are looked up in OpenAlex and Semantic Scholar
(recorded real responses, served by a local HTTP server in place of the APIs), merged with their
field sources, the lookups recorded so a rerun skips them, and the author's profile recomputed so
an imported author's h-index and citations stop reading 0.

The local server answers every `/works` request with one recorded OpenAlex list page (49 works, of
which the store holds 5): the 44 others stand for what a real id filter never returns and must be
dropped, never stored; a title search answered with the same page finds no work of that title.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, func, select
from werkzeug import Request, Response

from paperscope.core.records import AuthorRecord, Batch, PaperRecord
from paperscope.core.settings import load_settings
from paperscope.ingest.enrich import enrich_source
from paperscope.ingest.pipeline import run_ingest
from paperscope.services.authors import get_author_profile, recompute
from paperscope.services.enrich import choose_papers, enrich_papers
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.store import enrichment, schema
from tests.conftest import BACKENDS

OWNER = "Jane Roe"
# (title, doi, arxiv id) of papers in the recorded responses; cited_by_count there in comments.
LISTED = [
    ("Use of a Machine Learning Algorithm to Predict Individuals with Suicide Ideation", "10.30773/pi.2018.08.27",
     None),  # OpenAlex 50
    ("The Problem of Fairness in Synthetic Healthcare Data", "10.3390/e23091165", None),  # OpenAlex 32
    ("The intersection of genomics and big data with public health: Opportunities for precision public health",
     "10.1371/journal.pmed.1003373", None),  # OpenAlex 30
    ("Social Media as a New Vital Sign: Commentary", "10.2196/jmir.8563", None),  # OpenAlex 10
    ("Connecting Fairness in Machine Learning with Public Health Equity", None, "2304.04761"),  # OpenAlex 0
    ("How Much Should We Trust Differences-in-Differences Estimates?", "10.2139/ssrn.288970", None),  # S2 10670
    ("Mining association rules between sets of items in large databases", None, None),  # S2 title match
]


@pytest.fixture
def recorded(fixtures_dir: Path) -> dict[str, bytes]:
    s2 = fixtures_dir / "semantic_scholar" / "danielnsilva_semanticscholar" / "cassette_bodies"
    return {
        "works": (fixtures_dir / "openalex" / "anapaulagomes_peneira" / "works_list_page1_per200.json").read_bytes(),
        "batch": (s2 / "test_get_papers_return_not_found__00.json").read_bytes(),
        "forbidden": (s2 / "test_debug__00.json").read_bytes(),
        "match": (s2 / "test_search_paper_match_title__00.json").read_bytes(),
    }


def _listing(title: str, doi: str | None, arxiv: str | None, i: int) -> PaperRecord:
    return PaperRecord(source="listing", source_key=f"card-{i}", title=title, doi=doi, arxiv_id=arxiv,
                       year=2001 if "Differences" in title else 1993 if "Mining" in title else 2020,
                       authors=[AuthorRecord(name=OWNER), AuthorRecord(name=f"Coauthor {i}")])


def _seed(engine: Engine) -> dict[str, str]:
    records = [_listing(*paper, i) for i, paper in enumerate(LISTED)]
    run_ingest(engine, "listing", "seed", lambda _c: iter([Batch(list(records))]))
    with engine.connect() as connection:
        rows = connection.execute(select(schema.papers.c.id, schema.papers.c.title)).all()
    return {title: pid for pid, title in rows}


def _serve(httpserver: HTTPServer, recorded: dict[str, bytes], seen: list[str]) -> None:
    def works(request: Request) -> Response:
        seen.append(f"openalex {request.args.get('filter', '')}")
        return Response(recorded["works"], content_type="application/json")

    def batch(request: Request) -> Response:
        seen.append(f"s2 batch {request.get_data(as_text=True)}")
        return Response(recorded["batch"], content_type="application/json")

    def match(request: Request) -> Response:
        seen.append(f"s2 match {request.args.get('query')}")
        if request.args.get("query", "").startswith("Mining association rules"):
            return Response(recorded["match"], content_type="application/json")
        return Response(b'{"error":"Title match not found"}', status=404, content_type="application/json")

    httpserver.expect_request("/works").respond_with_handler(works)
    httpserver.expect_request("/paper/batch", method="POST").respond_with_handler(batch)
    httpserver.expect_request("/paper/search/match").respond_with_handler(match)


def _settings(tmp_path: Path):
    return load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_OPENALEX_MIN_INTERVAL": "0",
                          "PAPERSCOPE_S2_MIN_INTERVAL": "0", "PAPERSCOPE_HTTP_RETRIES": "0"})


@BACKENDS
def test_enrich_fills_counts_ids_references_and_the_imported_authors_profile(
        engine: Engine, httpserver: HTTPServer, recorded: dict[str, bytes], tmp_path: Path) -> None:
    ids = _seed(engine)
    recompute(engine)
    before = get_author_profile(engine, OWNER)
    assert (before["h_index"], before["citations"]) == (0, 0)  # the finding: an imported author reads 0

    seen: list[str] = []
    _serve(httpserver, recorded, seen)
    urls = {"openalex": httpserver.url_for(""), "s2": httpserver.url_for("")}
    chosen = choose_papers(engine, missing=True)
    assert sorted(chosen) == sorted(ids.values())
    summary, report = enrich_papers(engine, _settings(tmp_path), chosen, base_urls=urls)

    oa, s2 = summary.sources["openalex"], summary.sources["s2"]
    assert oa.asked == s2.asked == 7
    assert dict(oa.found) == {"doi": 4, "arxiv": 1}  # the arXiv paper by its DataCite DOI
    assert dict(s2.found) == {"doi": 1, "title": 1}
    # Ids in batches: one OpenAlex request with every DOI, one S2 batch POST; titles one by one.
    doi_filters = [s for s in seen if s.startswith("openalex doi:")]
    assert len(doi_filters) == 1 and "10.48550/arxiv.2304.04761" in doi_filters[0]
    assert "10.30773/pi.2018.08.27" in doi_filters[0]
    s2_posts = [json.loads(s.removeprefix("s2 batch ")) for s in seen if s.startswith("s2 batch")]
    assert len(s2_posts) == 1 and sorted(s2_posts[0]["ids"]) == [
        "ARXIV:2304.04761", "DOI:10.1371/journal.pmed.1003373", "DOI:10.2139/ssrn.288970", "DOI:10.2196/jmir.8563",
        "DOI:10.30773/pi.2018.08.27", "DOI:10.3390/e23091165"]
    assert sum(s.startswith("openalex title.search:") for s in seen) == 2  # the two OpenAlex did not find

    p = schema.papers
    with engine.connect() as connection:
        # Only the papers asked about: none of the 44 other works of the page became a paper.
        assert connection.execute(select(func.count()).select_from(p)).scalar() == 7
        rows = {r["id"]: r for r in connection.execute(select(p)).mappings()}
        suicide = rows[ids[LISTED[0][0]]]
        assert (suicide["cited_by_count"], suicide["cited_by_source"]) == (50, "openalex")
        assert suicide["openalex_id"] == "W2897157249"
        assert suicide["field_sources"]["openalex_id"] == "openalex"
        edges = connection.execute(select(func.count()).select_from(schema.citations)
                                   .where(schema.citations.c.citing_id == suicide["id"])).scalar()
        assert edges == 30  # its referenced_works
        sources = {r[0] for r in connection.execute(select(schema.paper_sources.c.source)
                                                    .where(schema.paper_sources.c.paper_id == suicide["id"]))}
        assert sources == {"listing", "openalex"}
        did = rows[ids[LISTED[5][0]]]
        assert (did["s2_id"], did["cited_by_count"], did["cited_by_source"]) == (
            "c31c87c591a25c64fbaa82e8ac6a81831b6ac7ce", 10670, "s2")
        mining = rows[ids[LISTED[6][0]]]
        assert mining["s2_id"] == "6fe8c5bf8dddaadf10c765133d38dfef5714347f"
        # The listing's author lists stay: enrichment adds counts and ids, not authors.
        owners = connection.execute(select(func.count()).select_from(schema.authorships)
                                    .where(schema.authorships.c.name == OWNER)).scalar()
        assert owners == 7
        looked = enrichment.lookup_counts(connection)
    assert looked == {"openalex": {"found": 5, "not_found": 2}, "s2": {"found": 2, "not_found": 5}}

    assert report is not None
    after = get_author_profile(engine, OWNER)
    assert after["h_index"] == 5  # 10670, 50, 32, 30, 10, 0: five papers with at least five citations
    assert after["citations"] == 10670 + 50 + 32 + 30 + 10

    # A rerun skips every paper already looked up: no request at all.
    seen.clear()
    again, _ = enrich_papers(engine, _settings(tmp_path), chosen, base_urls=urls)
    assert seen == [] and again.sources["openalex"].skipped == again.sources["s2"].skipped == 7


@BACKENDS
def test_a_failed_source_resumes_with_the_papers_it_had_not_reached(
        engine: Engine, httpserver: HTTPServer, recorded: dict[str, bytes]) -> None:
    ids = _seed(engine)
    calls: list[list[str]] = []

    def batch(request: Request) -> Response:
        asked = json.loads(request.get_data())["ids"]
        calls.append(asked)
        if len(calls) == 2:  # the second chunk is refused, as S2 refused this recorded request
            return Response(recorded["forbidden"], status=403, content_type="application/json")
        return Response(recorded["batch"], content_type="application/json")

    httpserver.expect_request("/paper/batch", method="POST").respond_with_handler(batch)
    order = [ids[t] for t, _, _ in LISTED[:6]]
    with PoliteClient("paperscope-test", min_interval=0, retries=0) as client:
        with pytest.raises(SourceError, match="403"):
            enrich_source(engine, "s2", client, order, chunk=3, by_title=False, base_url=httpserver.url_for(""))
        with engine.connect() as connection:
            assert set(enrichment.looked_up(connection, order, "s2")) == set(order[:3])
        resumed = enrich_source(engine, "s2", client, order, chunk=3, by_title=False,
                                base_url=httpserver.url_for(""))
    assert resumed.skipped == 3 and resumed.asked == 3
    assert calls[-1] == ["DOI:10.2196/jmir.8563", "ARXIV:2304.04761", "DOI:10.2139/ssrn.288970"]
    assert dict(resumed.found) == {"doi": 1}


def test_choosing_papers_names_what_is_wrong(engine: Engine) -> None:
    _seed(engine)
    with pytest.raises(ValueError, match="say which papers"):
        choose_papers(engine)
    with pytest.raises(ValueError, match="no paper with id 'arXiv:9999.99999'"):
        choose_papers(engine, paper_ids=["arXiv:9999.99999"])
    recompute(engine)
    from paperscope.services.authors import AuthorNotFound

    with pytest.raises(AuthorNotFound):
        choose_papers(engine, author="Nobody Atall")
    assert len(choose_papers(engine, author=OWNER)) == 7


def test_the_daily_run_enriches_the_papers_it_ingested(
        engine: Engine, httpserver: HTTPServer, recorded: dict[str, bytes], tmp_path: Path) -> None:
    from paperscope.ingest.registry import IngestPlan
    from paperscope.services.daily import run_daily

    seen: list[str] = []
    _serve(httpserver, recorded, seen)
    records = [_listing(*paper, i) for i, paper in enumerate(LISTED[:2])]
    plan = IngestPlan("listing", "the day", lambda _c: iter([Batch(list(records))]))
    urls = {"openalex": httpserver.url_for(""), "s2": httpserver.url_for("")}
    run = run_daily(engine, _settings(tmp_path), None, None, date(2026, 12, 7), [plan],  # type: ignore[arg-type]
                    steps=("ingest", "enrich", "authors"), enrich_base_urls=urls)
    steps = {s.name: s for s in run.steps}
    assert run.ok, run.steps
    assert steps["enrich"].summary == "openalex: 2 looked up, 2 found; s2: 2 looked up, 0 found"
    profile = get_author_profile(engine, OWNER)
    assert (profile["h_index"], profile["citations"]) == (2, 82)

    # A run whose ingest step was left out enriches nothing and asks nothing.
    seen.clear()
    quiet = run_daily(engine, _settings(tmp_path), None, None, date(2026, 12, 7), [plan],  # type: ignore[arg-type]
                      steps=("enrich",), enrich_base_urls=urls)
    assert quiet.steps[0].summary.startswith("no new papers to look up") and seen == []


def test_enrich_command_names_bad_input(tmp_path: Path, database_url: str) -> None:
    from typer.testing import CliRunner

    from paperscope.cli.app import app

    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url}
    runner = CliRunner()
    nothing = runner.invoke(app, ["enrich"], env=env)
    assert nothing.exit_code == 1 and "--author ID, --papers ID…, or --missing" in nothing.output
    unknown = runner.invoke(app, ["enrich", "--papers", "arXiv:2101.00001,arXiv:2101.00002"], env=env)
    assert unknown.exit_code == 1 and "no paper with id 'arXiv:2101.00001', 'arXiv:2101.00002'" in unknown.output
    source = runner.invoke(app, ["enrich", "--missing", "--source", "crossref"], env=env)
    assert source.exit_code == 1 and "unknown source 'crossref'" in source.output
