"""Digest subscriptions on the web: the subscribe form (double opt-in: it sends a confirmation email),
the confirm link, one-click unsubscribe (a page whose button posts, and the RFC 8058 POST that mail
providers send from the List-Unsubscribe header), and the preferences page.

The links in emails carry signed, expiring tokens (services.tokens); the POSTs from a page are also
CSRF-protected. The unsubscribe POST needs no CSRF token: the signed link is the proof, the action is
harmless to repeat, and mail providers post it without cookies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from paperscope.services import digests
from paperscope.services.mailer import InvalidAddress, MailError, SmtpTransport
from paperscope.services.tokens import TokenError
from paperscope.web.deps import engine_of, mail_of
from paperscope.web.errors import WebError
from paperscope.web.security import CSRF_FIELD
from paperscope.web.templating import render

router = APIRouter(include_in_schema=False)
MAX_FIELD = 500


def _check_csrf(request: Request, form: Any) -> None:
    if not request.app.state.csrf.valid(request, form.get(CSRF_FIELD)):
        raise WebError(403, "the form's security token is missing or expired: reload the page and retry",
                       "csrf_failed")


def _field(form: Any, name: str) -> str:
    value = form.get(name) or ""
    if not isinstance(value, str):
        raise WebError(422, f"invalid parameter: {name} must be text", "invalid_parameter")
    if len(value) > MAX_FIELD:
        raise WebError(422, f"invalid parameter: {name} longer than {MAX_FIELD} characters",
                       "invalid_parameter")
    return value


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def _topic_form(form: Any) -> dict[str, Any]:
    return {"email": _field(form, "email"), "trending": "trending" in form.getlist("topic"),
            "q": _field(form, "q"), "category": _field(form, "category"), "author": _field(form, "author"),
            "frequency": _field(form, "frequency") or "daily"}


def _topic(values: dict[str, Any]) -> digests.Topic:
    return digests.Topic.make(values["trending"], values["q"], _split(values["category"]),
                              _split(values["author"]))


def _token_error(exc: TokenError) -> WebError:
    return WebError(400, f"{exc}.", "token_expired" if exc.expired else "invalid_token")


EMPTY_FORM = {"email": "", "trending": True, "q": "", "category": "", "author": "", "frequency": "daily"}


@router.get("/subscribe")
def subscribe_page(request: Request) -> Response:
    return render(request, "subscribe.html", {"form": EMPTY_FORM, "error": None, "error_code": None})


@router.post("/subscribe")
async def subscribe(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    values = _topic_form(form)
    try:
        topic = _topic(values)
        result = await run_in_threadpool(digests.subscribe, engine_of(request), values["email"], topic,
                                         values["frequency"])
    except (InvalidAddress, digests.SubscriptionError) as exc:
        code = "invalid_address" if isinstance(exc, InvalidAddress) else "invalid_subscription"
        return render(request, "subscribe.html", {"form": values, "error": str(exc), "error_code": code},
                      status_code=422)
    sub = result.subscription
    if result.needs_confirmation:
        mail = mail_of(request)
        try:
            await run_in_threadpool(digests.send_confirmation, engine_of(request), mail, sub,
                                    SmtpTransport(mail))
        except MailError:
            raise WebError(503, "The confirmation email could not be sent just now. Your request is kept: "
                                "submit the form again later.", "mail_unavailable") from None
    return render(request, "notice.html", {
        "kind": "subscribed", "title": "Check your inbox",
        # The same words whether or not the address was subscribed already: the page tells no one
        # who follows what.
        "lines": [f"If {sub['email']} is your address, a confirmation link is on its way unless it already "
                  f"gets {topic.describe()}. Digests start once you follow the link."],
        "links": [{"url": "/", "label": "Back to Daily Papers"}]})


@router.get("/subscriptions/confirm")
def confirm(request: Request, token: str = "") -> Response:
    mail = mail_of(request)
    try:
        sub = digests.confirm(engine_of(request), mail.secret_key, token)
    except TokenError as exc:
        raise _token_error(exc) from None
    topic = digests.Topic.from_json(sub["topic"])
    prefs = digests.subscription_token(mail.secret_key, "preferences", sub)
    return render(request, "notice.html", {
        "kind": "confirmed", "title": "Subscription confirmed",
        "lines": [f"{sub['email']} will get {topic.describe()} ({sub['frequency']})."],
        "links": [{"url": f"/subscriptions/preferences?token={prefs}", "label": "Preferences"},
                  {"url": "/", "label": "Daily Papers"}]})


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, token: str = "") -> Response:
    """Shows what the link would end; following a link never unsubscribes by itself (mail scanners
    prefetch links): the page's button, or the mail provider's one-click POST, does."""
    mail = mail_of(request)
    try:
        sub = digests.subscription_for(engine_of(request), mail.secret_key, "unsubscribe", token)
    except TokenError as exc:
        raise _token_error(exc) from None
    if sub["status"] == "unsubscribed":
        return _unsubscribed(request, sub)
    return render(request, "unsubscribe.html", {
        "token": token, "address": sub["email"],
        "topic": digests.Topic.from_json(sub["topic"]).describe(),
        "preferences_token": digests.subscription_token(mail.secret_key, "preferences", sub)})


@router.post("/unsubscribe")
async def unsubscribe(request: Request) -> Response:
    form = await request.form()
    token = request.query_params.get("token") or form.get("token") or ""
    if not isinstance(token, str):
        raise WebError(422, "invalid parameter: token", "invalid_parameter")
    mail = mail_of(request)
    try:
        sub = await run_in_threadpool(digests.unsubscribe, engine_of(request), mail.secret_key, token)
    except TokenError as exc:
        raise _token_error(exc) from None
    return _unsubscribed(request, sub)


def _unsubscribed(request: Request, sub: dict[str, Any]) -> Response:
    topic = digests.Topic.from_json(sub["topic"]).describe()
    return render(request, "notice.html", {
        "kind": "unsubscribed", "title": "Unsubscribed",
        "lines": [f"{sub['email']} will get no more {topic}.", "Nothing else is needed."],
        "links": [{"url": "/subscribe", "label": "Subscribe again"}]})


def _preferences(request: Request, sub: dict[str, Any], token: str, form: dict[str, Any] | None = None,
                 error: str | None = None, saved: bool = False, status_code: int = 200) -> Response:
    mail = mail_of(request)
    topic = digests.Topic.from_json(sub["topic"])
    values = form or {"trending": topic.trending, "q": topic.query or "", "category": ", ".join(topic.categories),
                      "author": ", ".join(topic.authors), "frequency": sub["frequency"]}
    return render(request, "preferences.html", {
        "token": token, "address": sub["email"], "topic": topic.describe(), "frequency": sub["frequency"],
        "status": sub["status"], "form": values, "error": error, "saved": saved,
        "unsubscribe_token": digests.subscription_token(mail.secret_key, "unsubscribe", sub)},
        status_code=status_code)


@router.get("/subscriptions/preferences")
def preferences_page(request: Request, token: str = "") -> Response:
    mail = mail_of(request)
    try:
        sub = digests.subscription_for(engine_of(request), mail.secret_key, "preferences", token)
    except TokenError as exc:
        raise _token_error(exc) from None
    return _preferences(request, sub, token)


@router.post("/subscriptions/preferences")
async def preferences(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    token = _field(form, "token")
    values = _topic_form(form)
    mail = mail_of(request)
    engine = engine_of(request)
    try:
        sub = digests.subscription_for(engine, mail.secret_key, "preferences", token)
    except TokenError as exc:
        raise _token_error(exc) from None
    try:
        sub = await run_in_threadpool(digests.update_preferences, engine, mail.secret_key, token, _topic(values),
                                      values["frequency"])
    except digests.SubscriptionError as exc:
        return _preferences(request, sub, token, values, str(exc), status_code=422)
    return _preferences(request, sub, token, saved=True)
