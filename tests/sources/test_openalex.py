"""OpenAlex: recorded responses replayed through the parsers and through a real HTTP server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from paperscope.core.records import AuthorProfileRecord, Malformed, PaperRecord
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.openalex import (
    fetch_openalex_authors,
    fetch_openalex_work,
    fetch_openalex_works,
    read_files,
    rebuild_abstract,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "openalex"
ABSTRACT_START = (
    "Despite growing interest in Open Access (OA) to scholarly literature, there is an unmet need for "
    "large-scale, up-to-date, and reproducible studies"
)


@pytest.fixture(scope="module")
def oa(fixtures_dir: Path) -> Path:
    return fixtures_dir / "openalex"


def records_of(*paths: Path) -> list:
    return [record for batch in read_files(paths) for record in batch.records]


def only(paths: Path) -> PaperRecord | AuthorProfileRecord:
    (record,) = records_of(paths)
    return record


@pytest.fixture
def client():
    slept: list[float] = []
    with PoliteClient("paperscope-tests", min_interval=0, sleep=slept.append) as polite:
        polite.slept = slept  # type: ignore[attr-defined]
        yield polite


# --------------------------------------------------------------------------- parsing


def test_rebuild_abstract_orders_words_by_position():
    assert rebuild_abstract({"world": [1], "hello": [0, 2]}) == "hello world hello"
    assert rebuild_abstract(None) is None
    assert rebuild_abstract({}) is None


def test_work_fields_from_the_compact_record(oa: Path):
    work = only(oa / "b-vitamins_openalex-python" / "W2741809807.json")
    assert isinstance(work, PaperRecord)
    assert work.source == "openalex" and work.source_key == "W2741809807" == work.openalex_id
    assert work.title == (
        "The state of OA: a large-scale analysis of the prevalence and impact of Open Access articles"
    )
    assert work.abstract.startswith(ABSTRACT_START)
    assert work.doi == "10.7717/peerj.4375"
    assert work.other_ids == {"mag": "2741809807", "pmid": "29456894", "pmcid": "5815332"}
    assert work.arxiv_id is None
    assert work.published == date(2018, 2, 13) and work.year == 2018
    assert work.venue == "PeerJ"
    assert work.license == "cc-by"
    assert work.links == {
        "landing": "https://doi.org/10.7717/peerj.4375",
        "pdf": "https://peerj.com/articles/4375.pdf",
        "doi": "https://doi.org/10.7717/peerj.4375",
    }
    assert work.cited_by_count == 962
    assert work.counts_by_year == {
        2025: 30,
        2024: 118,
        2023: 142,
        2022: 147,
        2021: 146,
        2020: 179,
        2019: 130,
        2018: 59,
        2017: 9,
    }
    assert len(work.references) == 45
    assert work.references[0] == ("openalex", "W1560783210")
    assert work.orgs == []
    first = work.authors[0]
    assert first.name == "Heather Piwowar"
    assert first.orcid == "0000-0003-1613-5981"
    assert first.openalex_id == "A5048491430"
    assert first.affiliations == ["Impact Technology Development (United States)"]
    assert len(work.authors) == 9


def test_two_recordings_of_one_work_differ_where_openalex_changed(oa: Path):
    old = only(oa / "b-vitamins_openalex-python" / "W2741809807.json")
    new = only(oa / "mmgeorge_papers" / "work.json")
    assert old.source_key == new.source_key == "W2741809807"
    assert (len(old.references), len(new.references)) == (45, 54)
    assert (old.cited_by_count, new.cited_by_count) == (962, 1149)
    assert new.counts_by_year[2026] == 17 and 2026 not in old.counts_by_year
    assert new.abstract.startswith(ABSTRACT_START)
    assert "pdf" not in new.links or new.links["pdf"] != old.links["pdf"]  # primary pdf_url is null now


def test_author_profiles_with_reported_metrics(oa: Path):
    priem = only(oa / "mmgeorge_papers" / "author.json")
    assert isinstance(priem, AuthorProfileRecord)
    assert (priem.source, priem.source_key, priem.name) == ("openalex", "A5023888391", "Jason Priem")
    assert priem.orcid == "0000-0001-6187-6610"
    assert (priem.h_index, priem.i10_index, priem.paper_count, priem.citation_count) == (17, 20, 60, 4245)
    assert len(priem.counts_by_year) == 15 and priem.counts_by_year[2018] == 1147
    assert "Florida State University" in priem.affiliations
    assert priem.as_of == date(2026, 2, 15)

    compact = only(oa / "b-vitamins_openalex-python" / "A5023888391.json")
    assert compact.affiliations[0] == "OurResearch"  # its last known institution


def test_deleted_author_parses(oa: Path):
    deleted = only(oa / "b-vitamins_openalex-python" / "A5317838346.json")
    assert isinstance(deleted, AuthorProfileRecord)
    assert deleted.name == "Deleted Author" and deleted.source_key == "A5317838346"
    assert (deleted.h_index, deleted.paper_count, deleted.citation_count) == (0, 0, 0)
    assert deleted.orcid is None and deleted.affiliations == [] and deleted.counts_by_year == {}


def test_other_entity_kinds_yield_nothing(oa: Path):
    paths = [oa / "mmgeorge_papers" / name for name in ("institution.json", "topic.json", "domain.json")]
    paths += [oa / "b-vitamins_openalex-python" / name for name in ("C71924100.json", "cardiac-imaging.json")]
    assert records_of(*paths) == []


def test_list_page_and_arxiv_ids(oa: Path):
    works = records_of(oa / "anapaulagomes_peneira" / "works_list_page1_per200.json")
    assert len(works) == 49 and all(isinstance(w, PaperRecord) for w in works)
    assert sum(w.abstract is not None for w in works) == 46
    by_key = {w.source_key: w for w in works}
    # An arXiv DataCite DOI and an arXiv location both give the id.
    assert by_key["W4365441044"].arxiv_id == "2304.04761"
    assert by_key["W4365441044"].doi == "10.48550/arxiv.2304.04761"
    assert by_key["W4307407919"].arxiv_id == "2208.03461"
    assert by_key["W4307407919"].doi == "10.1162/99608f92.18da72db"
    assert sum(w.arxiv_id is not None for w in works) == 4


def test_cursor_chunk_pages(oa: Path):
    batches = list(
        read_files(
            [
                oa / "rkrug_openalexPro" / "chunk_1_cursor_page_1.json",
                oa / "rkrug_openalexPro" / "chunk_1_cursor_page_2_last.json",
            ]
        )
    )
    assert [len(b.records) for b in batches] == [50, 0]
    works = batches[0].records
    assert sum(w.abstract is not None for w in works) == 49
    assert sum(len(w.references) for w in works) == 1017


def test_malformed_works_are_quarantined_and_the_rest_come_through():
    records = records_of(DATA / "page_with_bad_works.json", DATA / "broken.json")
    good = [r for r in records if isinstance(r, PaperRecord)]
    bad = [r for r in records if isinstance(r, Malformed)]
    assert [w.source_key for w in good] == ["W100"]
    work = good[0]
    assert work.abstract == "Hello world."
    assert work.doi == "10.1234/abc.5"
    assert work.authors[0].affiliations == ["Analytical Engine Society, London"]  # no institution: raw
    assert work.references == [("openalex", "W7")]
    reasons = {m.position: m.reason for m in bad}
    assert reasons["page_with_bad_works.json:results[1]"] == "work W101 has no title"
    assert "impossible publication_date '2021-02-30'" in reasons["page_with_bad_works.json:results[2]"]
    assert "no OpenAlex id" in reasons["page_with_bad_works.json:results[3]"]
    # A page cut short inside its only work: that work is quarantined, with where it starts.
    broken = [m for m in bad if "broken.json" in m.position]
    assert [(m.position, m.reason) for m in broken] == [
        ("broken.json:results[0] (byte 35)", "response cut short inside this entry")
    ]
    assert len(bad) == 4  # the institution in the list is skipped, not quarantined


def test_json_lines_snapshot_part():
    (batch,) = read_files([DATA / "snapshot_part.jsonl"])
    kinds = [type(r).__name__ for r in batch.records]
    assert kinds == ["PaperRecord", "Malformed", "AuthorProfileRecord"]
    assert batch.records[1].position == "snapshot_part.jsonl:2"
    assert batch.records[2].h_index == 1
    assert batch.cursor is None


# --------------------------------------------------------------------------- live


def test_cursor_paging_to_the_terminal_page(httpserver: HTTPServer, client: PoliteClient, oa: Path):
    page1 = (oa / "rkrug_openalexPro" / "keypaper_cursor_page_1.json").read_bytes()
    page2 = (oa / "rkrug_openalexPro" / "keypaper_cursor_page_2_last.json").read_bytes()
    next_cursor = json.loads(page1)["meta"]["next_cursor"]
    common = {"filter": "cites:W1", "per-page": "200", "mailto": "lab@example.org"}
    httpserver.expect_ordered_request("/works", query_string={**common, "cursor": "*"}).respond_with_data(
        page1, content_type="application/json"
    )
    httpserver.expect_ordered_request(
        "/works", query_string={**common, "cursor": next_cursor}
    ).respond_with_data(page2, content_type="application/json")

    batches = list(
        fetch_openalex_works(
            client, filter="cites:W1", mailto="lab@example.org", base_url=httpserver.url_for("/")
        )
    )
    httpserver.check_assertions()
    assert [len(b.records) for b in batches] == [2, 0]
    assert [b.cursor for b in batches] == [next_cursor, None]
    assert [w.source_key for w in batches[0].records] == ["W2755950973", "W2741809807"]
    assert batches[0].records[0].title.startswith("bibliometrix")


def test_resume_from_a_cursor(httpserver: HTTPServer, client: PoliteClient, oa: Path):
    page1 = (oa / "rkrug_openalexPro" / "chunk_1_cursor_page_1.json").read_bytes()
    page2 = (oa / "rkrug_openalexPro" / "chunk_1_cursor_page_2_last.json").read_bytes()
    next_cursor = json.loads(page1)["meta"]["next_cursor"]
    httpserver.expect_request(
        "/works", query_string={"search": "x", "per-page": "200", "cursor": "*"}
    ).respond_with_data(page1, content_type="application/json")
    httpserver.expect_request(
        "/works", query_string={"search": "x", "per-page": "200", "cursor": next_cursor}
    ).respond_with_data(page2, content_type="application/json")
    first = next(fetch_openalex_works(client, search="x", base_url=httpserver.url_for("/")))
    assert len(first.records) == 50 and first.cursor == next_cursor
    resumed = list(
        fetch_openalex_works(client, search="x", cursor=first.cursor, base_url=httpserver.url_for("/"))
    )
    assert [(len(b.records), b.cursor) for b in resumed] == [(0, None)]


def test_authors_list(httpserver: HTTPServer, client: PoliteClient, oa: Path):
    body = {
        "meta": {"count": 2, "next_cursor": None},
        "results": [
            json.loads((oa / "mmgeorge_papers" / "author.json").read_bytes()),
            json.loads((oa / "b-vitamins_openalex-python" / "A5317838346.json").read_bytes()),
        ],
    }
    httpserver.expect_request("/authors").respond_with_json(body)
    (batch,) = fetch_openalex_authors(client, search="priem", base_url=httpserver.url_for("/"))
    assert [(a.name, a.h_index) for a in batch.records] == [("Jason Priem", 17), ("Deleted Author", 0)]
    assert batch.cursor is None


def test_single_work_after_a_429_with_retry_after(httpserver: HTTPServer, client: PoliteClient, oa: Path):
    body = (oa / "mmgeorge_papers" / "work.json").read_bytes()
    httpserver.expect_oneshot_request("/works/W2741809807").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "7"})
    )
    httpserver.expect_request("/works/W2741809807").respond_with_data(body, content_type="application/json")
    (batch,) = fetch_openalex_work(
        client, "https://openalex.org/W2741809807", base_url=httpserver.url_for("/")
    )
    assert client.slept == [7.0]
    assert batch.records[0].cited_by_count == 1149


def test_error_reply_raises_source_error(httpserver: HTTPServer, client: PoliteClient):
    httpserver.expect_request("/works/W0").respond_with_json(
        {"error": "Not found", "message": "W0 is not a valid OpenAlex ID"}, status=404
    )
    with pytest.raises(SourceError) as caught:
        list(fetch_openalex_work(client, "W0", base_url=httpserver.url_for("/")))
    assert caught.value.status == 404
    assert "W0 is not a valid OpenAlex ID" in str(caught.value)
    assert "/works/W0" in caught.value.url


def test_live_page_with_malformed_works(httpserver: HTTPServer, client: PoliteClient):
    httpserver.expect_request("/works").respond_with_data(
        (DATA / "page_with_bad_works.json").read_bytes(), content_type="application/json"
    )
    (batch,) = fetch_openalex_works(client, filter="x", base_url=httpserver.url_for("/"))
    good = [r for r in batch.records if isinstance(r, PaperRecord)]
    bad = [r for r in batch.records if isinstance(r, Malformed)]
    assert [w.title for w in good] == ["A good work"]
    # From /works every result must be a work: the institution is quarantined here.
    assert len(bad) == 4 and all(m.position.startswith("works page 1:results[") for m in bad)
    assert batch.cursor is None
