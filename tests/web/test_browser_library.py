"""In a real browser: the header's account links, and Save and Upvote from a Daily Papers card,
both without JavaScript (plain form posts with the CSRF token) and with it (the same change sent to
the JSON API, the card updated in place), their state shown after, and the saved paper in the library."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from paperscope.services import accounts
from paperscope.services.tokens import make_token

EMAIL, PASSWORD = "browser-reader@example.org", "a long enough passphrase 42"


def _reader(web_app: Any) -> None:
    runtime = web_app.state.runtime
    signup = accounts.sign_up(runtime.engine, EMAIL, PASSWORD)
    user = signup.user
    token = make_token(runtime.mail.secret_key, "signup", {"u": user["id"], "e": user["email_key"]})
    accounts.confirm_sign_up(runtime.engine, runtime.mail.secret_key, token)


def test_account_links_save_and_upvote_from_a_card(browser: Any, live_url: str, web_app: Any) -> None:
    """Without JavaScript: the controls are plain form posts."""
    _reader(web_app)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_url + "/?period=month&per_page=5")
    header = page.locator("nav.account")
    assert header.locator("a", has_text="Log in").count() == 1
    assert header.locator("a", has_text="Sign up").count() == 1
    card = page.locator("article.card").first
    paper_id = card.get_attribute("data-paper-id")
    assert card.locator("button.save").inner_text() == "Save"

    # Not logged in: Save leads to the login page, which comes back to the list afterwards.
    card.locator("button.save").click()
    page.wait_for_url("**/login**")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("nav.account a", has_text="Library").count() == 1

    page.goto(live_url + "/?period=month&per_page=5")
    card = page.locator(f'article.card[data-paper-id="{paper_id}"]')
    card.locator("button.save").click()
    page.wait_for_load_state()
    card = page.locator(f'article.card[data-paper-id="{paper_id}"]')
    assert card.locator("button.save").inner_text() == "Saved"
    assert card.locator("button.save").get_attribute("aria-pressed") == "true"
    before = int(card.locator("button.upvote .count").inner_text())
    card.locator("button.upvote").click()
    page.wait_for_load_state()
    card = page.locator(f'article.card[data-paper-id="{paper_id}"]')
    assert card.locator("button.upvote").get_attribute("aria-pressed") == "true"
    assert int(card.locator("button.upvote .count").inner_text()) == before + 1

    # The paper page shows the same state; the library holds the paper.
    page.goto(live_url + f"/papers/{paper_id}")
    assert page.locator("article.paper .controls button.save").inner_text() == "Saved"
    page.locator("nav.account a", has_text="Library").click()
    page.wait_for_url("**/library")
    assert page.locator(f'article.card[data-paper-id="{paper_id}"]').count() == 1
    context.close()


def test_save_and_upvote_in_place_with_javascript(page: Any, live_url: str, web_app: Any) -> None:
    """With JavaScript: Save and Upvote go to the JSON API with the CSRF token and the card shows
    the new state and count without a page load; a reload shows the same state from the store."""
    from playwright.sync_api import expect

    email = "js-reader@example.org"
    runtime = web_app.state.runtime
    signup = accounts.sign_up(runtime.engine, email, PASSWORD)
    token = make_token(runtime.mail.secret_key, "signup", {"u": signup.user["id"], "e": signup.user["email_key"]})
    accounts.confirm_sign_up(runtime.engine, runtime.mail.secret_key, token)
    page.goto(live_url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()

    page.goto(live_url + "/?period=month&per_page=5")
    card = page.locator("article.card").nth(1)
    paper_id = card.get_attribute("data-paper-id")
    save, upvote = card.locator("button.save"), card.locator("button.upvote")
    expect(save).to_have_text("Save")
    before = int(upvote.locator(".count").inner_text())
    page.evaluate("window.__same_page = true")  # gone if the page were loaded again
    calls: list[tuple[str, str, str | None]] = []
    page.on("request", lambda r: calls.append((r.method, r.url, r.headers.get("x-csrf-token")))
            if "/api/v1/me/" in r.url else None)

    save.click()
    expect(save).to_have_text("Saved")
    expect(save).to_have_attribute("aria-pressed", "true")
    upvote.click()
    expect(upvote).to_have_attribute("aria-pressed", "true")
    expect(upvote.locator(".count")).to_have_text(str(before + 1))
    assert page.evaluate("window.__same_page === true")
    assert [(m, unquote(u.split("/api/v1/me/")[1])) for m, u, _ in calls] == [
        ("PUT", f"library/{paper_id}"), ("PUT", f"upvotes/{paper_id}")]
    assert all(t for _, _, t in calls)  # the CSRF token went with each

    upvote.click()  # taken back, in place too
    expect(upvote.locator(".count")).to_have_text(str(before))
    expect(upvote).to_have_attribute("aria-pressed", "false")
    page.reload()
    card = page.locator(f'article.card[data-paper-id="{paper_id}"]')
    expect(card.locator("button.save")).to_have_text("Saved")
    expect(card.locator("button.upvote .count")).to_have_text(str(before))
    assert page.errors == []


def test_the_browser_finds_and_reads_the_feeds(page: Any, live_url: str) -> None:
    import feedparser

    page.goto(live_url + "/authors/name:bo-han")
    hrefs = [link.get_attribute("href") for link in page.locator('link[rel="alternate"]').all()]
    assert "/feeds/daily.atom" in hrefs and "/feeds/authors/name:bo-han.atom" in hrefs
    for href in hrefs:
        reply = page.request.get(live_url + href)
        assert reply.ok and reply.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(reply.body())
        assert not parsed.bozo and parsed.version == "atom10", href
    author = feedparser.parse(page.request.get(live_url + "/feeds/authors/name:bo-han.atom").body())
    titles = {e.title for e in author.entries}
    assert titles >= {t.strip() for t in page.locator("article.card h3.title").all_inner_texts()[:5]}
