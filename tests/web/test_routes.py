"""Every route in process (FastAPI's TestClient over the fixture store): pages and their JSON twins
agree, values match the listings, invalid input is a 4xx in the one error shape, forms need CSRF."""

from __future__ import annotations

import re
from datetime import date
from html import escape, unescape
from typing import Any

import pytest

from paperscope.services import search as search_service

BO_HAN = "name:bo-han"
COMBATING = "Combating Exacerbated Heterogeneity for Robust Models in Federated Learning"
CITED = "doi:10.1002/ldr.687"  # OpenAlex reports its citations per year
ERROR_KEYS = {"status", "code", "message", "details"}


def api(client: Any, url: str, status: int = 200, **kw: Any) -> Any:
    r = client.get(url, **kw)
    assert r.status_code == status, (url, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def assert_error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    body = r.json()["error"]
    assert set(body) == ERROR_KEYS and body["status"] == status and body["message"]
    if code:
        assert body["code"] == code
    return body


def titles_in(html: str) -> list[str]:
    return [unescape(t) for t in re.findall(r'<h3 class="title"><a href="[^"]+">(.*?)</a></h3>', html)]


# --- Daily Papers -------------------------------------------------------------------------------


def test_home_lists_the_newest_day_as_the_api_does(client: Any) -> None:
    listing = api(client, "/api/v1/papers")
    assert listing["period"] == "day" and listing["start"] == listing["end"] == listing["date"]
    assert listing["total"] >= 1 and listing["papers"]
    for p in listing["papers"]:
        assert p["feed_day"] == listing["date"]
    html = client.get("/").text
    assert titles_in(html) == [p["title"] for p in listing["papers"]]
    assert "Get trending papers in your email inbox!" in html and ">Subscribe</button>" in html
    assert f'{listing["papers"][0]["author_count"]} authors' in html


def test_week_and_month_are_calendar_windows_and_newest_is_ordered(client: Any) -> None:
    day = api(client, "/api/v1/papers?period=day")
    week = api(client, f"/api/v1/papers?period=week&date={day['date']}&per_page=100")
    month = api(client, f"/api/v1/papers?period=month&date={day['date']}&per_page=100")
    anchor = date.fromisoformat(day["date"])
    assert date.fromisoformat(week["start"]).weekday() == 0 and (
        date.fromisoformat(week["end"]) - date.fromisoformat(week["start"])).days == 6
    assert week["start"] <= day["date"] <= week["end"]
    assert month["start"] == anchor.replace(day=1).isoformat() and month["end"][:7] == day["date"][:7]
    assert day["total"] <= week["total"] and day["total"] <= month["total"]
    days = [p["feed_day"] for p in month["papers"]]
    assert days == sorted(days, reverse=True)
    assert all(month["start"] <= d <= month["end"] for d in days)


def test_trending_is_the_feed_of_the_digests(client: Any, web_engine: Any) -> None:
    listing = api(client, "/api/v1/papers?period=month&sort=trending&per_page=100")
    feed = search_service.feed(web_engine, "month", day=date.fromisoformat(listing["date"]), sort="trending",
                               limit=100)
    assert [p["id"] for p in listing["papers"]] == [i.paper_id for i in feed.items]
    scores = [p["trending"] for p in listing["papers"]]
    assert len(scores) >= 2 and scores == sorted(scores, reverse=True)
    html = client.get("/?period=month&sort=trending&per_page=100").text
    assert titles_in(html) == [p["title"] for p in listing["papers"]]


def test_pages_of_a_list_do_not_overlap(client: Any) -> None:
    first = api(client, "/api/v1/papers?period=month&per_page=2")
    second = api(client, "/api/v1/papers?period=month&per_page=2&page=2")
    assert first["pages"] >= 2
    assert not {p["id"] for p in first["papers"]} & {p["id"] for p in second["papers"]}
    html = client.get("/?period=month&per_page=2").text
    assert 'rel="next"' in html and "page=2" in html


def test_an_old_day_shows_the_papers_of_that_day(client: Any) -> None:
    listing = api(client, "/api/v1/papers?date=2023-12-13&period=day")
    assert "ERASE: Error-Resilient Representation Learning on Graphs for Label Noise Tolerance" in [
        p["title"] for p in listing["papers"]]


# --- authors ------------------------------------------------------------------------------------


def test_author_page_shows_the_header_and_the_listing_card(client: Any) -> None:
    profile = api(client, f"/api/v1/authors/{BO_HAN}")
    html = client.get(f"/authors/{BO_HAN}").text
    assert "<h1>Bo Han</h1>" in html
    assert f'<dd data-stat="h_index">{profile["h_index"]:,}</dd>' in html
    assert f'<dd data-stat="papers">{profile["papers"]:,}</dd>' in html
    assert f'<dd data-stat="citations">{profile["citations"]:,}</dd>' in html
    # The listing's own figures are shown as what the listing reported, beside the computed ones.
    assert "listing page author-bo-han.txt, as of 2026-11-30" in html
    assert "h-index 87" in html and "12,368 citations" in html and "Novelty 54%" in html
    card = next(c for c in profile["cards"] if c["title"] == COMBATING)
    assert card["date"] == "Mar 1, 2023" and card["code"] and card["tag"] == "LG"
    assert [a["name"] for a in card["authors"]] == ["Jianing Zhu", "Jiangchao Yao", "Tongliang Liu"] and card["et_al"]
    assert card["orgs"] == ["tsinghua"]
    block = html[html.index(escape(COMBATING)) - 600:html.index(escape(COMBATING)) + 900]
    assert "Mar 1, 2023" in block and 'class="code-badge">Code<' in block
    byline = re.sub(r"<[^>]+>|\s*\n\s*", "", block[block.index('class="authors"'):])
    assert byline.startswith('class="authors">Jianing Zhu, Jiangchao Yao, Tongliang Liu et al. · tsinghua')
    assert "Citations per year" in html


def test_author_chart_draws_the_citations_per_year(client: Any) -> None:
    paper = api(client, f"/api/v1/papers/{CITED}")
    author_id = next(a["id"] for a in paper["author_list"] if a["id"])
    profile = api(client, f"/api/v1/authors/{author_id}")
    years = profile["citations_by_year"]
    assert years and sum(years.values()) == profile["citations"] or profile["citations"] >= sum(years.values())
    html = client.get(f"/authors/{author_id}").text
    first, last = min(map(int, years)), max(map(int, years))
    assert html.count('<rect class="bar"') == last - first + 1
    for y, n in years.items():
        assert f"<title>{y}: {n:,}</title>" in html


@pytest.mark.parametrize("sort", ["date", "score", "citations"])
def test_author_page_sorts_as_the_api(client: Any, sort: str) -> None:
    profile = api(client, f"/api/v1/authors/{BO_HAN}?sort={sort}")
    assert profile["sort"] == sort
    if sort == "citations":
        counts = [c["citations"] for c in profile["cards"]]
        assert counts == sorted(counts, reverse=True)
    if sort == "date":
        days = [c["published"] for c in profile["cards"] if c["published"]]
        assert days == sorted(days, reverse=True)
    assert titles_in(client.get(f"/authors/{BO_HAN}?sort={sort}").text) == [c["title"] for c in profile["cards"]]


def test_author_links_lead_to_coauthors_and_similar_authors(client: Any) -> None:
    profile = api(client, f"/api/v1/authors/{BO_HAN}")
    html = client.get(f"/authors/{BO_HAN}").text
    assert profile["coauthors"]
    for co in profile["coauthors"][:3]:
        assert f'href="/authors/{co["id"]}"' in html
        assert client.get(f"/authors/{co['id']}").status_code == 200
    for s in profile["similar_authors"][:3]:
        assert f'href="/authors/{s["id"]}"' in html


def test_find_author_by_name(client: Any) -> None:
    hits = api(client, "/api/v1/authors?q=bo han")
    assert hits[0]["identity_id"] == BO_HAN and hits[0]["name"] == "Bo Han"
    assert {h["identity_id"] for h in api(client, "/api/v1/authors?q=BO")} >= {BO_HAN}
    assert api(client, "/api/v1/authors?q=zzzz nobody") == []
    html = client.get("/authors?q=Li Shen").text
    assert 'href="/authors/name:li-shen"' in html
    by_name = client.get("/authors/Li Shen")
    assert by_name.status_code == 200 and "<h1>Li Shen</h1>" in by_name.text


# --- papers -------------------------------------------------------------------------------------


def test_paper_page_has_authors_links_citations_chart_and_bibtex(client: Any) -> None:
    paper = api(client, f"/api/v1/papers/{CITED}")
    years = paper["citations"]["reported_by_year"]["openalex"]
    assert len(years) >= 10 and paper["citations"]["count"] >= 1
    html = client.get(f"/papers/{CITED}").text
    assert f"<h1>{escape(paper['title'])}</h1>" in html
    first, last = min(map(int, years)), max(map(int, years))
    assert html.count('<rect class="bar"') == last - first + 1
    for y, n in years.items():
        assert f"<title>{y}: {n:,}</title>" in html
    assert 'href="https://doi.org/10.1002/ldr.687"' in html
    assert paper["bibtex"].strip() in unescape(html)  # LaTeX accents carry quotes: compare as text
    assert "doi = {10.1002/ldr.687}" in paper["bibtex"]
    for a in paper["author_list"]:
        assert escape(a["name"], quote=False) in html


def test_listing_paper_page_and_bibtex(client: Any) -> None:
    profile = api(client, f"/api/v1/authors/{BO_HAN}")
    card = next(c for c in profile["cards"] if c["title"] == COMBATING)
    paper = api(client, f"/api/v1/papers/{card['id']}")
    assert paper["title"] == COMBATING and paper["has_code"]
    assert {"kind": "Code", "url": "https://github.com/ZFancy/SFAT"} in paper["link_list"]
    assert [a["name"] for a in paper["author_list"]][:3] == [a["name"] for a in card["authors"]]
    assert "Bo Han" not in [a["name"] for a in paper["author_list"]][:3]
    assert "title = {{Combating Exacerbated Heterogeneity" in paper["bibtex"]
    html = client.get(f"/papers/{card['id']}").text
    assert 'href="https://github.com/ZFancy/SFAT"' in html and "Scores and their evidence" in html


def test_paper_by_arxiv_id_spellings(client: Any) -> None:
    a = api(client, "/api/v1/papers/arXiv:1902.00001")
    b = api(client, "/api/v1/papers/1902.00001")
    assert a["id"] == b["id"] == "arXiv:1902.00001"


# --- search -------------------------------------------------------------------------------------


def test_keyword_search_matches_every_word(client: Any) -> None:
    results = api(client, "/api/v1/search?q=graph neural&per_page=50")
    assert results["total"] >= 3
    for p in results["papers"]:
        text = (p["title"] + " " + (p["abstract"] or "")).lower()
        assert "graph" in text and "neural" in text
    html = client.get("/search?q=graph+neural&per_page=50").text
    assert titles_in(html) == [p["title"] for p in results["papers"]]
    assert f'{results["total"]:,} results' in html


def test_search_filters(client: Any) -> None:
    coded = api(client, "/api/v1/search?q=learning&category=cs.LG&has_code=true&per_page=100")
    assert coded["total"] >= 1
    assert all(p["code"] and p["tag"] == "LG" for p in coded["papers"])
    ranged = api(client, "/api/v1/search?q=learning&since=2023-01-01&until=2023-12-31&per_page=100")
    assert ranged["total"] >= 1 and all("2023-01-01" <= p["published"] <= "2023-12-31" for p in ranged["papers"])
    mine = api(client, "/api/v1/search?author=Bo Han&per_page=100")
    assert COMBATING in [p["title"] for p in mine["papers"]]
    # This store has no scores: a minimum score admits nothing.
    assert api(client, "/api/v1/search?q=learning&min_score=1")["total"] == 0
    page = client.get("/search?q=learning&category=LG&has_code=true&since=&until=&author=&min_score=")
    assert page.status_code == 200 and 'value="true" selected' in page.text


def test_search_pages(client: Any) -> None:
    one = api(client, "/api/v1/search?q=learning&per_page=5")
    two = api(client, "/api/v1/search?q=learning&per_page=5&page=2")
    assert one["total"] == two["total"] > 5
    assert not {p["id"] for p in one["papers"]} & {p["id"] for p in two["papers"]}


def test_semantic_mode_says_what_it_used(client: Any) -> None:
    results = api(client, "/api/v1/search?q=graph&mode=semantic")
    assert results["mode"] == "semantic" and results["mode_used"] in ("keyword", "semantic", "hybrid")
    if results["mode_used"] == "keyword":
        assert results["notes"]


def csrf_pair(client: Any, url: str = "/") -> str:
    html = client.get(url).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match and client.cookies.get("paperscope_csrf")
    return match.group(1)


def test_paste_an_abstract_needs_the_form_token(client: Any) -> None:
    abstract = "We study graph neural networks under label noise and propose error-resilient training."
    refused = client.post("/search", data={"abstract": abstract})
    assert refused.status_code == 403 and "security token" in refused.text
    forged = client.post("/search", data={"abstract": abstract, "csrf_token": "forged"})
    assert forged.status_code == 403
    token = csrf_pair(client, "/search")
    ok = client.post("/search", data={"abstract": abstract, "mode": "semantic", "csrf_token": token})
    assert ok.status_code == 200 and "results</h2>" in ok.text and escape(abstract) in ok.text
    body = client.post("/api/v1/search", json={"abstract": abstract, "mode": "hybrid"})
    assert body.status_code == 200 and body.json()["total"] >= 1
    assert_error(client.post("/api/v1/search", json={"abstract": abstract, "evil": 1}), 422)
    assert_error(client.post("/api/v1/search", json={"abstract": "x" * 10_001}), 422)


def test_subscribe_form_needs_its_token(client: Any) -> None:
    refused = client.post("/subscribe", data={"email": "a@example.org"})
    assert refused.status_code == 403 and "security token" in refused.text
    token = csrf_pair(client, "/")
    r = client.post("/subscribe", data={"email": "a@example.org", "csrf_token": token, "topic": "trending"})
    # Past the token check the digests feature answers (501 until it exists); never a CSRF refusal.
    assert r.status_code not in (403, 500) and "security token" not in r.text


def test_a_token_from_another_cookie_is_refused(client: Any, web_app: Any) -> None:
    from fastapi.testclient import TestClient

    token = csrf_pair(client, "/")
    with TestClient(web_app) as other:
        other.get("/")  # a different cookie
        assert other.post("/subscribe", data={"email": "a@example.org", "csrf_token": token}).status_code == 403


# --- errors, headers, documents -----------------------------------------------------------------

BAD_API = [
    "/api/v1/papers?period=year", "/api/v1/papers?sort=best", "/api/v1/papers?date=2023-13-45",
    "/api/v1/papers?page=0", "/api/v1/papers?per_page=1000", "/api/v1/papers?page=abc",
    "/api/v1/authors", "/api/v1/authors?q=", "/api/v1/authors?q=bo&limit=0",
    f"/api/v1/authors/{BO_HAN}?sort=name", "/api/v1/search?mode=magic", "/api/v1/search?since=yesterday",
    "/api/v1/search?since=2024-01-02&until=2024-01-01", "/api/v1/search?min_score=101",
    "/api/v1/search?min_score=nan", "/api/v1/search?has_code=maybe", "/api/v1/search?category=%3Cscript%3E",
    "/api/v1/search?q=" + "x" * 501,
]


@pytest.mark.parametrize("url", BAD_API)
def test_invalid_api_parameters_are_422_in_the_error_shape(client: Any, url: str) -> None:
    body = assert_error(client.get(url), 422, "invalid_parameter")
    assert body["details"] and all(d["parameter"] for d in body["details"])


BAD_PAGES = ["/?period=year", "/?date=02/02/2019", "/?page=-1", f"/authors/{BO_HAN}?sort=name",
             "/search?mode=magic", "/search?since=2024-01-02&until=2024-01-01", "/search?min_score=x",
             "/search?has_code=maybe", "/search?per_page=0"]


@pytest.mark.parametrize("url", BAD_PAGES)
def test_invalid_page_parameters_are_422_pages(client: Any, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "<h1>Error 422</h1>" in r.text and 'data-code="invalid_parameter"' in r.text


def test_unknown_things_are_404(client: Any) -> None:
    assert_error(client.get("/api/v1/papers/arXiv:0000.00000"), 404, "not_found")
    assert_error(client.get("/api/v1/authors/name:nobody-at-all"), 404, "not_found")
    assert_error(client.get("/api/v1/nothing"), 404)
    for url in ("/papers/arXiv:0000.00000", "/authors/name:nobody-at-all", "/nothing"):
        r = client.get(url)
        assert r.status_code == 404 and "<h1>Error 404</h1>" in r.text
    assert_error(client.delete("/api/v1/papers"), 405)
    assert_error(client.get("/api/v1/papers/" + "x" * 400), 422)


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


@pytest.mark.parametrize("url", ["/", f"/authors/{BO_HAN}", "/search?q=x", "/api/v1/papers",
                                 "/static/style.css", "/nothing", "/api/v1/papers?page=0"])
def test_security_headers_everywhere(client: Any, url: str) -> None:
    r = client.get(url)
    for key, value in SECURITY_HEADERS.items():
        assert r.headers[key] == value
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_pages_carry_no_inline_script_or_style(client: Any) -> None:
    for url in ("/", f"/authors/{BO_HAN}", f"/papers/{CITED}", "/search?q=graph", "/authors?q=bo"):
        html = client.get(url).text
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert len(scripts) == 2 and all(  # the page's own, served from /static: none inline, no CDN
            re.fullmatch(rf'<script src="/static/{name}\.js\?v=[0-9a-f]+" defer>', tag)
            for name, tag in zip(("app", "library"), scripts, strict=True)), url
        assert " style=" not in html and "<style" not in html
        assert "http://" not in html.split("<main", 1)[0] and "cdn" not in html.lower().split("<main", 1)[0]


def test_html_escapes_every_payload(client: Any) -> None:
    for url in ("/papers/arXiv:1902.00001", "/papers/arXiv:1902.00002", "/search?q=payload",
                "/?date=2019-02-02", "/authors?q=eve", "/api/v1/papers/arXiv:1902.00001"):
        r = client.get(url)
        assert r.status_code == 200, url
        body = r.text
        if url.startswith("/api/"):
            assert "<script>window.__xss=1</script>" in r.json()["title"]  # JSON keeps the text as it is
            continue
        assert "window.__xss" in body  # the payload text is shown ...
        assert "<script>window" not in body and "<img src=x" not in body and "<svg onload" not in body
        assert re.search(r"&lt;(script|img|svg)", body)  # ... as text


def test_openapi_document_describes_the_api(client: Any) -> None:
    doc = api(client, "/api/v1/openapi.json")
    paths = set(doc["paths"])
    assert {"/api/v1/papers", "/api/v1/papers/{paper_id}", "/api/v1/authors", "/api/v1/authors/{author_id}",
            "/api/v1/search"} <= paths
    assert all(p.startswith("/api/v1/") for p in paths)
    assert "ErrorResponse" in doc["components"]["schemas"]
    assert client.get("/docs").status_code == 404  # no CDN-loaded docs UI


def test_static_files(client: Any) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "line-clamp" in css.text
    assert "aria-expanded" in client.get("/static/app.js").text
    assert client.get("/static/favicon.svg").status_code == 200


def test_author_cards_come_in_pages(client: Any) -> None:
    everything = api(client, f"/api/v1/authors/{BO_HAN}?per_page=500")
    second = api(client, f"/api/v1/authors/{BO_HAN}?per_page=10&page=2")
    assert second["cards_total"] == everything["cards_total"] == len(everything["cards"]) > 20
    assert [c["id"] for c in second["cards"]] == [c["id"] for c in everything["cards"][10:20]]
    assert second["pages"] == -(-everything["cards_total"] // 10)
    html = client.get(f"/authors/{BO_HAN}?per_page=10&page=2").text
    assert titles_in(html) == [c["title"] for c in second["cards"]]
    assert f"{everything['cards_total']} Papers" in html and 'rel="next"' in html and 'rel="prev"' in html
