"""Text and link cleaning that every record passes before it reaches the store.

One rule for both backends: PostgreSQL refuses NUL in text and JSON, SQLite stores it, so text is
cleaned here, at normalisation, and both keep the same value. Control characters other than tab,
line feed and carriage return carry no meaning in titles, abstracts or names and are removed;
lone UTF-16 surrogates (valid in JSON escapes, invalid in UTF-8) become U+FFFD.

Links from sources are kept only when they are http(s): a `javascript:` or `data:` URL would be
exported as it came even though the pages neutralise it.

The record path calls these functions; the snapshot bulk load (ingest/bulk.py) hands every line they
would change to the record path, so both store the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from paperscope.core.records import AuthorProfileRecord, AuthorRecord, Malformed, PaperRecord

# C0 controls except \t \n \r, DEL, C1 controls; then lone surrogates (replaced, not removed).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
SAFE_LINK_SCHEMES = frozenset({"http", "https"})


def clean_text(text: str) -> str:
    """`text` without control characters (tab, newline and carriage return stay) or lone surrogates."""
    if text.isprintable():  # the common case: one C-level scan, no copy
        return text
    text = _CONTROL.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


def unsafe_link_reason(url: str) -> str | None:
    """Why `url` may not be stored as a link (not an absolute http(s) URL), or None when it may."""
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError as exc:
        return f"unparseable URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme not in SAFE_LINK_SCHEMES:
        return f"scheme {scheme + ':' if scheme else '(none)'} is not http(s)"
    if not parts.netloc:
        return "no host"
    return None


@dataclass(frozen=True, slots=True)
class DroppedField:
    """A field removed from a record (the record itself is kept): quarantined with this reason."""

    field: str  # "links.project", "code_urls[0]"
    reason: str
    value: str


def _clean_list(values: list[str]) -> list[str]:
    return [clean_text(v) for v in values]


def _clean_author(author: AuthorRecord) -> None:
    author.name = clean_text(author.name)
    author.affiliations = _clean_list(author.affiliations)
    author.orcid = clean_optional(author.orcid)
    author.openalex_id = clean_optional(author.openalex_id)
    author.s2_id = clean_optional(author.s2_id)


_PAPER_TEXT_FIELDS = (
    "source_key", "title", "abstract", "arxiv_id", "doi", "openalex_id", "s2_id", "primary_category",
    "comments", "journal_ref", "license", "venue", "owner_author",
)


def clean_paper_record(record: PaperRecord) -> list[DroppedField]:
    """Clean every text of `record` in place and drop its non-http(s) links; returns what was dropped."""
    for name in _PAPER_TEXT_FIELDS:
        value = getattr(record, name)
        if value is not None:
            setattr(record, name, clean_text(value))
    record.categories = _clean_list(record.categories)
    record.orgs = _clean_list(record.orgs)
    record.keywords = _clean_list(record.keywords)
    record.other_ids = {clean_text(k): clean_text(v) for k, v in record.other_ids.items() if isinstance(v, str)}
    record.references = [(clean_text(s), clean_text(v)) for s, v in record.references]
    for author in record.authors:
        _clean_author(author)
    dropped: list[DroppedField] = []
    links: dict[str, str] = {}
    for key, url in record.links.items():
        url = clean_text(url)
        reason = unsafe_link_reason(url)
        if reason:
            dropped.append(DroppedField(f"links.{key}", reason, url))
        else:
            links[clean_text(key)] = url.strip()
    record.links = links
    code_urls: list[str] = []
    for index, url in enumerate(record.code_urls):
        url = clean_text(url)
        reason = unsafe_link_reason(url)
        if reason:
            dropped.append(DroppedField(f"code_urls[{index}]", reason, url))
        else:
            code_urls.append(url.strip())
    record.code_urls = code_urls
    return dropped


def clean_profile_record(record: AuthorProfileRecord) -> None:
    """Clean every text of an author report in place."""
    record.source_key = clean_text(record.source_key)
    record.name = clean_text(record.name)
    record.orcid = clean_optional(record.orcid)
    record.openalex_id = clean_optional(record.openalex_id)
    record.s2_id = clean_optional(record.s2_id)
    record.field = clean_optional(record.field)
    record.affiliations = _clean_list(record.affiliations)


def clean_malformed(record: Malformed) -> None:
    """A quarantined record's position, reason and raw text are stored too: cleaned the same way."""
    record.position = clean_text(record.position)
    record.reason = clean_text(record.reason)
    record.raw = clean_optional(record.raw)
