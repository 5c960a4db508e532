"""Hugging Face daily papers: recorded responses replayed from files and over a loopback server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources.hf_daily import fetch_hf_daily, parse_entry, read_files
from paperscope.sources.http import PoliteClient, SourceError

SOTAWHAT = "hf_daily_papers/lucas-m-lopes_sotawhat/hf_daily_papers.json"
NEWS = "hf_daily_papers/DiQu1997_NewsAssistant/hf_daily_papers.json"


@pytest.fixture(scope="module")
def entries(fixtures_dir: Path) -> list[dict]:
    return json.loads((fixtures_dir / SOTAWHAT).read_bytes())


def polite(sleeps: list[float], retries: int = 3) -> PoliteClient:
    return PoliteClient("paperscope-tests", min_interval=0, retries=retries, sleep=sleeps.append)


def papers_of(batches) -> list:
    return [record for batch in batches for record in batch.records]


def test_thirty_entries(fixtures_dir: Path) -> None:
    batches = list(read_files(fixtures_dir / SOTAWHAT))
    assert len(batches) == 1 and batches[0].cursor is None
    records = batches[0].records
    assert len(records) == 30 and all(isinstance(r, PaperRecord) for r in records)
    assert max(r.upvotes for r in records) == 118
    assert sum(bool(r.code_urls) for r in records) == 16
    assert sum(bool(r.orgs) for r in records) == 16
    assert sum("project" in r.links for r in records) == 13
    assert {r.featured_on for r in records} == {date(2026, 6, 12)}
    assert min(r.published for r in records) == date(2026, 5, 30)
    assert max(r.published for r in records) == date(2026, 6, 11)
    assert sum(len(r.authors) for r in records) == 202 and sum(len(r.keywords) for r in records) == 289
    assert {r.source for r in records} == {"hf"} and all(r.source_key == r.arxiv_id for r in records)


def test_entry_fields(fixtures_dir: Path) -> None:
    by_id = {r.arxiv_id: r for r in papers_of(read_files(fixtures_dir / SOTAWHAT))}
    top = by_id["2606.13681"]
    assert top.title == "EvoArena: Tracking Memory Evolution for Robust LLM Agents in Dynamic Environments"
    assert top.upvotes == 118
    assert top.code_urls == ["https://github.com/Aiden0526/EvoArena"]
    assert top.links == {"project": "https://aiden0526.github.io/EvoArena/"}
    assert top.orgs == ["MIT"]
    assert top.keywords[:3] == ["large language model agents", "EvoArena", "EvoMem"]
    first = by_id["2606.00467"]
    assert [a.name for a in first.authors] == ["Etienne Casanova", "Rafal Kocielnik", "R. Michael Alvarez"]
    assert first.abstract.startswith("Large Language Models (LLMs) are increasingly used")
    assert (first.published, first.featured_on, first.upvotes) == (date(2026, 5, 30), date(2026, 6, 12), 0)
    assert first.orgs == ["caltech"] and first.code_urls == [] and first.links == {}
    # A hidden author is still a real name on the paper.
    assert "Dengyang Jiang" in [a.name for a in by_id["2606.12575"].authors]


def test_pretty_printed_file(fixtures_dir: Path) -> None:
    records = papers_of(read_files([fixtures_dir / NEWS]))
    assert [r.arxiv_id for r in records] == ["2607.26654", "2607.28229", "2607.27851"]
    assert [r.orgs for r in records] == [["Oxford"], ["EMBL-Rome"], ["kinamind"]]
    assert records[0].code_urls == ["https://github.com/desBugger/constitutional-mt"]
    assert records[0].links == {"project": "https://www.lesswrong.com/posts/n5htoDGvKKJFAjji2"}
    assert [r.upvotes for r in records] == [3, 4, 2]
    assert {r.featured_on for r in records} == {date(2026, 8, 3)}


def test_malformed_entries_and_files(tmp_path: Path, entries: list[dict]) -> None:
    good = entries[0]
    no_title = json.loads(json.dumps(good))
    del no_title["paper"]["title"]
    del no_title["title"]
    bad_date = json.loads(json.dumps(good))
    bad_date["paper"]["publishedAt"] = "2026-02-30T00:00:00.000Z"
    bad_id = json.loads(json.dumps(good))
    bad_id["paper"]["id"] = "not-an-id"
    path = tmp_path / "page.json"
    path.write_text(json.dumps([no_title, good, bad_date, bad_id, "text", {"title": "no paper"}]))
    broken = tmp_path / "broken.json"
    broken.write_text('[{"paper": ')
    batches = list(read_files([path, broken]))
    records = batches[0].records
    assert [type(r).__name__ for r in records] == ["Malformed", "PaperRecord", *["Malformed"] * 4]
    reasons = {r.position: r.reason for r in records if isinstance(r, Malformed)}
    assert "2606.00467: missing title" in reasons[f"{path}#0"]
    assert "impossible paper.publishedAt" in reasons[f"{path}#2"]
    assert "not an arXiv id" in reasons[f"{path}#3"]
    assert reasons[f"{path}#4"] == "entry is not a JSON object"
    assert reasons[f"{path}#5"] == "entry has no 'paper' object"
    # Cut short inside its first entry: that entry is quarantined with where it starts.
    assert len(batches[1].records) == 1
    assert batches[1].records[0].position == f"{broken}#0 (byte 1)"
    assert batches[1].records[0].reason == "response cut short inside this entry"
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    (batch,) = list(read_files([garbage]))
    assert batch.records[0].position == str(garbage)
    assert "not a daily-papers response" in batch.records[0].reason


def test_featured_on_falls_back_to_the_requested_day(entries: list[dict]) -> None:
    entry = json.loads(json.dumps(entries[1]))
    del entry["paper"]["submittedOnDailyAt"]
    record = parse_entry(entry, "x", date(2026, 6, 10))
    assert record.featured_on == date(2026, 6, 10) and record.arxiv_id == "2606.12730"
    assert parse_entry(entry, "x").featured_on is None


def _serve_pages(httpserver: HTTPServer, entries: list[dict], seen: list[dict]) -> None:
    def handler(request: Request) -> Response:
        seen.append(dict(request.args))
        limit, page = int(request.args["limit"]), int(request.args["p"])
        body = entries[page * limit:(page + 1) * limit]
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/daily_papers").respond_with_handler(handler)


def test_live_paging_follows_pages(httpserver: HTTPServer, entries: list[dict]) -> None:
    seen: list[dict] = []
    _serve_pages(httpserver, entries, seen)
    with polite([]) as client:
        batches = list(
            fetch_hf_daily(client, date=date(2026, 6, 12), limit=12, base_url=httpserver.url_for("/"))
        )
    assert [len(b.records) for b in batches] == [12, 12, 6, 0]
    assert [b.cursor for b in batches] == ["2026-06-12:1", "2026-06-12:2", "2026-06-12:3", None]
    assert seen == [{"limit": "12", "p": str(p), "date": "2026-06-12"} for p in range(4)]
    ids = [r.arxiv_id for r in papers_of(batches)]
    assert ids == [e["paper"]["id"] for e in entries]
    assert papers_of(batches)[0].featured_on == date(2026, 6, 12)


def test_live_resumes_from_cursor(httpserver: HTTPServer, entries: list[dict]) -> None:
    seen: list[dict] = []
    _serve_pages(httpserver, entries, seen)
    with polite([]) as client:
        batches = list(
            fetch_hf_daily(client, limit=12, cursor="2026-06-12:2", base_url=httpserver.url_for("/"))
        )
    assert [r.arxiv_id for r in papers_of(batches)] == [e["paper"]["id"] for e in entries[24:]]
    assert [s["p"] for s in seen] == ["2", "3"] and all(s["date"] == "2026-06-12" for s in seen)


def test_live_latest_list_without_date(httpserver: HTTPServer, entries: list[dict]) -> None:
    seen: list[dict] = []
    _serve_pages(httpserver, entries, seen)
    with polite([]) as client:
        batches = list(fetch_hf_daily(client, limit=20, base_url=httpserver.url_for("/")))
    assert [b.cursor for b in batches] == ["1", "2", None]
    assert "date" not in seen[0]


def test_live_stops_when_pages_repeat(httpserver: HTTPServer, entries: list[dict]) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_json(entries[:5])
    with polite([]) as client:
        batches = list(fetch_hf_daily(client, date="2026-06-12", base_url=httpserver.url_for("/")))
    assert [len(b.records) for b in batches] == [5, 0]
    assert len(httpserver.log) == 2


def test_live_retries_429_with_retry_after(httpserver: HTTPServer, entries: list[dict]) -> None:
    httpserver.expect_ordered_request("/api/daily_papers").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request("/api/daily_papers").respond_with_json(entries[:3])
    httpserver.expect_ordered_request("/api/daily_papers").respond_with_json([])
    sleeps: list[float] = []
    with polite(sleeps) as client:
        batches = list(fetch_hf_daily(client, date="2026-06-12", limit=3, base_url=httpserver.url_for("/")))
    assert sleeps == [7.0]
    assert [r.arxiv_id for r in papers_of(batches)] == ["2606.00467", "2606.12730", "2606.13594"]
    assert len(httpserver.log) == 3


def test_live_500_forever_raises(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_data("upstream broke", status=500)
    sleeps: list[float] = []
    with polite(sleeps, retries=2) as client, pytest.raises(SourceError) as caught:
        list(fetch_hf_daily(client, date="2026-06-12", base_url=httpserver.url_for("/")))
    assert caught.value.status == 500
    assert "/api/daily_papers?limit=100&p=0&date=2026-06-12" in caught.value.url
    assert "upstream broke" in str(caught.value)
    assert len(sleeps) == 2 and len(httpserver.log) == 3


def test_live_non_array_body_raises(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/daily_papers").respond_with_json({"error": "Invalid date"})
    expected = "not a daily-papers JSON array.*Invalid date"
    with polite([]) as client, pytest.raises(SourceError, match=expected):
        list(fetch_hf_daily(client, date="2026-06-12", base_url=httpserver.url_for("/")))
