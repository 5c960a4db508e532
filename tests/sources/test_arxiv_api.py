"""arXiv API source: recorded Atom responses replayed from files and served over real HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from paperscope.core.codelinks import extract_code_urls
from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources import arxiv_api
from paperscope.sources.arxiv_api import build_search_query, fetch_arxiv_api, parse_feed, read_files
from paperscope.sources.arxiv_common import code_urls
from paperscope.sources.http import PoliteClient, SourceError

DATA = Path(__file__).resolve().parents[1] / "data" / "arxiv"
ATOM_TYPE = "application/atom+xml; charset=utf-8"

# Entries per recorded response (file name prefix -> entry count).
EXPECTED_COUNTS = {
    "id_0000.0000": 0,
    "id_0808.05394_1707.08567": 1,
    "id_0808.05394": 0,
    "id_1605.08386": 1,
    "id_1707.08567": 1,
    "id_2104.12255v1": 1,
    "id_astro-ph_0601001": 1,
    "id_quant-ph_0201082v1": 1,
    "q_testing_s0_m100": 100,
    "q_testing_s0_m10": 10,
    "q_testing_s0_m15": 15,
    "q_testing_s10_m10": 10,
    "q_testing_s20_m10": 10,
    "q_testing_s30_m10": 10,
    "q_testing_s40_m10": 10,
    "q_testing_s50_m10": 10,
    "q_testing_s5_m10": 10,
    "q_testing_s5_m15": 15,
    "q_testing_s9_m15": 15,
}


@pytest.fixture(scope="module")
def api_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "arxiv_api"


def recorded(api_dir: Path, prefix: str, kind: str = "atom_xml") -> Path:
    suffix = "xml" if kind == "atom_xml" else "json"
    matches = sorted((api_dir / kind).glob(f"{prefix}_s0_m100_*.{suffix}")) or sorted(
        (api_dir / kind).glob(f"{prefix}_*.{suffix}")
    )
    assert len(matches) == 1, f"{prefix}: {matches}"
    return matches[0]


def papers(path: Path) -> list[PaperRecord]:
    (batch,) = list(read_files([path]))
    assert all(isinstance(r, PaperRecord) for r in batch.records), batch.records
    return batch.records  # type: ignore[return-value]


def polite(sleeps: list[float]) -> PoliteClient:
    return PoliteClient("paperscope-tests", min_interval=0, retries=3, sleep=sleeps.append)


# --- replaying recorded responses -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["atom_xml", "arxiv.py_recorded_json"])
@pytest.mark.parametrize("prefix", sorted(EXPECTED_COUNTS))
def test_every_recorded_response_parses_to_its_entry_count(api_dir: Path, kind: str, prefix: str) -> None:
    records = papers(recorded(api_dir, prefix, kind))
    assert len(records) == EXPECTED_COUNTS[prefix]
    for record in records:
        assert record.source == "arxiv_api"
        assert record.source_key == f"{record.arxiv_id}v{record.arxiv_version}"
        assert record.title and record.title == " ".join(record.title.split())
        assert record.published is not None and record.updated is not None
        assert record.links["abs"].startswith("https://arxiv.org/abs/")


@pytest.mark.parametrize("prefix", sorted(EXPECTED_COUNTS))
def test_json_wrappers_give_the_same_records_as_the_raw_xml(api_dir: Path, prefix: str) -> None:
    from_xml = papers(recorded(api_dir, prefix, "atom_xml"))
    from_json = papers(recorded(api_dir, prefix, "arxiv.py_recorded_json"))
    assert from_json == from_xml


def test_directories_are_walked(api_dir: Path) -> None:
    batches = list(read_files([api_dir / "atom_xml"]))
    assert len(batches) == 20
    assert sum(isinstance(r, PaperRecord) for b in batches for r in b.records) == sum(
        EXPECTED_COUNTS.values()
    )


def test_fields_of_a_paper_with_doi_journal_ref_and_comment(api_dir: Path) -> None:
    first = papers(recorded(api_dir, "q_testing_s0_m10"))[0]
    assert first.source_key == "2202.12139v1"
    assert first.arxiv_id == "2202.12139"
    assert first.arxiv_version == 1
    assert (
        first.title
        == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    )
    assert first.abstract is not None and first.abstract.startswith("Deep Learning (DL) has revolutionized")
    assert first.doi == "10.1109/icstw55395.2022.00035"
    assert first.links == {
        "abs": "https://arxiv.org/abs/2202.12139v1",
        "pdf": "https://arxiv.org/pdf/2202.12139v1",
        "doi": "https://doi.org/10.1109/ICSTW55395.2022.00035",
    }
    assert first.primary_category == "cs.SE"
    assert first.categories == ["cs.SE", "cs.LG"]
    assert first.comments == "Artificial Intelligence in Software Testing 2022 workshop @ ICST 2022"
    assert first.journal_ref is not None and first.journal_ref.startswith(
        "Artificial Intelligence in Software"
    )
    assert [a.name for a in first.authors] == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert first.published == date(2022, 2, 24)


def test_versions_and_updated_dates(api_dir: Path) -> None:
    by_key = {r.source_key: r for r in papers(recorded(api_dir, "q_testing_s0_m10"))}
    revised = by_key["2005.14124v2"]
    assert revised.arxiv_version == 2
    assert revised.published == date(2020, 5, 28)
    assert revised.updated == date(2020, 7, 16)


def test_old_style_id_with_affiliations(api_dir: Path) -> None:
    (paper,) = papers(recorded(api_dir, "id_astro-ph_0601001"))
    assert paper.arxiv_id == "astro-ph/0601001"
    assert paper.source_key == "astro-ph/0601001v1"
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.doi is None and "doi" not in paper.links
    assert [(a.name, a.affiliations) for a in paper.authors] == [
        ("Andrew Gould", ["Ohio State"]),
        ("Susan Dorsher", ["Ohio State"]),
        ("B. Scott Gaudi", ["CfA"]),
        ("Andrzej Udalski", ["Warsaw University Observatory"]),
    ]
    # Leading spaces of the summary are not kept; entities are decoded.
    assert paper.abstract is not None and paper.abstract.startswith("We derive the frequencies")
    assert "Gould & Morgan (2003)" in paper.abstract


def test_a_paper_titled_zero_is_a_paper(api_dir: Path) -> None:
    (paper,) = papers(recorded(api_dir, "id_2104.12255v1"))
    assert paper.title == "0"
    assert paper.arxiv_id == "2104.12255"
    assert paper.primary_category == "cs.CR"
    assert [a.name for a in paper.authors] == ["Quan Thoi Minh Nguyen"]


def test_id_list_where_one_id_does_not_resolve(api_dir: Path) -> None:
    (paper,) = papers(recorded(api_dir, "id_0808.05394_1707.08567"))
    assert paper.source_key == "1707.08567v1"
    assert len(paper.authors) == 34
    assert paper.authors[32].name == "Dirk Wübben"


def test_non_ascii_text_survives(api_dir: Path) -> None:
    titles = {r.source_key: r.title for r in papers(recorded(api_dir, "q_testing_s0_m100"))}
    assert titles["2306.03845v1"] == "$ω$Test: WebView-Oriented Testing for Android Applications"


def test_code_links_in_abstracts_are_found(api_dir: Path) -> None:
    with_code = [r for r in papers(recorded(api_dir, "q_testing_s0_m100")) if r.code_urls]
    assert [r.code_urls for r in with_code] == [["https://github.com/ydecastro/super-resolution-testing"]]


def test_overlapping_pages_agree_record_for_record(api_dir: Path) -> None:
    seen: dict[str, PaperRecord] = {}
    total = 0
    for path in sorted((api_dir / "atom_xml").glob("q_testing_*.xml")):
        for record in papers(path):
            total += 1
            if record.source_key in seen:
                assert seen[record.source_key] == record
            seen[record.source_key] = record
    assert total == 215
    assert len(seen) == 100  # every window lies inside the first hundred results
    page0 = [r.source_key for r in papers(recorded(api_dir, "q_testing_s0_m10"))]
    page5 = [r.source_key for r in papers(recorded(api_dir, "q_testing_s5_m10"))]
    assert page0[5:] == page5[:5]


def test_sotawhat_transformer_page(api_dir: Path) -> None:
    records = papers(api_dir / "lucas-m-lopes_sotawhat" / "arxiv_transformer.xml")
    assert len(records) == 5
    assert records[0].source_key == "2606.13677v1"
    assert records[0].title == "Mana: Dexterous Manipulation of Articulated Tools"
    assert records[0].categories[:2] == ["cs.RO", "cs.AI"]
    assert all("cs.LG" in r.categories for r in records)


@pytest.mark.parametrize("kind", ["atom_xml", "arxiv.py_recorded_json"])
def test_the_error_feed_is_quarantined_not_a_paper(api_dir: Path, kind: str) -> None:
    path = recorded(api_dir, "id_abc", kind)
    (batch,) = list(read_files([path]))
    (bad,) = batch.records
    assert isinstance(bad, Malformed)
    assert bad.reason == "arXiv API error: incorrect id format for abc"
    with pytest.raises(arxiv_api.ArxivApiError, match="incorrect id format for abc"):
        parse_feed(path.read_bytes() if kind == "atom_xml" else arxiv_api._body_of(path)[0])


def test_empty_results_report_zero_total(api_dir: Path) -> None:
    for prefix in ("id_0000.0000", "id_0808.05394"):
        page = parse_feed(recorded(api_dir, prefix).read_bytes())
        assert page.total_results == 0
        assert page.records == []


def test_broken_entries_are_quarantined_and_the_rest_come_through() -> None:
    (batch,) = list(read_files([DATA / "api_malformed_entries.xml"]))
    good, *bad = batch.records
    assert isinstance(good, PaperRecord)
    assert good.title == "A Well Formed Entry"
    assert good.abstract == "Code is at https://github.com/example/well-formed."
    assert good.code_urls == ["https://github.com/example/well-formed"]
    assert good.source_key == "2401.00001v2"
    assert all(isinstance(m, Malformed) for m in bad)
    reasons = [m.reason for m in bad]  # type: ignore[union-attr]
    assert "has no title" in reasons[0]
    assert "not an arXiv id" in reasons[1]
    assert "impossible date" in reasons[2]
    assert [m.position for m in bad] == [  # type: ignore[union-attr]
        "api_malformed_entries.xml#entry1",
        "api_malformed_entries.xml#entry2",
        "api_malformed_entries.xml#entry3",
    ]
    assert "<title>An entry with a bad id</title>" in (bad[1].raw or "")  # type: ignore[union-attr]


def test_unreadable_files_become_one_malformed_each(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<feed><entry>")
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.xml"
    batches = list(read_files([broken, empty, missing]))
    assert [len(b.records) for b in batches] == [1, 1, 1]
    assert all(isinstance(b.records[0], Malformed) for b in batches)
    # A response cut short inside its only entry: that entry, with where it starts.
    assert batches[0].records[0].reason == "<entry> element cut short (no closing tag)"  # type: ignore[union-attr]
    assert batches[0].records[0].position == "broken.xml#entry0 (byte 6)"  # type: ignore[union-attr]
    assert "unreadable" in batches[1].records[0].reason  # type: ignore[union-attr]
    assert "unreadable" in batches[2].records[0].reason  # type: ignore[union-attr]


def test_search_query_for_category_and_dates() -> None:
    assert (
        build_search_query(category="cs.LG", date_from=date(2024, 1, 1), date_to="2024-01-31")
        == "cat:cs.LG AND submittedDate:[202401010000 TO 202401312359]"
    )
    assert build_search_query(query="all:transformer AND cat:cs.LG") == "(all:transformer AND cat:cs.LG)"
    assert build_search_query(query="testing") == "testing"


# --- the live path over real HTTP -------------------------------------------------------------


def _serve_by_start(httpserver: HTTPServer, api_dir: Path, requests: list[dict[str, str]]) -> None:
    def handler(request: Request) -> Response:
        args = dict(request.args)
        requests.append(args)
        path = recorded(api_dir, f"q_testing_s{args['start']}_m{args['max_results']}")
        return Response(path.read_bytes(), content_type=ATOM_TYPE)

    httpserver.expect_request("/api/query").respond_with_handler(handler)


def test_paging_follows_the_start_cursor(httpserver: HTTPServer, api_dir: Path) -> None:
    requests: list[dict[str, str]] = []
    _serve_by_start(httpserver, api_dir, requests)
    with polite([]) as client:
        batches = list(
            fetch_arxiv_api(
                client,
                query="testing",
                page_size=10,
                max_results=30,
                base_url=httpserver.url_for("/api/query"),
            )
        )
    assert [b.cursor for b in batches] == ["10", "20", "30"]
    assert [b.label for b in batches] == ["start=0", "start=10", "start=20"]
    assert [r["start"] for r in requests] == ["0", "10", "20"]
    assert requests[0]["search_query"] == "testing"
    assert requests[0]["sortBy"] == "submittedDate" and requests[0]["sortOrder"] == "ascending"
    keys = [r.source_key for b in batches for r in b.records]
    assert len(keys) == 30
    assert keys[0] == "2202.12139v1"
    assert keys[10:20] == [r.source_key for r in papers(recorded(api_dir, "q_testing_s10_m10"))]


def test_resuming_from_a_cursor(httpserver: HTTPServer, api_dir: Path) -> None:
    requests: list[dict[str, str]] = []
    _serve_by_start(httpserver, api_dir, requests)
    with polite([]) as client:
        batches = list(
            fetch_arxiv_api(
                client,
                query="testing",
                page_size=10,
                max_results=20,
                cursor="40",
                base_url=httpserver.url_for("/api/query"),
            )
        )
    assert [r["start"] for r in requests] == ["40", "50"]
    assert [b.cursor for b in batches] == ["50", "60"]
    assert batches[1].records == papers(recorded(api_dir, "q_testing_s50_m10"))


def test_the_last_page_ends_with_no_cursor(httpserver: HTTPServer, api_dir: Path) -> None:
    body = recorded(api_dir, "id_1605.08386").read_bytes()
    httpserver.expect_request(
        "/api/query",
        query_string={
            "search_query": "",
            "id_list": "1605.08386",
            "start": "0",
            "max_results": "100",
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        },
    ).respond_with_data(body, content_type=ATOM_TYPE)
    with polite([]) as client:
        (batch,) = list(
            fetch_arxiv_api(client, ids=["1605.08386"], base_url=httpserver.url_for("/api/query"))
        )
    assert batch.cursor is None
    (paper,) = batch.records
    assert paper.title == "Heat-bath random walks with Markov bases"  # type: ignore[union-attr]


def test_empty_results_yield_nothing(httpserver: HTTPServer, api_dir: Path) -> None:
    body = recorded(api_dir, "id_0000.0000").read_bytes()
    httpserver.expect_request("/api/query").respond_with_data(body, content_type=ATOM_TYPE)
    with polite([]) as client:
        assert (
            list(fetch_arxiv_api(client, ids=["0000.0000"], base_url=httpserver.url_for("/api/query"))) == []
        )
    assert len(httpserver.log) == 1


def test_the_error_reply_raises_source_error(httpserver: HTTPServer, api_dir: Path) -> None:
    body = recorded(api_dir, "id_abc").read_bytes()
    httpserver.expect_request("/api/query").respond_with_data(body, status=400, content_type=ATOM_TYPE)
    with polite([]) as client, pytest.raises(SourceError) as caught:
        list(fetch_arxiv_api(client, ids=["abc"], base_url=httpserver.url_for("/api/query")))
    assert caught.value.status == 400
    assert caught.value.reason == "arXiv API error: incorrect id format for abc"
    assert "id_list=abc" in caught.value.url


def test_503_with_retry_after_is_waited_out(httpserver: HTTPServer, api_dir: Path) -> None:
    body = recorded(api_dir, "id_2104.12255v1").read_bytes()
    httpserver.expect_ordered_request("/api/query").respond_with_data(
        "busy", status=503, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request("/api/query").respond_with_data(body, content_type=ATOM_TYPE)
    sleeps: list[float] = []
    with polite(sleeps) as client:
        (batch,) = list(
            fetch_arxiv_api(client, ids=["2104.12255v1"], base_url=httpserver.url_for("/api/query"))
        )
    assert sleeps == [7.0]
    assert batch.records[0].title == "0"  # type: ignore[union-attr]
    assert len(httpserver.log) == 2


def test_a_malformed_entry_is_quarantined_in_a_live_batch(httpserver: HTTPServer) -> None:
    body = (DATA / "api_malformed_entries.xml").read_bytes()
    httpserver.expect_request("/api/query").respond_with_data(body, content_type=ATOM_TYPE)
    with polite([]) as client:
        (batch,) = list(
            fetch_arxiv_api(
                client,
                category="cs.LG",
                date_from="2024-01-01",
                date_to="2024-01-31",
                base_url=httpserver.url_for("/api/query"),
            )
        )
    assert batch.cursor is None  # totalResults 4, all four entries seen
    kinds = [type(r).__name__ for r in batch.records]
    assert kinds == ["PaperRecord", "Malformed", "Malformed", "Malformed"]
    assert [m.position for m in batch.records[1:]] == ["start=1", "start=2", "start=3"]  # type: ignore[union-attr]
    request = httpserver.log[0][0]
    assert request.args["search_query"] == "cat:cs.LG AND submittedDate:[202401010000 TO 202401312359]"


def test_an_empty_page_before_the_end_is_retried_then_reported(httpserver: HTTPServer) -> None:
    body = (
        b"<?xml version='1.0' encoding='UTF-8'?>"
        b'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        b"<opensearch:totalResults>50</opensearch:totalResults>"
        b"<opensearch:startIndex>0</opensearch:startIndex></feed>"
    )
    httpserver.expect_request("/api/query").respond_with_data(body, content_type=ATOM_TYPE)
    with polite([]) as client, pytest.raises(SourceError, match="empty page at start=0"):
        list(fetch_arxiv_api(client, category="cs.LG", base_url=httpserver.url_for("/api/query")))
    assert len(httpserver.log) == 3


def test_a_query_is_required() -> None:
    with polite([]) as client, pytest.raises(ValueError, match="needs a category"):
        list(fetch_arxiv_api(client))


def test_the_code_link_shortcut_agrees_with_the_full_search(api_dir: Path) -> None:
    texts = [(r.abstract, r.comments) for r in papers(recorded(api_dir, "q_testing_s0_m100"))]
    texts += [("see https://gitlab.com/group/project and huggingface.co/org/model", None), (None, None)]
    for abstract, comments in texts:
        assert code_urls(abstract, comments) == extract_code_urls(abstract, comments)
    assert code_urls("see https://gitlab.com/group/project", None) == ["https://gitlab.com/group/project"]
