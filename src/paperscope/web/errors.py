"""One error shape for every failure: `{"error": {"status", "code", "message", "details"}}` on the
JSON API, and the same fields on an HTML error page. Invalid parameters are 4xx, never 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from paperscope.services.inputs import InvalidInput

log = logging.getLogger("paperscope.web")

CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         413: "too_large", 422: "invalid_parameter", 500: "internal_error", 501: "not_implemented"}


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """The body of every error reply of the JSON API."""

    error: ErrorBody


# Documented on every API route, so the OpenAPI document says what a client may get back.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad request"},
    404: {"model": ErrorResponse, "description": "Not found"},
    422: {"model": ErrorResponse, "description": "Invalid parameter"},
}


class WebError(Exception):
    """An error a route raises on purpose: status, machine code and a message for people."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details
        self.code = code or CODES.get(status, "error")


def error_body(status: int, message: str, code: str | None = None,
               details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "code": code or CODES.get(status, "error"), "message": message,
                      "details": details}}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def render_error(request: Request, status: int, message: str, code: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> Response:
    body = error_body(status, message, code, details)
    if wants_json(request):
        return JSONResponse(body, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"error": body["error"]}, status_code=status)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [str(part) for part in e.get("loc", ())]
        if len(loc) > 1 and loc[0] in ("query", "path", "body"):
            loc = loc[1:]  # the parameter's own name, as the client wrote it
        where = ".".join(loc) or "request"
        out.append({"parameter": where, "problem": str(e.get("msg", "invalid"))})
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        return render_error(request, exc.status, exc.message, exc.code, exc.details)

    @app.exception_handler(InvalidInput)
    async def _invalid_input(request: Request, exc: InvalidInput) -> Response:
        # A value the user typed (an unknown category, an author that is not in the store): the
        # message names it and what is valid, so it is the client's 422, never the server's 500.
        return render_error(request, 422, str(exc), "invalid_parameter")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        names = ", ".join(d["parameter"] for d in details) or "request"
        return render_error(request, 422, f"invalid parameter: {names}", "invalid_parameter", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no page at {request.url.path}"
        response = render_error(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return render_error(request, 500, "internal error: the server log has the details")
