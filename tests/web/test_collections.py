"""The pages of a category, an organisation and a venue: their papers newest first, their count,
their top authors (checked against a count made from the papers' own author lists), the reference
a reader types checked with a did-you-mean, and a venue of any length stored and found on both
backends."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape
from typing import Any

from sqlalchemy import Engine

from paperscope.core.records import AuthorRecord, Batch, PaperRecord
from paperscope.ingest.pipeline import run_ingest
from paperscope.services.collections import collection_page
from tests.conftest import BACKENDS


def _all_papers(client: Any, path: str) -> list[dict[str, Any]]:
    papers, page = [], 1
    while True:
        body = client.get(path, params={"page": page, "per_page": 100}).json()
        papers += body["papers"]
        if page >= body["pages"]:
            return papers
        page += 1


def test_category_page_lists_its_papers_and_top_authors(client: Any) -> None:
    by_tag = client.get("/api/v1/categories/LG").json()
    assert client.get("/api/v1/categories/cs.LG").json()["total"] == by_tag["total"] > 20
    papers = _all_papers(client, "/api/v1/categories/LG")
    assert len(papers) == by_tag["total"] and all(p["tag"] == "LG" for p in papers)
    published = [p["published"] for p in papers if p["published"]]
    assert published == sorted(published, reverse=True)  # newest first
    # Top authors: the identities on most of these papers, counted here from the cards themselves.
    counted = Counter(a["id"] for p in papers for a in p["authors"] if a.get("id"))
    top = by_tag["top_authors"]
    assert top[0]["papers"] == max(counted.values())
    # A card names its first authors only: what it shows is a lower bound of each count.
    assert all(counted[a["identity_id"]] <= a["papers"] for a in top)
    assert [a["papers"] for a in top] == sorted((a["papers"] for a in top), reverse=True)

    html = client.get("/categories/cs.LG").text
    assert "<h1>LG</h1>" in html and f'href="/authors/{top[0]["identity_id"]}"' in html
    assert 'rel="alternate" type="application/atom+xml"' in html and "/feeds/categories/LG.atom" in html
    unknown = client.get("/api/v1/categories/cs.LGG")
    assert unknown.status_code == 422 and "did you mean" in unknown.json()["error"]["message"]


def test_organisation_and_venue_pages(client: Any) -> None:
    org = client.get("/api/v1/organisations/tsinghua").json()
    assert org["kind"] == "organisation" and org["total"] == 4
    assert all("tsinghua" in p["orgs"] for p in org["papers"])
    assert client.get("/api/v1/organisations/Tsinghua").json()["key"] == "tsinghua"  # by name, any case
    missing = client.get("/api/v1/organisations/tsinghu")
    assert missing.status_code == 404 and "did you mean 'tsinghua'" in missing.json()["error"]["message"]

    lrec = client.get("/api/v1/venues/LREC", params={"per_page": 50}).json()
    assert lrec["total"] == len(_all_papers(client, "/api/v1/venues/LREC")) > 100
    assert lrec["pages"] == -(-lrec["total"] // 50) and lrec["top_authors"]
    html = client.get("/venues/LREC", params={"page": 2}).text
    assert "<h1>LREC</h1>" in html and "Page 2 of" in html and "Top authors" in html
    assert client.get("/venues/No Such Venue").status_code == 404


@BACKENDS
def test_a_venue_of_any_length_is_stored_and_found(engine: Engine) -> None:
    long_venue = "Proceedings of " + "a very long workshop name " * 300  # over PostgreSQL's btree entry limit
    records = [PaperRecord(source="listing", source_key=f"v{i}", title=f"Paper {i} at the long venue", year=2024,
                           venue=long_venue, authors=[AuthorRecord(name="Ada Venue")]) for i in range(3)]
    summary = run_ingest(engine, "listing", "venues", lambda _c: iter([Batch(records)]))
    assert summary.counts["papers_new"] == 3
    found = collection_page(engine, "venue", long_venue.strip())
    assert found["total"] == 3 and [a["papers"] for a in found["top_authors"]] == [3]
    # Two venues sharing their first 200 characters stay two.
    other = long_venue[:250] + " (findings)"
    run_ingest(engine, "listing", "venues2", lambda _c: iter([Batch([PaperRecord(
        source="listing", source_key="w", title="A findings paper", year=2024, venue=other)])]))
    assert collection_page(engine, "venue", other)["total"] == 1
    assert collection_page(engine, "venue", long_venue.strip())["total"] == 3


def test_the_paper_page_links_its_category_organisations_and_venue(client: Any) -> None:
    lrec = client.get("/api/v1/venues/LREC", params={"per_page": 1}).json()["papers"][0]
    html = client.get(f"/papers/{lrec['id']}").text
    assert 'href="/venues/LREC"' in html and client.get("/venues/LREC").status_code == 200
    org = client.get("/api/v1/organisations/tsinghua", params={"per_page": 1}).json()["papers"][0]
    html = client.get(f"/papers/{org['id']}").text
    assert 'href="/organisations/tsinghua"' in html
    links = set(re.findall(r'href="(/(?:categories|organisations|venues)/[^"]+)"', html))
    assert links and all(client.get(unescape(link)).status_code == 200 for link in links)


def test_card_tags_and_organisations_link_to_their_pages(client: Any) -> None:
    page = client.get("/organisations/tsinghua").text  # its cards name tsinghua among their organisations
    assert page.count('href="/organisations/tsinghua">tsinghua</a>') == 4
    cards = client.get("/search", params={"q": "learning"}).text
    tags = set(re.findall(r'<a class="tag" href="(/categories/[^"]+)"', cards))
    assert tags and all(client.get(unescape(t)).status_code == 200 for t in tags)
