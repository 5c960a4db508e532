"""Accounts on the web: sign-up, login and logout (a signed session cookie), saving and upvoting
papers, the library of saved papers and "recommended for you" with the saved papers behind each
recommendation. Every POST is CSRF-protected."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from paperscope.services import accounts, recommend
from paperscope.services.tokens import MAX_AGE
from paperscope.web.deps import engine_of, mail_of
from paperscope.web.errors import WebError
from paperscope.web.routes_digests import _check_csrf, _field
from paperscope.web.templating import render

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "paperscope_session"


def current_user(request: Request) -> dict[str, Any] | None:
    token = request.cookies.get(SESSION_COOKIE)
    return accounts.user_for_session(engine_of(request), mail_of(request).secret_key, token)


def _next(value: Any) -> str:
    """Only a path on this site: never an open redirect to another host."""
    text = value if isinstance(value, str) else ""
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/library"


def _login_redirect(path: str) -> Response:
    return RedirectResponse(f"/login?next={quote(path, safe='/')}", status_code=303)


def _with_session(request: Request, user: dict[str, Any], target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, accounts.session_token(mail_of(request).secret_key, user),
                        max_age=MAX_AGE["session"], httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    return response


def _form_page(request: Request, action: str, error: str | None = None, email: str = "",
               next_path: str = "/library", status_code: int = 200) -> Response:
    title, button = ("Sign up", "Create account") if action == "/signup" else ("Log in", "Log in")
    return render(request, "account.html", {
        "title": title, "button": button, "action": action, "error": error,
        "error_code": "account_error" if error else None, "email": email, "next": next_path},
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
    try:
        user = await run_in_threadpool(accounts.sign_up, engine_of(request), email, str(password))
    except accounts.AccountError as exc:
        return _form_page(request, "/signup", str(exc), email, target, 422)
    return _with_session(request, user, target)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    email, password, target = _field(form, "email"), form.get("password") or "", _next(form.get("next"))
    try:
        user = await run_in_threadpool(accounts.log_in, engine_of(request), email, str(password))
    except accounts.AccountError as exc:
        return _form_page(request, "/login", str(exc), email, target, 401)
    return _with_session(request, user, target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    _check_csrf(request, form)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


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
