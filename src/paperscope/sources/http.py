"""A polite HTTP client shared by every live source.

Polite means: a User-Agent naming paperscope, a minimum interval between requests to one host,
retries with exponential backoff on 429, 5xx and network errors, honouring Retry-After.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(RuntimeError):
    """A source could not be reached or answered with an error; says which URL and why."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


class PoliteClient:
    """GET/POST with rate limiting and retries. One instance per source."""

    def __init__(
        self,
        user_agent: str,
        min_interval: float = 1.0,
        retries: int = 5,
        timeout: float = 30.0,
        backoff: float = 1.0,
        max_wait: float = 300.0,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.min_interval = min_interval
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._last_request = 0.0
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, **(headers or {})},
            timeout=timeout,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_turn(self) -> None:
        wait = self._last_request + self.min_interval - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_request = time.monotonic()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, object] | None = None,
        json: object = None,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send with retries. Returns 2xx responses and those in ok_statuses; raises SourceError else.

        ok_statuses lets a source read error bodies it understands (arXiv's 400 feed, OAI errors).
        """
        attempt = 0
        while True:
            self._wait_turn()
            try:
                response = self._client.request(method, url, params=params, json=json)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise SourceError(url, f"unreachable after {attempt + 1} tries: {exc}") from exc
                self._sleep(self._backoff_delay(attempt, None))
                attempt += 1
                continue
            if response.is_success or response.status_code in ok_statuses:
                return response
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                delay = self._backoff_delay(attempt, retry_after_seconds(response.headers.get("Retry-After")))
                self._sleep(delay)
                attempt += 1
                continue
            snippet = response.text[:300].replace("\n", " ")
            raise SourceError(
                str(response.request.url),
                f"HTTP {response.status_code} after {attempt + 1} tries: {snippet}",
                status=response.status_code,
            )

    def _backoff_delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        # Full jitter keeps many clients from retrying in lock-step.
        return min(self.max_wait, self.backoff * (2**attempt) * (0.5 + random.random() / 2))

    def get(self, url: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", url, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", url, **kwargs)  # type: ignore[arg-type]


def utc_now() -> datetime:
    return datetime.now(UTC)
