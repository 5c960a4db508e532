"""Semantic Scholar: recorded Graph API responses replayed through the parsers and a real HTTP server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from paperscope.core.records import AuthorProfileRecord, Malformed, PaperRecord
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.semantic_scholar import (
    fetch_s2_author,
    fetch_s2_author_papers,
    fetch_s2_bulk_search,
    fetch_s2_citations,
    fetch_s2_papers_batch,
    fetch_s2_papers_search,
    make_s2_client,
    parse_response,
    read_files,
    reference_for,
)

TURING_PAPER = "2d5673caa9e6af3a7b82a43f19ee920992db07ad"
CITED = "CorpusID:14514057"  # the paper whose 19 citation pages were recorded


@pytest.fixture(scope="module")
def s2(fixtures_dir: Path) -> Path:
    return fixtures_dir / "semantic_scholar" / "danielnsilva_semanticscholar"


@pytest.fixture(scope="module")
def cassettes(s2: Path) -> dict[str, dict]:
    """Each cassette body's request and status, by body file stem."""
    index = json.loads((s2 / "cassette_index.json").read_bytes())
    return {entry["file"].removesuffix(".json"): entry for entry in index}


@pytest.fixture
def client():
    slept: list[float] = []
    with PoliteClient("paperscope-tests", min_interval=0, sleep=slept.append) as polite:
        polite.slept = slept  # type: ignore[attr-defined]
        yield polite


def body(s2: Path, stem: str) -> bytes:
    return (s2 / "cassette_bodies" / f"{stem}.json").read_bytes()


def records_of(*paths: Path) -> list:
    return [record for batch in read_files(paths) for record in batch.records]


def h_index(citation_counts: list[int]) -> int:
    """Hirsch: the largest h such that h papers have at least h citations each."""
    ranked = sorted(citation_counts, reverse=True)
    return sum(1 for rank, count in enumerate(ranked, start=1) if count >= rank)


# --------------------------------------------------------------------------- parsing


def test_author_with_papers_recomputes_the_reported_h_index(s2: Path):
    records = records_of(s2 / "data_json" / "Author.json")
    profile = records[0]
    papers = records[1:]
    assert isinstance(profile, AuthorProfileRecord)
    assert (profile.source, profile.source_key, profile.s2_id, profile.name) == (
        "s2",
        "2262347",
        "2262347",
        "A. Turing",
    )
    assert (profile.h_index, profile.citation_count, profile.paper_count) == (23, 12415, 60)
    assert len(papers) == 60 and all(isinstance(p, PaperRecord) for p in papers)
    assert all(p.cited_by_count is not None for p in papers)
    assert all(any(a.s2_id == "2262347" for a in p.authors) for p in papers)
    assert h_index([p.cited_by_count for p in papers]) == 23 == profile.h_index
    assert max(p.cited_by_count for p in papers) == 8596


def test_paper_with_its_citations_and_references(s2: Path):
    records = records_of(s2 / "data_json" / "Paper.json")
    paper = records[0]
    assert isinstance(paper, PaperRecord)
    assert (paper.source, paper.source_key, paper.s2_id) == ("s2", TURING_PAPER, TURING_PAPER)
    assert paper.title == "Computing Machinery and Intelligence"
    assert paper.abstract.startswith("I propose to consider the question, “Can machines think?”")
    assert paper.doi == "10.1093/mind/lix.236.433"
    assert paper.other_ids == {"corpusid": "14636783", "dblp": "journals/x/Turing50", "mag": "2145482038"}
    assert (paper.year, paper.published) == (1950, date(1950, 10, 1))
    assert paper.venue == "The Philosophy of Artificial Intelligence"
    assert paper.cited_by_count == 10059
    assert paper.keywords == ["Computer Science", "Sociology"]
    assert [(a.name, a.s2_id) for a in paper.authors] == [("A. Turing", "2262347")]
    assert len(paper.references) == 8  # 14 references, 6 of them without a paperId
    assert paper.references[0] == ("s2", "348f436fd9a3965f5ff17db031a9f43426f89b8e")

    citing = [r for r in records if isinstance(r, PaperRecord) and r.references == [("s2", TURING_PAPER)]]
    assert len(citing) == 1000
    assert citing[0].title.startswith("The Journey/DAO/TAO of Embodied Intelligence")
    assert citing[0].doi == "10.1109/jas.2024.124407"
    assert citing[0].links["pdf"] == "https://ieeexplore.ieee.org/ielx7/6570654/10539265/10539310.pdf"
    with_arxiv = {r.source_key: r for r in citing if r.arxiv_id}
    assert len(with_arxiv) == 243
    assert with_arxiv["207d6ce83f82c0e2afa2a572dc96b05f85635217"].arxiv_id == "2405.19561"

    (author,) = [r for r in records if isinstance(r, AuthorProfileRecord)]
    assert (author.name, author.h_index, author.paper_count) == ("A. Turing", 22, 57)
    unresolved = [r for r in records if isinstance(r, Malformed)]
    assert len(unresolved) == 6 and all(".references[" in m.position for m in unresolved)


def test_search_page_fields(fixtures_dir: Path):
    page = fixtures_dir / "semantic_scholar" / "lucas-m-lopes_sotawhat" / "semantic_scholar_transformer.json"
    papers = records_of(page)
    assert len(papers) == 5
    swin = papers[0]
    assert swin.title.startswith("Swin Transformer: Hierarchical Vision Transformer")
    assert (swin.arxiv_id, swin.arxiv_version) == ("2103.14030", None)
    assert swin.doi == "10.1109/iccv48922.2021.00986"
    assert swin.other_ids["dblp"] == "conf/iccv/LiuL00W0LG21"
    assert swin.links["pdf"] == "http://arxiv.org/pdf/2103.14030"
    assert (swin.published, swin.year) == (None, 2021)
    assert swin.authors[0].name == "Ze Liu" and swin.authors[0].s2_id == "2109371439"


def test_batch_nulls_are_skipped_not_malformed(s2: Path, cassettes: dict):
    stem = "test_get_papers_not_found_warning__00"
    assert json.loads(cassettes[stem]["request_body"])["ids"][0] == "CorpusId:211530585"
    papers = records_of(s2 / "cassette_bodies" / f"{stem}.json")
    assert len(papers) == 3 and all(isinstance(p, PaperRecord) for p in papers)
    assert papers[0].title == "How Much Should We Trust Differences-in-Differences Estimates?"
    assert papers[0].doi == "10.2139/ssrn.288970"

    authors = records_of(s2 / "cassette_bodies" / "test_get_authors_not_found_warning__00.json")
    assert [(a.name, a.s2_id) for a in authors] == [
        ("E. Dijkstra", "3234559"),
        ("D. Parnas", "1726629"),
        ("I. Sommerville", "1711844"),
    ]


def test_paper_authors_carry_reported_metrics(s2: Path):
    authors = records_of(s2 / "cassette_bodies" / "test_get_paper_authors__00.json")
    duflo = authors[0]
    assert isinstance(duflo, AuthorProfileRecord)
    assert (duflo.name, duflo.h_index, duflo.paper_count, duflo.citation_count) == (
        "E. Duflo",
        91,
        282,
        58740,
    )
    assert len(authors) == 4


def test_citation_page_references_the_cited_paper(s2: Path, cassettes: dict):
    stem = "test_get_paper_citations__12"
    assert CITED in cassettes[stem]["uri"]
    records = parse_response(body(s2, stem), stem, cited_id=CITED)
    good = [r for r in records if isinstance(r, PaperRecord)]
    (bad,) = [r for r in records if isinstance(r, Malformed)]
    assert len(good) == 99
    assert all(r.references == [("corpusid", "14514057")] for r in good)
    assert bad.position == f"{stem}:data[97].citingPaper"
    assert "Present Bias Predicts Low Adoption" in bad.raw


def test_reference_for_each_id_scheme():
    assert reference_for(TURING_PAPER) == ("s2", TURING_PAPER)
    assert reference_for("CorpusId:470667") == ("corpusid", "470667")
    assert reference_for("DOI:10.2139/SSRN.2250500") == ("doi", "10.2139/ssrn.2250500")
    assert reference_for("10.1093/mind/lix.236.433") == ("doi", "10.1093/mind/lix.236.433")
    assert reference_for("ARXIV:2106.15928v2") == ("arxiv", "2106.15928")
    assert reference_for("URL:https://example.org/x") is None


def test_null_values_partial_and_empty_responses(s2: Path):
    (paper,) = records_of(s2 / "data_json" / "PaperWithNullValues.json")
    assert paper.source_key == TURING_PAPER
    assert paper.title is None  # not requested: a partial record, not a broken one
    assert paper.authors == [] and paper.references == []
    assert records_of(s2 / "cassette_bodies" / "test_empty_paginated_results__00.json") == []
    assert records_of(s2 / "cassette_bodies" / "test_search_snippet__00.json") == []
    (citing,) = records_of(s2 / "data_json" / "Citation.json")
    assert citing.doi == "10.1109/lra.2022.3229266"


def test_saved_error_replies_and_foreign_files_are_one_malformed_each(s2: Path):
    for stem, message in [
        ("test_not_found__00", "Paper with id 0 not found"),
        ("test_debug__00", "Forbidden"),
        ("test_bad_query_parameters__00", "Unrecognized or unsupported fields: [unknown]"),
    ]:
        (bad,) = records_of(s2 / "cassette_bodies" / f"{stem}.json")
        assert isinstance(bad, Malformed) and message in bad.reason
    (bad,) = records_of(s2 / "cassette_index.json")
    assert bad.reason == "an array of neither papers nor authors"


def test_read_files_walks_a_directory(s2: Path):
    batches = list(read_files([s2 / "data_json"]))
    assert [b.label for b in batches] == [
        "Author.json",
        "Citation.json",
        "Paper.json",
        "PaperWithNullValues.json",
        "Reference.json",
    ]


# --------------------------------------------------------------------------- live


def test_offset_paging_over_citation_pages(
    httpserver: HTTPServer, client: PoliteClient, s2: Path, cassettes: dict
):
    path = f"/graph/v1/paper/{CITED}/citations"
    for i in range(19):
        stem = f"test_get_paper_citations__{i:02d}"
        assert f"offset={i * 100}&" in cassettes[stem]["uri"]
        httpserver.expect_request(
            path, query_string={"fields": "title", "offset": str(i * 100), "limit": "100"}
        ).respond_with_data(body(s2, stem), content_type="application/json")
    batches = list(
        fetch_s2_citations(client, CITED, fields="title", limit=100, base_url=httpserver.url_for("/graph/v1"))
    )
    assert len(batches) == 19
    assert [b.cursor for b in batches] == [str(n * 100) for n in range(1, 19)] + [None]
    papers = [r for b in batches for r in b.records if isinstance(r, PaperRecord)]
    bad = [r for b in batches for r in b.records if isinstance(r, Malformed)]
    assert (len(papers), len(bad)) == (1873, 8)
    assert batches[12].label == f"paper/{CITED}/citations offset 1200"
    assert bad[0].position == f"paper/{CITED}/citations offset 1200:data[97].citingPaper"
    assert all(p.references == [("corpusid", "14514057")] for p in papers)
    assert papers[0].title.startswith("We’ve got you covered!")

    resumed = list(
        fetch_s2_citations(
            client, CITED, fields="title", limit=100, cursor="1700", base_url=httpserver.url_for("/graph/v1")
        )
    )
    assert [b.cursor for b in resumed] == ["1800", None]
    assert len(resumed[1].records) == 81


def test_author_papers_offset_paging(httpserver: HTTPServer, client: PoliteClient, s2: Path):
    for i in range(9):
        httpserver.expect_request(
            "/author/1723755/papers", query_string={"fields": "title", "offset": str(i * 100), "limit": "100"}
        ).respond_with_data(body(s2, f"test_get_author_papers__{i:02d}"), content_type="application/json")
    batches = list(
        fetch_s2_author_papers(client, "1723755", fields="title", limit=100, base_url=httpserver.url_for(""))
    )
    assert [len(b.records) for b in batches] == [100] * 8 + [75]
    assert batches[-1].cursor is None


def test_token_paging_until_the_token_is_null(httpserver: HTTPServer, client: PoliteClient, s2: Path):
    stems = [f"test_search_paper_bulk_retrieval_traversing_results__{i:02d}" for i in range(3)]
    tokens = [json.loads(body(s2, stem))["token"] for stem in stems]
    assert tokens[2] is None
    base = {"query": "kubernetes", "fields": "title"}
    httpserver.expect_ordered_request("/paper/search/bulk", query_string=base).respond_with_data(
        body(s2, stems[0]), content_type="application/json"
    )
    for stem, token in zip(stems[1:], tokens[:2], strict=True):
        httpserver.expect_ordered_request(
            "/paper/search/bulk", query_string={**base, "token": token}
        ).respond_with_data(body(s2, stem), content_type="application/json")
    batches = list(
        fetch_s2_bulk_search(client, "kubernetes", fields="title", base_url=httpserver.url_for(""))
    )
    httpserver.check_assertions()
    assert [len(b.records) for b in batches] == [1000, 1000, 674]
    assert [b.cursor for b in batches] == tokens
    assert batches[2].records[0].title == "Mastering Service Mesh"


def test_search_pages_stop_without_next(httpserver: HTTPServer, client: PoliteClient, s2: Path):
    httpserver.expect_request(
        "/paper/search",
        query_string={
            "query": "sublinear near optimal edit distance",
            "fields": "title",
            "offset": "0",
            "limit": "100",
        },
    ).respond_with_data(body(s2, "test_search_paper_traversing_results__00"), content_type="application/json")
    (batch,) = fetch_s2_papers_search(
        client, "sublinear near optimal edit distance", fields="title", base_url=httpserver.url_for("")
    )
    assert len(batch.records) == 89 and batch.cursor is None


def test_retry_after_429_then_success_with_api_key(httpserver: HTTPServer, s2: Path):
    author = (s2 / "data_json" / "Author.json").read_bytes()
    httpserver.expect_oneshot_request("/author/2262347").respond_with_response(
        Response('{"message": "Too Many Requests"}', status=429, headers={"Retry-After": "3"})
    )
    httpserver.expect_request("/author/2262347", headers={"x-api-key": "secret-key"}).respond_with_data(
        author, content_type="application/json"
    )
    slept: list[float] = []
    with make_s2_client(
        "paperscope-tests", api_key="secret-key", min_interval=0, sleep=slept.append
    ) as polite:
        (batch,) = fetch_s2_author(
            polite, "2262347", fields="name,hIndex,papers.citationCount", base_url=httpserver.url_for("")
        )
    assert slept == [3.0]
    profile = batch.records[0]
    assert profile.h_index == 23 and profile.as_of is not None
    assert len(batch.records) == 61


@pytest.mark.parametrize(
    ("stem", "status", "message"),
    [
        ("test_not_found__00", 404, "Paper with id 0 not found"),
        ("test_bad_query_parameters__00", 400, "Unrecognized or unsupported fields: [unknown]"),
    ],
)
def test_error_replies_raise_source_error(
    httpserver: HTTPServer, client: PoliteClient, s2: Path, stem: str, status: int, message: str
):
    httpserver.expect_request("/paper/0/citations").respond_with_data(
        body(s2, stem), status=status, content_type="application/json"
    )
    with pytest.raises(SourceError) as caught:
        list(fetch_s2_citations(client, "0", base_url=httpserver.url_for("")))
    assert caught.value.status == status
    assert caught.value.reason == f"HTTP {status}: {message}"
    assert "/paper/0/citations" in caught.value.url


def test_batch_post_forbidden_raises(httpserver: HTTPServer, client: PoliteClient, s2: Path, cassettes: dict):
    ids = json.loads(cassettes["test_debug__00"]["request_body"])["ids"]
    httpserver.expect_request("/paper/batch", method="POST", json={"ids": ids}).respond_with_data(
        body(s2, "test_debug__00"), status=403, content_type="application/json"
    )
    with pytest.raises(SourceError, match="HTTP 403: Forbidden"):
        list(fetch_s2_papers_batch(client, ids, base_url=httpserver.url_for("")))


def test_batch_post_in_chunks_skips_nulls(
    httpserver: HTTPServer, client: PoliteClient, s2: Path, cassettes: dict
):
    recorded = json.loads(body(s2, "test_get_papers_not_found_warning__00"))
    asked = json.loads(cassettes["test_get_papers_not_found_warning__00"]["request_body"])["ids"]
    chunks: list[list[str]] = []

    def answer(request: Request) -> Response:
        ids = request.get_json()["ids"]
        chunks.append(ids)
        # The recorded reply for the recorded ids; null (not found) for the padding ids.
        reply = [recorded[asked.index(i)] if i in asked else None for i in ids]
        return Response(json.dumps(reply), content_type="application/json")

    httpserver.expect_request("/paper/batch", method="POST").respond_with_handler(answer)
    ids = [f"CorpusId:{n}" for n in range(1000, 1498)] + asked  # 502 ids: two chunks
    batches = list(fetch_s2_papers_batch(client, ids, base_url=httpserver.url_for("")))
    assert [len(c) for c in chunks] == [500, 2]
    assert [b.cursor for b in batches] == ["500", None]
    assert [len(b.records) for b in batches] == [1, 2]  # asked[0] is not found: null, skipped
    titles = {r.title for b in batches for r in b.records}
    assert "How Much Should We Trust Differences-in-Differences Estimates?" in titles
