"""Placeholder of the digests feature's subscribe form target: checks the form's CSRF token, then
says plainly that email digests are not available yet (501). The digests feature replaces this
router in app.ROUTERS with its own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paperscope.web.errors import WebError
from paperscope.web.security import CSRF_FIELD

router = APIRouter(include_in_schema=False)


@router.post("/subscribe")
async def subscribe(request: Request) -> Response:
    form = await request.form()
    if not request.app.state.csrf.valid(request, form.get(CSRF_FIELD)):
        raise WebError(403, "the form's security token is missing or expired: reload the page and retry",
                       "csrf_failed")
    raise WebError(501, "Email digests are not available yet in this paperscope: nothing was stored.",
                   "not_implemented")
