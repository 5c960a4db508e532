"""A source that fails mid-run is reported clearly; the same run resumes from its last cursor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

from paperscope.ingest.pipeline import run_ingest
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.openalex import fetch_openalex_works
from paperscope.store import schema


def _pages(fixtures_dir: Path) -> tuple[dict, dict]:
    folder = fixtures_dir / "openalex" / "rkrug_openalexPro"
    first = json.loads((folder / "chunk_1_cursor_page_1.json").read_text())
    last = json.loads((folder / "chunk_1_cursor_page_2_last.json").read_text())
    return first, last


def test_failed_source_is_reported_and_the_next_run_resumes(engine, fixtures_dir, httpserver: HTTPServer):
    first, last = _pages(fixtures_dir)
    next_cursor = first["meta"]["next_cursor"]
    state = {"fail": True, "cursors": []}

    def handler(request: Request) -> Response:
        cursor = request.args.get("cursor")
        state["cursors"].append(cursor)
        if cursor == "*":
            return Response(json.dumps(first), content_type="application/json")
        if state["fail"]:
            return Response("upstream timeout", status=503)
        return Response(json.dumps(last), content_type="application/json")

    httpserver.expect_request("/works").respond_with_handler(handler)
    client = PoliteClient("paperscope-test", min_interval=0, retries=2, sleep=lambda _s: None)

    def batches(cursor):
        return fetch_openalex_works(client, filter="x", cursor=cursor, base_url=httpserver.url_for(""))

    with pytest.raises(SourceError) as failure:
        run_ingest(engine, "openalex", "live:test", batches)
    assert "503" in str(failure.value) and "/works" in str(failure.value)
    with engine.connect() as connection:
        run = connection.execute(select(schema.ingest_runs)).mappings().one()
        landed = connection.execute(select(func.count()).select_from(schema.papers)).scalar_one()
    assert run["status"] == "failed" and "503" in run["error"]
    assert run["cursor"] == next_cursor  # the first page is in; the run knows where it stopped
    assert landed == run["counts"]["papers_new"] > 40  # 50 works on the page, a few without titles

    state["fail"] = False
    state["cursors"].clear()
    summary = run_ingest(engine, "openalex", "live:test", batches)
    assert summary.resumed_from == next_cursor
    assert state["cursors"] == [next_cursor]  # the first page was not fetched again
    assert summary.status == "done"
