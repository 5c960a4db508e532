"""Parameters shared by the pages and the API: limits, and a parser for form and query strings
that treats an empty field as absent (a browser sends every field of a GET form) and reports each
invalid value with its name, as a 422 in the one error shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from paperscope.services.authors import SORTS as AUTHOR_SORTS
from paperscope.services.browse import LIST_SORTS, MAX_PER_PAGE, PERIODS, SEARCH_MODES, SearchQuery
from paperscope.web.errors import WebError

MAX_QUERY = 500
MAX_ABSTRACT = 10_000
MAX_NAME = 200
MAX_PAGE = 10_000
CATEGORY_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,31}$"
_CATEGORY = re.compile(CATEGORY_PATTERN)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

__all__ = ["AUTHOR_SORTS", "LIST_SORTS", "MAX_PER_PAGE", "PERIODS", "SEARCH_MODES", "QueryParser",
           "check_range"]


class QueryParser:
    """Reads typed values from a mapping of strings, collecting every problem before failing."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = {k: str(v).strip() for k, v in raw.items() if v is not None and str(v).strip() != ""}
        self.problems: list[dict[str, str]] = []

    def _bad(self, name: str, problem: str) -> None:
        self.problems.append({"parameter": name, "problem": problem})

    def text(self, name: str, max_len: int, default: str = "") -> str:
        value = self.raw.get(name, default)
        if len(value) > max_len:
            self._bad(name, f"longer than {max_len} characters")
            return default
        if "\x00" in value:
            self._bad(name, "contains a NUL character")
            return default
        return value

    def optional_text(self, name: str, max_len: int) -> str | None:
        return self.text(name, max_len) or None

    def choice(self, name: str, choices: tuple[str, ...] | list[str], default: str) -> str:
        value = self.raw.get(name, default)
        if value not in choices:
            self._bad(name, f"must be one of {', '.join(choices)}")
            return default
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        if name not in self.raw:
            return default
        try:
            value = int(self.raw[name])
        except ValueError:
            self._bad(name, "must be a whole number")
            return default
        if not lo <= value <= hi:
            self._bad(name, f"must be between {lo} and {hi}")
            return default
        return value

    def number(self, name: str, lo: float, hi: float) -> float | None:
        if name not in self.raw:
            return None
        try:
            value = float(self.raw[name])
        except ValueError:
            self._bad(name, "must be a number")
            return None
        if not lo <= value <= hi:  # also rejects nan
            self._bad(name, f"must be between {lo:g} and {hi:g}")
            return None
        return value

    def day(self, name: str) -> date | None:
        if name not in self.raw:
            return None
        try:
            if not _DAY.fullmatch(self.raw[name]):
                raise ValueError(self.raw[name])
            return date.fromisoformat(self.raw[name])
        except ValueError:
            self._bad(name, "must be a date written YYYY-MM-DD")
            return None

    def boolean(self, name: str) -> bool | None:
        if name not in self.raw:
            return None
        value = self.raw[name].lower()
        if value in _TRUE | _FALSE:
            return value in _TRUE
        self._bad(name, "must be true or false")
        return None

    def category(self, name: str = "category") -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not _CATEGORY.match(value):
            self._bad(name, "must be a category tag like LG or cs.LG")
            return None
        return value

    def done(self) -> None:
        if self.problems:
            names = ", ".join(p["parameter"] for p in self.problems)
            raise WebError(422, f"invalid parameter: {names}", "invalid_parameter", self.problems)


def check_range(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise WebError(422, "invalid parameter: since is after until", "invalid_parameter",
                       [{"parameter": "since", "problem": "must not be after until"}])


def category_tag(value: str | None) -> str | None:
    """`cs.LG` and `LG` both mean the tag LG (the store keeps short tags)."""
    if not value:
        return None
    return value.rsplit(".", 1)[-1].upper() if "." in value else value.upper()


def search_query(raw: Mapping[str, Any], abstract_allowed: bool = False) -> SearchQuery:
    p = QueryParser(raw)
    query = SearchQuery(
        q=p.text("q", MAX_QUERY),
        mode=p.choice("mode", SEARCH_MODES, "keyword"),
        abstract=p.text("abstract", MAX_ABSTRACT) if abstract_allowed else "",
        category=category_tag(p.category()),
        since=p.day("since"),
        until=p.day("until"),
        has_code=p.boolean("has_code"),
        author=p.optional_text("author", MAX_NAME),
        min_score=p.number("min_score", 0, 100),
        page=p.integer("page", 1, 1, MAX_PAGE),
        per_page=p.integer("per_page", 20, 1, MAX_PER_PAGE),
    )
    p.done()
    check_range(query.since, query.until)
    return query
