"""Security headers on every reply and CSRF protection of the forms (signed double-submit token).

The CSRF cookie holds a random value; each form carries that value signed with the app's secret
(itsdangerous). A POST passes when the form's token is validly signed, not expired, and matches the
cookie: another site can make a browser send the cookie but can neither read it nor sign it.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "paperscope_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"  # the JSON API and the pages' script send the token here
CSRF_MAX_AGE = 12 * 3600

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task switch) adding the headers above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Csrf:
    def __init__(self, secret: str) -> None:
        self.signer = URLSafeTimedSerializer(secret, salt="paperscope-csrf")

    def cookie_value(self, request: Request) -> tuple[str, bool]:
        """The request's CSRF cookie value, or a new one (True when it must be set)."""
        value = request.cookies.get(CSRF_COOKIE, "")
        if 16 <= len(value) <= 64 and value.isalnum():
            return value, False
        return secrets.token_hex(16), True

    def token(self, cookie_value: str) -> str:
        return self.signer.dumps(cookie_value)

    def valid(self, request: Request, token: str | None) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not token:
            return False
        try:
            signed = self.signer.loads(token, max_age=CSRF_MAX_AGE)
        except BadSignature:
            return False
        return isinstance(signed, str) and secrets.compare_digest(signed, cookie)
