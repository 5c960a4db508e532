"""Accounts on the web: sign-up confirmed by email, login (throttled: 429 with Retry-After),
logout and password change (both end sessions on the server), saving and upvoting papers, the
library of saved papers and "recommended for you" with the saved papers behind each
recommendation. Every POST is CSRF-protected."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from paperscope.services import accounts, recommend
from paperscope.services.mailer import MailError, SmtpTransport
from paperscope.services.tokens import MAX_AGE, TokenError
from paperscope.web.deps import engine_of, mail_of, runtime_of
from paperscope.web.errors import WebError
from paperscope.web.routes_digests import _check_csrf, _field
from paperscope.web.templating import render

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "paperscope_session"


def current_user(request: Request) -> dict[str, Any] | None:
    """The logged-in user: the session cookie must name a session the store still holds."""
    return accounts.user_for_session(engine_of(request), request.cookies.get(SESSION_COOKIE))


def _next(value: Any) -> str:
    """Only a path on this site: never an open redirect to another host."""
    text = value if isinstance(value, str) else ""
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/library"


def _login_redirect(path: str) -> Response:
    return RedirectResponse(f"/login?next={quote(path, safe='/')}", status_code=303)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _with_session(request: Request, user: dict[str, Any], target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, accounts.start_session(engine_of(request), user),
                        max_age=MAX_AGE["session"], httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    return response


def _form_page(request: Request, action: str, error: str | None = None, email: str = "",
               next_path: str = "/library", status_code: int = 200, error_code: str = "account_error") -> Response:
    title, button = ("Sign up", "Create account") if action == "/signup" else ("Log in", "Log in")
    return render(request, "account.html", {
        "title": title, "button": button, "action": action, "error": error,
        "error_code": error_code if error else None, "email": email, "next": next_path,
        "min_password": accounts.MIN_PASSWORD},
        status_code=status_code)


@router.get("/signup")
def signup_page(request: Request, next: str = "/library") -> Response:  # noqa: A002
    return _form_page(request, "/signup", next_path=_next(next))


@router.get("/login")
def login_page(request: Request, next: str = "/library") -> Response:  # noqa: A002
    return _form_page(request, "/login", next_path=_next(next))


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    email, password, target = _field(form, "email"), form.get("password") or "", _next(form.get("next"))
    engine = engine_of(request)
    try:
        result = await run_in_threadpool(accounts.sign_up, engine, email, str(password))
    except accounts.AccountError as exc:
        return _form_page(request, "/signup", str(exc), email, target, 422)
    mail = mail_of(request)
    try:
        await run_in_threadpool(accounts.send_sign_up_mail, engine, mail, result, SmtpTransport(mail))
    except MailError:
        raise WebError(503, "The email that finishes your sign-up could not be sent just now: "
                            "sign up again later.", "mail_unavailable") from None
    return render(request, "notice.html", {
        "kind": "signed_up", "title": "Check your inbox",
        # The same words whether or not the address has an account: the page tells no one who
        # uses paperscope. The email says which it is.
        "lines": [f"We sent an email to {result.user['email']}. Follow the link in it to finish "
                  "signing up and log in."],
        "links": [{"url": "/login", "label": "Log in"}]})


@router.get("/signup/confirm")
def signup_confirm(request: Request, token: str = "") -> Response:
    try:
        user = accounts.confirm_sign_up(engine_of(request), mail_of(request).secret_key, token)
    except TokenError as exc:
        raise WebError(400, f"{exc}: sign up again to get a new link", "invalid_token") from None
    return _with_session(request, user, "/library")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    email, password, target = _field(form, "email"), form.get("password") or "", _next(form.get("next"))
    limits = accounts.LoginLimits.from_settings(runtime_of(request).settings)
    try:
        user = await run_in_threadpool(accounts.log_in, engine_of(request), email, str(password),
                                       _client(request), limits)
    except accounts.LoginThrottled as exc:
        response = _form_page(request, "/login", str(exc), email, target, 429, "too_many_attempts")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except accounts.AccountError as exc:
        return _form_page(request, "/login", str(exc), email, target, 401)
    return _with_session(request, user, target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    await run_in_threadpool(accounts.end_session, engine_of(request), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _password_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "password.html", {
        "title": "Change password", "error": error, "error_code": "account_error" if error else None,
        "min_password": accounts.MIN_PASSWORD}, status_code=status_code)


@router.get("/account/password")
def password_page(request: Request) -> Response:
    if current_user(request) is None:
        return _login_redirect("/account/password")
    return _password_page(request)


@router.post("/account/password")
async def change_password(request: Request) -> Response:
    """A new password ends every session of the account (other devices too); this one starts anew."""
    form = await request.form()
    _check_csrf(request, form)
    user = current_user(request)
    if user is None:
        return _login_redirect("/account/password")
    try:
        await run_in_threadpool(accounts.change_password, engine_of(request), user["id"],
                                str(form.get("current_password") or ""), str(form.get("new_password") or ""))
    except accounts.AccountError as exc:
        return _password_page(request, str(exc), 422)
    return _with_session(request, user, "/library")


async def _library_action(request: Request, action: str) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    user = current_user(request)
    target = _next(form.get("next"))
    if user is None:
        return _login_redirect(target)
    paper_id = _field(form, "paper_id")
    engine = engine_of(request)
    try:
        if action == "save":
            await run_in_threadpool(accounts.save, engine, user["id"], paper_id, form.get("saved") != "false")
        else:
            await run_in_threadpool(accounts.toggle_upvote, engine, user["id"], paper_id)
    except LookupError as exc:
        raise WebError(404, str(exc)) from None
    return RedirectResponse(target, status_code=303)


@router.post("/library/save")
async def save(request: Request) -> Response:
    return await _library_action(request, "save")


@router.post("/library/upvote")
async def upvote(request: Request) -> Response:
    return await _library_action(request, "upvote")


@router.get("/library")
def library(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return _login_redirect("/library")
    papers = accounts.library(engine_of(request), user["id"])
    return render(request, "library.html", {
        "title": "Saved papers", "page": "library", "user": user, "papers": papers, "notes": [],
        "model": None, "empty": "Nothing saved yet: save papers from their cards to build your library."})


@router.get("/recommended")
def recommended(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        return _login_redirect("/recommended")
    result = recommend.recommend(engine_of(request), user["id"])
    return render(request, "library.html", {
        "title": "Recommended for you", "page": "recommended", "user": user, "papers": result["papers"],
        "notes": result["notes"], "model": result["model"], "empty": "No recommendations yet."})


@router.get("/api/v1/me/recommended")
def recommended_json(request: Request, limit: int = 20) -> Response:
    user = current_user(request)
    if user is None:
        raise WebError(401, "log in to get recommendations", "login_required")
    if not 1 <= limit <= 100:
        raise WebError(422, "invalid parameter: limit must be between 1 and 100", "invalid_parameter")
    return JSONResponse(recommend.recommend(engine_of(request), user["id"], limit))
