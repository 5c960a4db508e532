"""arXiv OAI-PMH source: recorded responses replayed from files and served over real HTTP."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources.arxiv_common import split_author_string, split_dois
from paperscope.sources.arxiv_oai import fetch_arxiv_oai, fetch_arxiv_oai_record, parse_oai, read_files
from paperscope.sources.http import PoliteClient, SourceError

DATA = Path(__file__).resolve().parents[1] / "data" / "arxiv"
XML_TYPE = "text/xml; charset=utf-8"

# Records per recorded response, and the resumption token it ends with (None: no token / end).
EXPECTED = {
    "AtomikLabs_aws-iac/test_arxiv_data_oai_dc_ListRecords.xml": (5, "6960524|1001"),
    "inspirehep_hepcrawl/arxiv-physics-hep-ex.xml": (3, None),
    "inspirehep_hepcrawl/arxiv-physics-hep-th.xml": (3, None),
    "inspirehep_hepcrawl/arxiv-single.xml": (1, None),
    "inspirehep_hepcrawl/sample_arxiv_record.xml": (12, None),
    **{f"inspirehep_hepcrawl/sample_arxiv_record{n}.xml": (1, None) for n in range(11)},
    "mikesaelim_arXivOAIHarvester/GetRecordResponse.xml": (1, None),
    "mikesaelim_arXivOAIHarvester/ListRecordsResponse.xml": (6, "726959|1001"),
    "mikesaelim_arXivOAIHarvester/ErrorResponseNoRecordsMatch.xml": (0, None),
}
ERRORS = {
    "ErrorResponseBadArgument.xml": ("badArgument", "Verb 'ListRecords', illegal argument 'identifier'."),
    "ErrorResponseBadResumptionToken.xml": (
        "badResumptionToken",
        "The resumptionToken supplied is illegal for this repository",
    ),
    "ErrorResponseBadVerb.xml": ("badVerb", "Bad verb. Verb 'wah' not implemented."),
    "ErrorResponseIdDoesNotExist.xml": (
        "idDoesNotExist",
        "Identifier 'oai:arXiv.org:0813.2274' has correct form but does not correspond to an item in this "
        "repository",
    ),
}


@pytest.fixture(scope="module")
def oai_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "arxiv_oai"


def papers(path: Path) -> list[PaperRecord]:
    (batch,) = list(read_files([path]))
    assert all(isinstance(r, PaperRecord) for r in batch.records), batch.records
    return batch.records  # type: ignore[return-value]


def by_id(records: list[PaperRecord]) -> dict[str, PaperRecord]:
    return {r.arxiv_id: r for r in records}  # type: ignore[misc]


def polite(sleeps: list[float]) -> PoliteClient:
    return PoliteClient("paperscope-tests", min_interval=0, retries=3, sleep=sleeps.append)


# --- replaying recorded responses -------------------------------------------------------------


def test_every_recorded_file_is_covered(oai_dir: Path) -> None:
    on_disk = {str(p.relative_to(oai_dir)) for p in oai_dir.glob("*/*.xml")}
    assert on_disk == set(EXPECTED) | {f"mikesaelim_arXivOAIHarvester/{name}" for name in ERRORS}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_records_and_resumption_token_of_each_file(oai_dir: Path, name: str) -> None:
    count, token = EXPECTED[name]
    (batch,) = list(read_files([oai_dir / name]))
    assert len(batch.records) == count
    assert all(isinstance(r, PaperRecord) for r in batch.records)
    assert batch.cursor == token
    for record in batch.records:
        assert record.source == "arxiv_oai"
        assert record.source_key == f"oai:arXiv.org:{record.arxiv_id}"
        assert record.title and record.title == " ".join(record.title.split())
        assert record.published is not None


def test_resumption_token_attributes(oai_dir: Path) -> None:
    page = parse_oai((oai_dir / "mikesaelim_arXivOAIHarvester/ListRecordsResponse.xml").read_bytes())
    assert (page.resumption_token, page.cursor, page.complete_list_size) == ("726959|1001", 0, 58011)
    page = parse_oai(oai_dir / "AtomikLabs_aws-iac/test_arxiv_data_oai_dc_ListRecords.xml")
    assert (page.resumption_token, page.complete_list_size) == ("6960524|1001", 1162)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_each_oai_error_code_is_quarantined_with_its_code(oai_dir: Path, name: str) -> None:
    code, message = ERRORS[name]
    (batch,) = list(read_files([oai_dir / "mikesaelim_arXivOAIHarvester" / name]))
    (bad,) = batch.records
    assert isinstance(bad, Malformed)
    assert bad.reason == f"OAI-PMH error {code}: {message}"
    assert batch.cursor is None


def test_no_records_match_is_zero_records_not_an_error(oai_dir: Path) -> None:
    page = parse_oai(oai_dir / "mikesaelim_arXivOAIHarvester/ErrorResponseNoRecordsMatch.xml")
    assert page.error_code == "noRecordsMatch"
    assert page.records == []


def test_arxiv_raw_versions_authors_and_two_dois(oai_dir: Path) -> None:
    records = by_id(papers(oai_dir / "mikesaelim_arXivOAIHarvester/ListRecordsResponse.xml"))
    first = records["0704.0471"]
    assert first.title == (
        "Density dependence of the symmetry energy and the nuclear equation of state: "
        "A Dynamical and Statistical model perspective"
    )
    assert [a.name for a in first.authors] == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert first.doi == "10.1103/physrevc.76.024606"  # the first of two
    assert first.categories == ["nucl-ex", "nucl-th"] and first.primary_category == "nucl-ex"
    assert first.journal_ref == "Phys.Rev.C76:024606,2007; Erratum-ibid.C76:039902,2007"
    assert (first.arxiv_version, first.published, first.updated) == (1, date(2007, 4, 3), date(2007, 4, 3))
    four = records["0704.0716"]
    assert (four.arxiv_version, four.published, four.updated) == (4, date(2007, 4, 5), date(2008, 11, 14))
    assert four.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert four.comments == (
        "54 pages, 2 figures; v2 updated and slightly expanded; v3 changes in some proofs; "
        "v4 slightly expanded"
    )
    assert [a.name for a in records["0704.1586"].authors] == ["N.C. Summers", "F.M. Nunes"]
    assert records["0704.1586"].doi == "10.1103/physrevc.76.014611"


def test_arxiv_raw_get_record(oai_dir: Path) -> None:
    (paper,) = papers(oai_dir / "mikesaelim_arXivOAIHarvester/GetRecordResponse.xml")
    assert paper.arxiv_id == "1302.2146"
    assert (paper.arxiv_version, paper.published, paper.updated) == (2, date(2013, 2, 8), date(2013, 4, 2))
    assert [a.name for a in paper.authors] == [
        "Joshua Berger",
        "Maxim Perelstein",
        "Michael Saelim",
        "Philip Tanedo",
    ]
    assert paper.doi is None
    assert paper.abstract is not None and paper.abstract.startswith(
        "The lack of observation of superpartners"
    )
    assert "\n" not in paper.abstract


def test_arxiv_format_fields(oai_dir: Path) -> None:
    (paper,) = papers(oai_dir / "inspirehep_hepcrawl/arxiv-single.xml")
    assert paper.arxiv_id == "1401.2122"
    assert paper.arxiv_version is None  # the arXiv format does not say
    assert (paper.published, paper.updated) == (date(2014, 1, 9), date(2017, 10, 23))
    assert [a.name for a in paper.authors] == ["A. Sergyeyev"]
    assert paper.primary_category == "math.AP"
    assert paper.categories == ["math.AP", "hep-th", "math-ph", "math.DG", "math.MP", "nlin.SI"]
    assert paper.doi == "10.1007/s11005-017-1013-4"
    assert paper.journal_ref == "Lett. Math. Phys. 108 (2018), no. 2, 359-376"
    assert paper.links == {
        "abs": "https://arxiv.org/abs/1401.2122",
        "pdf": "https://arxiv.org/pdf/1401.2122",
        "doi": "https://doi.org/10.1007/s11005-017-1013-4",
    }


def test_record_without_namespace_on_its_metadata(oai_dir: Path) -> None:
    (paper,) = papers(oai_dir / "inspirehep_hepcrawl/sample_arxiv_record0.xml")
    assert paper.arxiv_id == "1601.03238"
    assert paper.title == "Irreversible degradation of quantum coherence under relativistic motion"
    assert [a.name for a in paper.authors] == [
        "Planck Collaboration",
        "Jieci Wang",
        "Zehua Tian",
        "Jiliang Jing",
        "Heng Fan",
    ]
    assert paper.doi == "10.1103/physrevd.93.016005"  # three DOIs, separated by "," and ";"
    assert paper.other_ids == {"report_no": "YITP-2016-26"}
    assert paper.license == "https://creativecommons.org/licenses/by/3.0/"
    concatenated = by_id(papers(oai_dir / "inspirehep_hepcrawl/sample_arxiv_record.xml"))
    assert concatenated["1601.03238"].title == paper.title
    assert concatenated["1601.03238"].categories == ["quant-ph", "gr-qc", "hep-th"]


def test_affiliations_suffixes_and_stray_colons(oai_dir: Path) -> None:
    (bicep,) = papers(oai_dir / "inspirehep_hepcrawl/sample_arxiv_record4.xml")
    names = [a.name for a in bicep.authors]
    assert ":" not in names
    assert "R. W. IV" in names
    assert names[:3] == ["Keck Array", "BICEP2 Collaborations", "P. Ade"]
    records = by_id(papers(oai_dir / "inspirehep_hepcrawl/sample_arxiv_record.xml"))
    na61 = records["1808.04927"]
    assert [(a.name, a.affiliations) for a in na61.authors][0] == (
        "N. Abgrall",
        ["The NA61/SHINE Collaboration"],
    )
    assert len(na61.authors) == 8


def test_oai_dc_records(oai_dir: Path) -> None:
    records = papers(oai_dir / "AtomikLabs_aws-iac/test_arxiv_data_oai_dc_ListRecords.xml")
    first = records[0]
    assert first.arxiv_id == "1303.2033"
    assert first.title == "Extended Fourier analysis of signals"
    assert [a.name for a in first.authors] == ["Vilnis Liepins"]
    assert first.comments == "32 pages, 9 figures"
    assert first.abstract is not None and first.abstract.startswith("This summary of the doctoral thesis")
    assert (first.published, first.updated) == (date(2013, 3, 8), date(2024, 1, 23))
    assert first.primary_category is None and first.categories == []
    assert first.keywords[0] == "Computer Science - Data Structures and Algorithms"
    assert records[4].title == "(Chat)GPT v BERT: Dawn of Justice for Semantic Change Detection"
    assert [a.name for a in records[4].authors] == ["Francesco Periti", "Haim Dubossarsky", "Nina Tahmasebi"]


def test_deleted_and_broken_records() -> None:
    (batch,) = list(read_files([DATA / "oai_malformed_last_page.xml"]))
    assert batch.cursor is None  # the empty resumptionToken ends the list
    good, no_title, bad_id = batch.records  # the deleted record is skipped, counted nowhere
    assert isinstance(good, PaperRecord)
    assert good.title == "A Good Record"
    assert good.doi == "10.1234/good.1"
    assert [(a.name, a.affiliations) for a in good.authors] == [("Ada Lovelace", ["Analytical Engine Lab"])]
    assert (good.published, good.updated) == (date(2024, 1, 1), date(2024, 3, 15))
    assert isinstance(no_title, Malformed) and isinstance(bad_id, Malformed)
    assert no_title.reason == "record has no title"
    assert no_title.position == "oai_malformed_last_page.xml#record2 (oai:arXiv.org:2401.00012)"
    assert "not an arXiv id" in bad_id.reason
    assert "<title>A record with a bad id</title>" in (bad_id.raw or "")
    assert parse_oai(DATA / "oai_malformed_last_page.xml").deleted == 1


def test_xml_broken_part_way_keeps_the_records_before(oai_dir: Path, tmp_path: Path) -> None:
    whole = (oai_dir / "mikesaelim_arXivOAIHarvester/ListRecordsResponse.xml").read_bytes()
    cut = whole[: whole.index(b"<record>", whole.index(b"oai:arXiv.org:0704.0716")) + 30]
    path = tmp_path / "cut.xml"
    path.write_bytes(cut)
    (batch,) = list(read_files([path]))
    assert [type(r).__name__ for r in batch.records] == ["PaperRecord", "PaperRecord", "Malformed"]
    assert batch.records[2].reason == "<record> element cut short (no closing tag)"  # type: ignore[union-attr]
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"not xml at all")
    (batch,) = list(read_files([garbage]))
    assert isinstance(batch.records[0], Malformed) and "unreadable" in batch.records[0].reason


# --- the live path over real HTTP -------------------------------------------------------------


def _serve_pages(httpserver: HTTPServer, oai_dir: Path, requests: list[dict[str, str]]) -> None:
    pages = {
        None: oai_dir / "mikesaelim_arXivOAIHarvester/ListRecordsResponse.xml",
        "726959|1001": oai_dir / "AtomikLabs_aws-iac/test_arxiv_data_oai_dc_ListRecords.xml",
        "6960524|1001": DATA / "oai_malformed_last_page.xml",
    }

    def handler(request: Request) -> Response:
        args = dict(request.args)
        requests.append(args)
        return Response(pages[args.get("resumptionToken")].read_bytes(), content_type=XML_TYPE)

    httpserver.expect_request("/oai").respond_with_handler(handler)


def test_harvest_follows_resumption_tokens(httpserver: HTTPServer, oai_dir: Path) -> None:
    requests: list[dict[str, str]] = []
    _serve_pages(httpserver, oai_dir, requests)
    with polite([]) as client:
        batches = list(
            fetch_arxiv_oai(
                client,
                metadata_prefix="arXivRaw",
                set_spec="physics",
                date_from=date(2014, 10, 1),
                base_url=httpserver.url_for("/oai"),
            )
        )
    assert requests == [
        {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "physics", "from": "2014-10-01"},
        {"verb": "ListRecords", "resumptionToken": "726959|1001"},
        {"verb": "ListRecords", "resumptionToken": "6960524|1001"},
    ]
    assert [b.cursor for b in batches] == ["726959|1001", "6960524|1001", None]
    assert [len(b.records) for b in batches] == [6, 5, 3]
    assert batches[0].label == "records from 0 of 58011"
    # The malformed records of the last page are quarantined; its good record still arrives.
    assert [type(r).__name__ for r in batches[2].records] == ["PaperRecord", "Malformed", "Malformed"]
    assert batches[2].records[0].arxiv_id == "2401.00010"  # type: ignore[union-attr]


def test_harvest_resumes_from_a_token(httpserver: HTTPServer, oai_dir: Path) -> None:
    requests: list[dict[str, str]] = []
    _serve_pages(httpserver, oai_dir, requests)
    with polite([]) as client:
        batches = list(fetch_arxiv_oai(client, cursor="726959|1001", base_url=httpserver.url_for("/oai")))
    assert [r.get("resumptionToken") for r in requests] == ["726959|1001", "6960524|1001"]
    assert all("metadataPrefix" not in r for r in requests)
    assert [b.cursor for b in batches] == ["6960524|1001", None]
    assert batches[0].records[0].title == "Extended Fourier analysis of signals"  # type: ignore[union-attr]


def test_503_with_retry_after_then_success(httpserver: HTTPServer, oai_dir: Path) -> None:
    body = (oai_dir / "inspirehep_hepcrawl/arxiv-physics-hep-ex.xml").read_bytes()
    httpserver.expect_ordered_request("/oai").respond_with_data(
        "Retry after 11 seconds", status=503, headers={"Retry-After": "11"}
    )
    httpserver.expect_ordered_request("/oai").respond_with_data(body, content_type=XML_TYPE)
    sleeps: list[float] = []
    with polite(sleeps) as client:
        (batch,) = list(
            fetch_arxiv_oai(
                client, set_spec="physics:hep-ex", date_from="2017-12-14", base_url=httpserver.url_for("/oai")
            )
        )
    assert sleeps == [11.0]
    assert batch.cursor is None
    assert [r.arxiv_id for r in batch.records] == ["1706.05371", "1706.09418", "1707.00874"]  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_each_error_reply_raises_source_error(httpserver: HTTPServer, oai_dir: Path, name: str) -> None:
    code, message = ERRORS[name]
    body = (oai_dir / "mikesaelim_arXivOAIHarvester" / name).read_bytes()
    httpserver.expect_request("/oai").respond_with_data(body, content_type=XML_TYPE)
    with polite([]) as client, pytest.raises(SourceError) as caught:
        list(fetch_arxiv_oai(client, cursor="3", base_url=httpserver.url_for("/oai")))
    assert caught.value.reason == f"OAI-PMH error {code}: {message}"
    assert "resumptionToken=3" in caught.value.url


def test_no_records_match_yields_nothing(httpserver: HTTPServer, oai_dir: Path) -> None:
    body = (oai_dir / "mikesaelim_arXivOAIHarvester/ErrorResponseNoRecordsMatch.xml").read_bytes()
    httpserver.expect_request("/oai").respond_with_data(body, content_type=XML_TYPE)
    with polite([]) as client:
        assert list(fetch_arxiv_oai(client, set_spec="moo", base_url=httpserver.url_for("/oai"))) == []


def test_get_record(httpserver: HTTPServer, oai_dir: Path) -> None:
    body = (oai_dir / "mikesaelim_arXivOAIHarvester/GetRecordResponse.xml").read_bytes()
    httpserver.expect_request(
        "/oai",
        query_string={
            "verb": "GetRecord",
            "identifier": "oai:arXiv.org:1302.2146",
            "metadataPrefix": "arXivRaw",
        },
    ).respond_with_data(body, content_type=XML_TYPE)
    with polite([]) as client:
        paper = fetch_arxiv_oai_record(
            client, "1302.2146v2", metadata_prefix="arXivRaw", base_url=httpserver.url_for("/oai")
        )
    assert isinstance(paper, PaperRecord)
    assert paper.title == "The Same-Sign Dilepton Signature of RPV/MFV SUSY"


def test_unknown_metadata_prefix_is_refused() -> None:
    with polite([]) as client, pytest.raises(ValueError, match="metadata_prefix"):
        list(fetch_arxiv_oai(client, metadata_prefix="marc"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "D.V. Shetty, S.J. Yennello, and G.A. Souliotis",
            [("D.V. Shetty", []), ("S.J. Yennello", []), ("G.A. Souliotis", [])],
        ),
        ("Valeria M. Rosa and Patricio S. letelier", [("Valeria M. Rosa", []), ("Patricio S. letelier", [])]),
        (
            "A. Smith (1), B. Jones (1, 2) ((1) MIT, (2) CMU)",
            [("A. Smith", ["MIT"]), ("B. Jones", ["MIT", "CMU"])],
        ),
        (
            "John Smith, Jr., Ann Lee (Stanford and CMU)",
            [("John Smith Jr.", []), ("Ann Lee", ["Stanford and CMU"])],
        ),
        ("Sandra Anderson & AT&T Team", [("Sandra Anderson", []), ("AT&T Team", [])]),
        ("  ", []),
    ],
)
def test_author_strings_are_split(raw: str, expected: list[tuple[str, list[str]]]) -> None:
    assert split_author_string(raw) == expected


def test_doi_fields_with_several_dois() -> None:
    assert split_dois(
        "10.1103/PhysRevD.93.016005, 10.1103/PhysRevD.98.079901;10.1103/PhysRevD.98.079903"
    ) == (
        "10.1103/physrevd.93.016005",
        ["10.1103/physrevd.98.079901", "10.1103/physrevd.98.079903"],
    )
    assert split_dois("not a doi 10.1/x") == (None, [])
    assert split_dois(None) == (None, [])
