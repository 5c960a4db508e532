"""The paper page shows where each value came from and where the sources differ."""

from __future__ import annotations

from typing import Any


def test_paper_page_shows_provenance(client: Any) -> None:
    html = client.get("/papers/doi:10.1093/mind/lix.236.433").text
    assert "Where the data comes from" in html and '<tr data-field="title">' in html
    assert "Where the sources differ" in html and '<li data-field="cited_by_count">' in html
    assert "s2 says 8596" in html
    api = client.get("/api/v1/papers/doi:10.1093/mind/lix.236.433").json()
    assert api["provenance"]["fields"]["title"]["source"] == "s2"
