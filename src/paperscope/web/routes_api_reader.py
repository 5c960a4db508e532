"""The JSON API of what a reader does on the pages: similar papers, the library (list, save,
unsave), upvotes, and digest subscriptions (subscribe, preferences, unsubscribe).

The same rules as the pages: the library and upvotes need the session cookie of a logged-in reader
(401 without one); every request that changes something carries the CSRF token, here in the
`X-CSRF-Token` header instead of a form field (403 without a valid one), except the unsubscribe
POST, which, like the page's, needs only its signed link. A token comes with every page's forms,
or from GET /api/v1/csrf, which sets the cookie it is bound to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from paperscope.services import accounts, browse, digests
from paperscope.services.mailer import InvalidAddress, MailError, SmtpTransport
from paperscope.services.tokens import TokenError
from paperscope.web.deps import EngineDep, SearcherDep, engine_of, mail_of
from paperscope.web.errors import ErrorResponse, WebError
from paperscope.web.params import MAX_NAME, MAX_QUERY
from paperscope.web.routes_accounts import current_user
from paperscope.web.security import CSRF_COOKIE, CSRF_HEADER

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in (
        (400, "Bad request, or an invalid or expired link token"), (401, "Not logged in"),
        (403, "Missing or invalid CSRF token"), (404, "Not found"), (422, "Invalid parameter"),
        (503, "The confirmation email could not be sent"))}
router = APIRouter(prefix="/api/v1", tags=["reader"], responses=ERRORS)
PaperRef = Annotated[str, Path(max_length=300, description="A paper id (arXiv:…, doi:…) or a bare arXiv id or DOI")]
Token = Annotated[str, Query(max_length=2000, description="The signed token of the emailed link")]


class Marks(BaseModel):
    """What a card's Save and Upvote controls show for the reader."""

    paper_id: str
    saved: bool
    upvoted: bool
    local_upvotes: int


class CardList(BaseModel):
    papers: list[dict[str, Any]]


class CsrfToken(BaseModel):
    csrf_token: str
    header: str = CSRF_HEADER


class TopicBody(BaseModel):
    """What a subscription follows, as the subscribe and preferences forms take it."""

    trending: StrictBool = False
    q: str = Field("", max_length=MAX_QUERY)
    categories: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=20)
    authors: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(default_factory=list, max_length=20)
    frequency: Literal["daily", "weekly"] = "daily"
    model_config = {"extra": "forbid"}


class SubscribeBody(TopicBody):
    email: str = Field(max_length=254)


class Subscription(BaseModel):
    email: str
    topic: str
    frequency: str
    status: str
    following: dict[str, Any]


class Notice(BaseModel):
    status: str
    message: str


def _check_csrf(request: Request) -> None:
    if not request.app.state.csrf.valid(request, request.headers.get(CSRF_HEADER)):
        raise WebError(403, f"the {CSRF_HEADER} header's security token is missing or expired: "
                            "get one from GET /api/v1/csrf and retry", "csrf_failed")


def _reader(request: Request) -> dict[str, Any]:
    user = current_user(request)
    if user is None:
        raise WebError(401, "log in first: this needs a reader's session", "login_required")
    return user


async def _changed(request: Request, action: str, paper_id: str, on: bool) -> dict[str, Any]:
    _check_csrf(request)
    user = _reader(request)
    engine = engine_of(request)
    try:
        if action == "save":
            pid = await run_in_threadpool(accounts.save, engine, user["id"], paper_id, on)
        else:
            pid = await run_in_threadpool(accounts.set_upvote, engine, user["id"], paper_id, on)
    except LookupError as exc:
        raise WebError(404, str(exc)) from None
    return accounts.marks(engine, user["id"], pid)


@router.get("/csrf", response_model=CsrfToken, summary="A CSRF token for the requests that change something")
def csrf_token(request: Request) -> Any:
    csrf = request.app.state.csrf
    value, new = csrf.cookie_value(request)
    response = JSONResponse({"csrf_token": csrf.token(value), "header": CSRF_HEADER})
    if new:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https")
    return response


@router.get("/papers/{paper_id:path}/similar", response_model=CardList, summary="Papers similar to a paper")
def similar(engine: EngineDep, searcher: SearcherDep, paper_id: PaperRef,
            limit: Annotated[int, Query(ge=1, le=50)] = 10) -> Any:
    found = accounts.find_paper_id(engine, paper_id)
    if found is None:
        raise WebError(404, f"no paper with id {paper_id!r} in the store")
    cards = browse.similar_papers(engine, found, limit, datetime.now(UTC).date(), searcher=searcher)
    return {"papers": [card.as_dict() for card in cards]}


@router.get("/me/library", response_model=CardList, summary="The reader's saved papers, most recent first")
def library(request: Request) -> Any:
    user = _reader(request)
    engine = engine_of(request)
    return {"papers": accounts.marked_cards(engine, user["id"], accounts.saved_ids(engine, user["id"]))}


@router.put("/me/library/{paper_id:path}", response_model=Marks, summary="Save a paper in the library")
async def save(request: Request, paper_id: PaperRef) -> Any:
    return await _changed(request, "save", paper_id, True)


@router.delete("/me/library/{paper_id:path}", response_model=Marks, summary="Remove a paper from the library")
async def unsave(request: Request, paper_id: PaperRef) -> Any:
    return await _changed(request, "save", paper_id, False)


@router.get("/me/upvotes", response_model=CardList, summary="The papers the reader upvoted, most recent first")
def upvotes(request: Request) -> Any:
    user = _reader(request)
    return {"papers": accounts.upvoted(engine_of(request), user["id"])}


@router.put("/me/upvotes/{paper_id:path}", response_model=Marks, summary="Upvote a paper (idempotent)")
async def upvote(request: Request, paper_id: PaperRef) -> Any:
    return await _changed(request, "upvote", paper_id, True)


@router.delete("/me/upvotes/{paper_id:path}", response_model=Marks, summary="Take an upvote back")
async def unvote(request: Request, paper_id: PaperRef) -> Any:
    return await _changed(request, "upvote", paper_id, False)


def _topic(body: TopicBody) -> digests.Topic:
    try:
        return digests.Topic.make(body.trending, body.q, body.categories, body.authors)
    except digests.SubscriptionError as exc:
        raise WebError(422, str(exc), "invalid_subscription") from None


def _subscription(sub: dict[str, Any]) -> dict[str, Any]:
    topic = digests.Topic.from_json(sub["topic"])
    return {"email": sub["email"], "topic": topic.describe(), "frequency": sub["frequency"],
            "status": sub["status"], "following": topic.to_json()}


@router.post("/subscriptions", response_model=Notice, status_code=202,
             summary="Subscribe an address to a digest (a confirmation email is sent)")
async def subscribe(request: Request, body: SubscribeBody) -> Any:
    _check_csrf(request)
    topic = _topic(body)
    engine, mail = engine_of(request), mail_of(request)
    try:
        result = await run_in_threadpool(digests.subscribe, engine, body.email, topic, body.frequency)
    except InvalidAddress as exc:
        raise WebError(422, str(exc), "invalid_address") from None
    except digests.SubscriptionError as exc:
        raise WebError(422, str(exc), "invalid_subscription") from None
    sub = result.subscription
    if result.needs_confirmation:
        try:
            await run_in_threadpool(digests.send_confirmation, engine, mail, sub, SmtpTransport(mail))
        except MailError:
            raise WebError(503, "the confirmation email could not be sent just now; the request is kept: "
                                "send it again later", "mail_unavailable") from None
    # The same words whether or not the address was subscribed already, as on the page.
    return {"status": "accepted",
            "message": f"If {sub['email']} is your address, a confirmation link is on its way unless it "
                       f"already gets {topic.describe()}. Digests start once you follow the link."}


def _by_token(request: Request, purpose: str, token: str) -> dict[str, Any]:
    try:
        return digests.subscription_for(engine_of(request), mail_of(request).secret_key, purpose, token)
    except TokenError as exc:
        raise WebError(400, f"{exc}.", "token_expired" if exc.expired else "invalid_token") from None


@router.get("/subscriptions/preferences", response_model=Subscription,
            summary="The subscription a preferences link names")
def preferences(request: Request, token: Token) -> Any:
    return _subscription(_by_token(request, "preferences", token))


@router.put("/subscriptions/preferences", response_model=Subscription,
            summary="Change what the subscription a preferences link names follows, and how often")
async def update_preferences(request: Request, token: Token, body: TopicBody) -> Any:
    _check_csrf(request)
    _by_token(request, "preferences", token)
    try:
        sub = await run_in_threadpool(digests.update_preferences, engine_of(request), mail_of(request).secret_key,
                                      token, _topic(body), body.frequency)
    except digests.SubscriptionError as exc:
        raise WebError(422, str(exc), "invalid_subscription") from None
    return _subscription(sub)


@router.post("/subscriptions/unsubscribe", response_model=Subscription,
             summary="End the subscription an unsubscribe link names (idempotent; the link is the proof)")
async def unsubscribe(request: Request, token: Token) -> Any:
    try:
        sub = await run_in_threadpool(digests.unsubscribe, engine_of(request), mail_of(request).secret_key, token)
    except TokenError as exc:
        raise WebError(400, f"{exc}.", "token_expired" if exc.expired else "invalid_token") from None
    return _subscription(sub)
