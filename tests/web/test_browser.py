"""Real-browser tests: Chromium (Debian's, driven by Playwright) against the app served by uvicorn
on loopback. Each page type opens, search works, cards lead to their authors and papers, card
fields match the API, hostile text never runs. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import XSS_PAPERS, screenshot

BO_HAN = "name:bo-han"
COMBATING = "Combating Exacerbated Heterogeneity for Robust Models in Federated Learning"


def api(live_url: str, path: str) -> Any:
    r = httpx.get(live_url + path, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def assert_clean(page: Any) -> None:
    """Nothing hostile ran, and the page raised no script error and failed to load nothing."""
    assert page.evaluate("() => window.__xss") is None
    assert page.dialogs == []
    assert page.errors == []


def card_fields(card: Any) -> dict[str, Any]:
    return card.evaluate("""(el) => {
        const text = (sel) => { const n = el.querySelector(sel); return n ? n.textContent.trim() : null; };
        return {
            id: el.dataset.paperId, title: text('.title'), score: text('.score'), tag: text('.tag'),
            date: text('time'), code: !!el.querySelector('.code-badge'), authors: text('.authors'),
            author_count: text('.author-count'), upvotes: text('.upvotes'),
            author_links: Array.from(el.querySelectorAll('.authors a')).map(a => a.getAttribute('href')),
        };
    }""")


def test_daily_papers_cards_match_the_api(page: Any, live_url: str) -> None:
    listing = api(live_url, "/api/v1/papers?period=month")
    page.goto(live_url + "/?period=month")
    assert page.locator("h1").inner_text() == "Daily Papers"
    assert page.get_by_role("link", name="Month").get_attribute("aria-current") == "page"
    cards = page.locator("article.card")
    assert cards.count() == len(listing["papers"]) > 0
    for i, expected in enumerate(listing["papers"]):
        got = card_fields(cards.nth(i))
        assert got["id"] == expected["id"] and got["title"] == expected["title"]
        assert got["tag"] == expected["tag"] and got["date"] == expected["date"]
        assert got["code"] == expected["code"]
        count = expected["author_count"]  # only what is known: no "0 authors", no "▲ —"
        assert got["author_count"] == (f"{count} author{'' if count == 1 else 's'}" if count else None)
        assert got["upvotes"] == (f"▲ {expected['upvotes']:,}" if expected["upvotes"] is not None else None)
        names = [a["name"] for a in expected["authors"]]
        assert got["authors"].startswith(", ".join(names))
        assert got["authors"].endswith(" et al." if expected["et_al"] and not expected["orgs"]
                                       else (" · " + ", ".join(expected["orgs"])) if expected["orgs"] else names[-1])
    screenshot(page, "daily-papers")
    # The subscribe form is labelled and posts with its token: the digests feature answers, not a
    # CSRF refusal.
    page.get_by_label("Email address").first.fill("reader@example.org")
    with page.expect_response(lambda r: r.url.endswith("/subscribe")) as answer:
        page.get_by_role("button", name="Subscribe").click()
    assert answer.value.status not in (403, 500)
    assert "security token" not in page.content()
    assert page.evaluate("() => window.__xss") is None and page.dialogs == []


def test_abstract_expands_and_collapses(page: Any, live_url: str) -> None:
    page.goto(live_url + "/?period=month")
    abstract = page.locator("article.card .abstract.clamp").first
    button = page.locator("article.card button.more").first
    clamped = abstract.evaluate("(el) => el.clientHeight")
    assert button.inner_text() == "more" and button.get_attribute("aria-expanded") == "false"
    button.click()
    assert "expanded" in abstract.get_attribute("class")
    assert abstract.evaluate("(el) => el.clientHeight") > clamped
    assert button.inner_text() == "less"
    button.click()
    assert abstract.evaluate("(el) => el.clientHeight") == clamped
    assert_clean(page)


def test_follow_a_card_to_its_author_and_its_paper(page: Any, live_url: str) -> None:
    page.goto(live_url + "/?period=month")
    card = page.locator("article.card").filter(has=page.locator(".authors a")).first
    fields = card_fields(card)
    author_name = card.locator(".authors a").first.inner_text()
    card.locator(".authors a").first.click()
    page.wait_for_url("**/authors/**")
    assert page.locator("h1").inner_text() == author_name
    assert fields["title"] in [t.strip() for t in page.locator("article.card .title").all_inner_texts()]
    screenshot(page, "author-from-card")
    page.get_by_role("link", name=fields["title"]).first.click()
    page.wait_for_url("**/papers/**")
    assert page.locator("h1").inner_text() == fields["title"]
    assert author_name in page.locator(".author-list").inner_text()
    assert page.locator("pre.bibtex").inner_text().startswith("@")
    screenshot(page, "paper-from-author")
    assert_clean(page)


def test_author_page_looks_like_the_listing(page: Any, live_url: str) -> None:
    profile = api(live_url, f"/api/v1/authors/{BO_HAN}")
    page.goto(f"{live_url}/authors/{BO_HAN}")
    assert page.locator("h1").inner_text() == "Bo Han"
    assert page.locator(".profile .field").inner_text() == profile["field"] == "LG"
    stats = {k: page.locator(f'dd[data-stat="{k}"]').inner_text()
             for k in ("h_index", "papers", "citations", "novelty", "ai_score")}
    assert stats["h_index"] == str(profile["h_index"]) and stats["papers"] == f"{profile['papers']:,}"
    assert stats["citations"] == f"{profile['citations']:,}"
    assert stats["ai_score"] == ("—" if profile["ai_score"] is None else f"{profile['ai_score']:.0f}")
    assert "listing page author-bo-han.txt" in page.locator(".reported").inner_text()
    card = page.locator("article.card").filter(has_text=COMBATING)
    got = card_fields(card)
    assert got["tag"] == "LG" and got["date"] == "Mar 1, 2023" and got["code"]
    assert got["authors"] == "Jianing Zhu, Jiangchao Yao, Tongliang Liu et al. · tsinghua"
    titles = page.locator("article.card .title").all_inner_texts()
    assert [t.strip() for t in titles] == [c["title"] for c in profile["cards"]]
    page.get_by_role("link", name="Citations", exact=True).click()
    page.wait_for_url("**sort=citations")
    by_cites = api(live_url, f"/api/v1/authors/{BO_HAN}?sort=citations")
    assert [t.strip() for t in page.locator("article.card .title").all_inner_texts()] == [
        c["title"] for c in by_cites["cards"]]
    screenshot(page, "author-bo-han")
    assert_clean(page)


def test_paper_page_chart_and_links(page: Any, live_url: str) -> None:
    paper = api(live_url, "/api/v1/papers/doi:10.1002/ldr.687")
    page.goto(live_url + "/papers/doi:10.1002/ldr.687")
    assert page.locator("h1").inner_text() == paper["title"]
    bars = page.locator("svg.chart rect.bar")
    years = paper["citations"]["reported_by_year"]["openalex"]
    assert bars.count() == max(map(int, years)) - min(map(int, years)) + 1
    assert bars.first.bounding_box()["width"] > 0
    assert page.get_by_role("link", name="DOI").get_attribute("href") == "https://doi.org/10.1002/ldr.687"
    assert page.locator(".author-list li").count() == len(paper["author_list"])
    screenshot(page, "paper-with-chart")
    assert_clean(page)


def test_search_with_filters_and_pages(page: Any, live_url: str) -> None:
    page.goto(live_url + "/search")
    page.get_by_label("Words").fill("learning")
    page.get_by_label("Code", exact=True).select_option("true")
    page.get_by_label("Category").fill("LG")
    page.locator("form.search-form button[type=submit]").click()
    page.wait_for_url("**/search?**")
    expected = api(live_url, "/api/v1/search?q=learning&has_code=true&category=LG")
    assert page.locator("#results-title").inner_text() == f"{expected['total']:,} results"
    assert [t.strip() for t in page.locator("article.card .title").all_inner_texts()] == [
        p["title"] for p in expected["papers"]]
    assert all(card_fields(c)["code"] for c in page.locator("article.card").all())
    screenshot(page, "search-filters")
    if expected["pages"] > 1:
        page.get_by_role("link", name="Next →").click()
        page.wait_for_url("**page=2**")
        second = api(live_url, "/api/v1/search?q=learning&has_code=true&category=LG&page=2")
        assert [t.strip() for t in page.locator("article.card .title").all_inner_texts()] == [
            p["title"] for p in second["papers"]]
    assert_clean(page)


def test_paste_an_abstract(page: Any, live_url: str) -> None:
    page.goto(live_url + "/search")
    page.locator("details.paste summary").click()
    page.get_by_label("Abstract").fill(
        "Graph neural networks suffer from over-smoothing when going deeper; we decouple propagation.")
    page.get_by_role("button", name="Find related work").click()
    page.wait_for_selector("#results-title")
    assert page.locator("article.card").count() >= 1
    screenshot(page, "search-abstract")
    assert_clean(page)


def test_invalid_input_shows_a_clear_error_page(page: Any, live_url: str) -> None:
    response = page.goto(live_url + "/search?since=2024-02-01&until=2024-01-01")
    assert response.status == 422
    assert "since" in page.locator(".error").inner_text()
    page.errors.clear()  # the 422 itself is logged by the browser


@pytest.mark.parametrize("path", [
    "/papers/arXiv:1902.00001", "/papers/arXiv:1902.00002", "/?date=2019-02-02", "/search?q=payload",
    "/authors?q=eve mallory",
])
def test_hostile_text_stays_inert(page: Any, live_url: str, path: str) -> None:
    page.goto(live_url + path)
    assert_clean(page)
    body = page.locator("main").inner_text()
    assert "window.__xss" in body  # the payloads are shown as text
    assert page.locator("main script, main img, main svg[onload]").count() == 0
    screenshot(page, "xss" + path.replace("/", "_").replace("?", "_").replace(":", "_").replace(" ", "_"))


def test_hostile_author_and_title_through_links(page: Any, live_url: str) -> None:
    page.goto(live_url + "/papers/arXiv:1902.00001")
    assert page.locator("h1").inner_text() == XSS_PAPERS[0]["title"]
    page.locator(".author-list a").first.click()
    page.wait_for_url("**/authors/**")
    assert "<script>" in page.locator("h1").inner_text()
    assert_clean(page)
    screenshot(page, "xss-author")


def test_phone_width_has_no_horizontal_scroll(browser: Any, live_url: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = context.new_page()
    try:
        for path, name in (("/", "phone-home"), (f"/authors/{BO_HAN}", "phone-author"),
                           ("/papers/doi:10.1002/ldr.687", "phone-paper"), ("/search?q=graph", "phone-search")):
            page.goto(live_url + path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, (path, width)
            screenshot(page, name)
    finally:
        context.close()


def test_pages_load_nothing_from_elsewhere(page: Any, live_url: str) -> None:
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_url) else None)
    for path in ("/", f"/authors/{BO_HAN}", "/papers/doi:10.1002/ldr.687", "/search?q=graph"):
        page.goto(live_url + path)
    assert outside == []
    assert_clean(page)
