"""Request-level limits and methods, as pure ASGI middleware in front of every route.

- `BodyLimit`: a request body larger than `max_request_bytes` is answered 413 before it is read:
  at once from its Content-Length, or, for a chunked body, as soon as the bytes received pass the
  limit (the route never sees a larger body).
- `HeadAndOptions`: HEAD is answered for every GET route (the GET's status and headers, no body,
  as RFC 9110 asks); OPTIONS, and every 405, list in `Allow` the methods the path really accepts.
"""

from __future__ import annotations

import json

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _send_error(send: Send, status: int, message: str, code: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": {"status": status, "code": code, "message": message}}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"), *headers],
    })
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes:,} bytes (max_request_bytes)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await _send_error(send, 400, "Content-Length is not a number", "bad_request", [])
                return
            if too_big:
                await _send_error(send, 413, self._message(), "body_too_large", [])
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, self._message(), "body_too_large", [])


class _TooLarge(Exception):
    """Raised inside the app when a chunked body passes the limit; answered 413 above it."""


_PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")


class HeadAndOptions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def _allowed(self, scope: Scope) -> set[str]:
        """The methods some route fully matches on this path (asked of the router, so routers
        included in routers answer too)."""
        routes = scope["app"].router.routes
        methods = {
            method
            for method in _PROBED
            for route in routes
            # A mount (static files) matches any method but serves only GET and HEAD.
            if (method == "GET" or not isinstance(route, Mount))
            and route.matches({**scope, "method": method})[0] == Match.FULL
        }
        if "GET" in methods:
            methods.add("HEAD")
        return methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("HEAD", "OPTIONS"):

            async def with_allow(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] == 405:
                    allow = ", ".join(sorted(self._allowed(scope) | {"OPTIONS"})).encode()
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allow)]}
                await send(message)

            await self.app(scope, receive, with_allow)
            return
        if scope["method"] == "OPTIONS":
            allowed = self._allowed(scope)
            if not allowed:
                await self.app(scope, receive, send)  # no such path: the app's 404
                return
            allow = ", ".join(sorted(allowed | {"OPTIONS"})).encode()
            await send({"type": "http.response.start", "status": 204,
                        "headers": [(b"allow", allow), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
