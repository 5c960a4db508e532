"""Merging one source's view of a paper into the stored paper, field by field, with provenance.

Rules (docs/ingest.md):
- bibliographic fields: the value of the highest-priority source that has one (normalise.SOURCE_PRIORITY);
  a source may always revise what it said itself; between equal-priority sources the first one stays;
- links: per key, as above; orgs, code links, keywords: the union, first-seen order;
- counts (cited_by_count, upvotes) and a listing's score: the most recent *news*: a count replaces the
  stored one when its source reports a value it had not reported before (see batch: a source
  repeating itself is no news), so re-running old inputs never rolls a count back;
- code badge: shown by any listing; featured_on: the earliest day a daily list featured it.
"""

from __future__ import annotations

from typing import Any

from paperscope.ingest.normalise import priority

Row = dict[str, Any]

BIBLIOGRAPHIC = (
    "title",
    "abstract",
    "published",
    "updated",
    "year",
    "primary_category",
    "categories",
    "comments",
    "journal_ref",
    "license",
    "venue",
    "arxiv_id",
    "arxiv_version",
    "doi",
    "openalex_id",
    "s2_id",
)
UNIONS = ("orgs", "code_urls", "keywords")
LATEST = ("upvotes", "listing_score")
# Columns that describe the row rather than the paper; never compared for change.
BOOKKEEPING = ("created_at", "updated_at")


def _empty(value: object) -> bool:
    return value is None or value == [] or value == {} or value == ""


def merge_paper(current: Row, new: Row, source: str) -> Row:
    """`current` with what `new` (from `source`) adds or overrides. Neither input is changed."""
    merged = dict(current)
    sources = dict(current.get("field_sources") or {})
    for field in BIBLIOGRAPHIC:
        value = new.get(field)
        if _empty(value):
            continue
        if _empty(merged.get(field)) or _outranks(source, sources.get(field)):
            merged[field] = value
            sources[field] = source
    if sources.get("title") == source and new["title_key"]:
        merged["title_key"] = new["title_key"]
    links = dict(merged.get("links") or {})
    for key, url in (new.get("links") or {}).items():
        if key not in links or _outranks(source, sources.get(f"links.{key}")):
            links[key] = url
            sources[f"links.{key}"] = source
    merged["links"] = links
    for field in UNIONS:
        combined = list(merged.get(field) or [])
        for value in new.get(field) or []:
            if value not in combined:
                combined.append(value)
        merged[field] = combined
    for field in LATEST:
        if new.get(field) is not None:
            merged[field] = new[field]
            sources[field] = source
    if new.get("cited_by_count") is not None:
        merged["cited_by_count"] = new["cited_by_count"]
        merged["cited_by_source"] = source
    if new.get("code_badge") is not None:
        merged["code_badge"] = bool(merged.get("code_badge")) or new["code_badge"]
    if new.get("featured_on") is not None:
        earlier = merged.get("featured_on")
        merged["featured_on"] = min(earlier, new["featured_on"]) if earlier else new["featured_on"]
    merged["has_code"] = bool(merged["code_urls"]) or bool(merged.get("code_badge"))
    merged["field_sources"] = sources
    return merged


def _outranks(source: str, holder: str | None) -> bool:
    """A source replaces a value it gave itself, or one from a lower-priority source. Equal-priority
    sources do not replace each other, so re-running them in any order changes nothing."""
    return holder is None or source == holder or priority(source) < priority(holder)


def accepts_authors(current: Row, source: str, truncated: bool, count: int) -> bool:
    """Whether `source`'s author list replaces the stored one: a full list beats a truncated one,
    then the higher-priority source wins (a tie goes to the newer record)."""
    if count == 0:
        return False
    stored_source = current.get("authors_source")
    if stored_source is None:
        return True
    stored_truncated = bool(current.get("authors_truncated"))
    if stored_truncated != truncated:
        return stored_truncated
    return _outranks(source, stored_source)


def changed(before: Row | None, after: Row) -> bool:
    if before is None:
        return True
    return any(before.get(k) != v for k, v in after.items() if k not in BOOKKEEPING)
