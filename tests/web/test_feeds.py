"""Atom feeds: valid (feedparser reads them without complaint), the same papers as the pages, and
linked from the pages with <link rel="alternate">."""

from __future__ import annotations

from typing import Any

import feedparser


def _feed(client: Any, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml"), r.text[:300]
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_daily_trending_search_author_and_category_feeds(client: Any) -> None:
    month = _feed(client, "/feeds/daily.atom?period=month")
    api = client.get("/api/v1/papers?period=month&per_page=100").json()
    assert [e.link.rsplit("/papers/", 1)[1] for e in month.entries] == [p["id"] for p in api["papers"]]
    assert month.entries[0].title == api["papers"][0]["title"]

    _feed(client, "/feeds/trending.atom?window=month")
    search = _feed(client, "/feeds/search.atom?q=noisy+labels")
    assert search.entries and search.feed.title == "Search: noisy labels"
    author = _feed(client, "/feeds/authors/name:bo-han.atom")
    assert author.entries and all(e.get("authors") for e in author.entries)
    lg = _feed(client, "/feeds/categories/cs.LG.atom")
    assert lg.entries and all(t.term == "LG" for e in lg.entries for t in e.get("tags", []))
    assert client.get("/feeds/categories/cs.LGG.atom").status_code == 404


def test_pages_link_their_feeds(client: Any) -> None:
    home = client.get("/").text
    assert '<link rel="alternate" type="application/atom+xml" title="Daily Papers" href="/feeds/daily.atom">' in home
    assert 'href="/feeds/search.atom?q=noisy%20labels"' in client.get("/search?q=noisy+labels").text
    assert 'href="/feeds/authors/name:bo-han.atom"' in client.get("/authors/name:bo-han").text


def test_header_search_finds_authors_too(client: Any) -> None:
    html = client.get("/search?q=Bo+Han").text
    assert '<h2 id="people-title">Authors</h2>' in html and 'href="/authors/name:bo-han"' in html
    assert "people-title" not in client.get("/search?q=noisy+labels").text
