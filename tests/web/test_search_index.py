"""Search through the search indexes (services.search) when they are built: the page, its JSON
twin and the search service agree, and each result says why it matched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperscope.core.settings import load_settings
from paperscope.services.runtime import Runtime
from paperscope.web.app import create_app

search_service = pytest.importorskip("paperscope.services.search")


@pytest.fixture(scope="module")
def indexed(web_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    from fastapi.testclient import TestClient

    data_dir = tmp_path_factory.mktemp("indexed")
    search_service.build_indexes(web_engine, data_dir, embed=False)
    runtime = Runtime(load_settings({"PAPERSCOPE_DATA_DIR": str(data_dir)}), web_engine)
    return TestClient(create_app(runtime, secret_key="k")), runtime


def test_keyword_search_uses_the_index(indexed: tuple[Any, Any], web_engine: Engine) -> None:
    client, runtime = indexed
    expected = runtime.searcher.search("graph neural", "keyword", limit=10)
    got = client.get("/api/v1/search?q=graph neural&per_page=10").json()
    assert got["mode_used"] == "keyword"
    assert [p["id"] for p in got["papers"]] == [h.paper_id for h in expected.hits]
    assert got["papers"] and all(p["why"] and p["why"][0].startswith("keyword #") for p in got["papers"])
    html = client.get("/search?q=graph+neural&per_page=10").text
    assert expected.hits[0].why[0].split(" — ")[0] in html


def test_index_pages_follow_on(indexed: tuple[Any, Path]) -> None:
    client, _ = indexed
    one = client.get("/api/v1/search?q=learning&per_page=5").json()
    two = client.get("/api/v1/search?q=learning&per_page=5&page=2").json()
    assert one["pages"] == 2 and not one["total_exact"]
    assert not {p["id"] for p in one["papers"]} & {p["id"] for p in two["papers"]}


def test_semantic_without_its_index_falls_back_and_says_so(indexed: tuple[Any, Path]) -> None:
    client, _ = indexed
    got = client.get("/api/v1/search?q=graph&mode=semantic").json()
    assert got["mode_used"] == "keyword" and any("index" in n for n in got["notes"])
