"""How numbers, scores and links are shown: one set of template filters for pages and emails."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

DASH = "—"  # shown wherever a value is unknown: nothing is invented


def num(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def counted(value: Any, noun: str) -> str:
    """`1 paper`, `12 papers`, `— papers` when unknown: the noun agrees with the number."""
    if value is None:
        return f"{DASH} {noun}s"
    return f"{num(value)} {noun}{'' if value == 1 else 's'}"


def group(value: Any) -> str:
    """A percentile group (category tag and year, stored as a list) as words: `LG 2023`."""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value if v is not None) or DASH
    return DASH if value is None else str(value)


def score(value: Any) -> str:
    """An AI Score as cards show it (`95.6`), or a dash when there is none."""
    return DASH if value is None else f"{float(value):.1f}"


def pct(value: Any) -> str:
    return DASH if value is None else f"{float(value):.0f}%"


def whole(value: Any) -> str:
    """An author's AI Score as the listings show it (`64`)."""
    return DASH if value is None else f"{float(value):.0f}"


def safe_url(value: Any) -> str:
    """Only http(s) links become hrefs: a `javascript:` URL from a source stays inert."""
    text = str(value or "")
    return text if urlsplit(text).scheme in ("http", "https") else "#"


def ref(value: Any) -> str:
    """An id as one URL path part (ids hold ':' and '/')."""
    return quote(str(value), safe=":~@")


FILTERS = {"num": num, "counted": counted, "group": group, "score": score, "pct": pct, "whole": whole,
           "safe_url": safe_url, "ref": ref}
