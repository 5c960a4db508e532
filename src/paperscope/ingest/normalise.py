"""From a source's PaperRecord to the store's paper row, and the checks a record must pass.

Before a record gets here its text is cleaned and its links filtered by core/cleaning.py
(`clean_paper_record`): every path into the store calls that one function, so all store the same values.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import orjson

from paperscope.core.categories import short_tag
from paperscope.core.codelinks import extract_code_urls
from paperscope.core.ids import (
    InvalidId,
    normalise_doi,
    normalise_person_name,
    normalise_title,
    parse_arxiv_id,
)
from paperscope.core.records import AuthorRecord, PaperRecord

Row = dict[str, Any]

# Lower wins when two sources disagree on a bibliographic field: the arXiv record is the
# authority on arXiv papers, aggregators next, pages saved from web sites last.
SOURCE_PRIORITY: dict[str, int] = {
    "arxiv_api": 0,
    "arxiv_oai": 0,
    "arxiv_snapshot": 1,
    "openalex": 2,
    "s2": 3,
    "aan": 4,
    "hf": 5,
    "listing": 6,
}
EARLIEST_YEAR = 1600


def priority(source: str | None) -> int:
    return SOURCE_PRIORITY.get(source or "", 99)


def validate(record: PaperRecord, today: date) -> str | None:
    """Why this record cannot be stored, or None. Also normalises its ids in place."""
    if record.title is not None and not record.title.strip():
        return "missing title"  # None is a partial record (title not requested): it may enrich a match
    if record.arxiv_id:
        try:
            bare, version = parse_arxiv_id(record.arxiv_id)
        except InvalidId as exc:
            return f"bad arXiv id: {exc}"
        record.arxiv_id = bare
        record.arxiv_version = record.arxiv_version or version
    if record.doi:
        try:
            record.doi = normalise_doi(record.doi)
        except InvalidId as exc:
            return f"bad DOI: {exc}"
    latest = date(today.year + 1, 12, 31)
    for name in ("published", "updated", "featured_on"):
        value = getattr(record, name)
        if value is not None and not (date(EARLIEST_YEAR, 1, 1) <= value <= latest):
            return f"impossible {name} date {value.isoformat()}"
    if record.year is not None and not (EARLIEST_YEAR <= record.year <= latest.year):
        return f"impossible year {record.year}"
    if record.published and record.updated and record.updated < record.published:
        return (
            f"impossible dates: updated {record.updated.isoformat()} before "
            f"published {record.published.isoformat()}"
        )
    return None


def _clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def paper_row(record: PaperRecord) -> Row:
    """The row this record alone would give (field_sources all point at the record's source)."""
    title = _clean_text(record.title) or ""  # "" only for partial records, which must match a stored paper
    abstract = _clean_text(record.abstract)
    published = record.published
    categories = list(record.categories)
    if not categories and record.primary_category and "." in record.primary_category:
        categories = [record.primary_category]
    links = dict(record.links)
    if record.arxiv_id:
        links.setdefault("abs", f"https://arxiv.org/abs/{record.arxiv_id}")
        links.setdefault("pdf", f"https://arxiv.org/pdf/{record.arxiv_id}")
    if record.doi:
        links.setdefault("doi", f"https://doi.org/{record.doi}")
    code_urls = list(record.code_urls)
    for url in extract_code_urls(record.abstract, record.comments):
        if url not in code_urls:
            code_urls.append(url)
    row: Row = {
        "arxiv_id": record.arxiv_id,
        "arxiv_version": record.arxiv_version,
        "doi": record.doi,
        "openalex_id": record.openalex_id,
        "s2_id": record.s2_id,
        "title": title,
        "title_key": normalise_title(title),
        "abstract": abstract,
        "published": published,
        "updated": record.updated,
        "year": published.year if published else record.year,
        "primary_category": short_tag(record.primary_category or (categories[0] if categories else None)),
        "categories": categories,
        "comments": _clean_text(record.comments),
        "journal_ref": _clean_text(record.journal_ref),
        "license": record.license,
        "venue": _clean_text(record.venue),
        "links": links,
        "author_count": None,
        "authors_truncated": False,
        "authors_source": None,
        "orgs": list(dict.fromkeys(record.orgs)),
        "code_urls": code_urls,
        "code_badge": record.code_badge,
        "has_code": bool(code_urls) or bool(record.code_badge),
        "cited_by_count": record.cited_by_count,
        "cited_by_source": record.source if record.cited_by_count is not None else None,
        "upvotes": record.upvotes,
        "listing_score": record.listing_score,
        "keywords": list(dict.fromkeys(record.keywords)),
        "featured_on": record.featured_on,
    }
    source = record.source
    sources = {k: source for k, v in row.items() if v and k != "links"}
    sources.update({f"links.{key}": record.source for key in links})
    row["field_sources"] = sources
    return row


def authors_with_owner(record: PaperRecord) -> list[tuple[AuthorRecord, str]]:
    """The record's authors in order, plus a listing page's owner where the card did not show them."""
    listed = [(a, "source") for a in record.authors if a.name and not a.name.isspace()]
    if record.owner_author:
        owner_key = normalise_person_name(record.owner_author)
        if all(normalise_person_name(a.name) != owner_key for a, _ in listed):
            listed.append((AuthorRecord(name=record.owner_author), "page_owner"))
    return listed


_SAID_FIELDS = tuple(
    name for name in PaperRecord.__slots__  # type: ignore[attr-defined]
    if name not in ("abstract", "source", "source_key", "origin")
)


def _author_said(author: AuthorRecord) -> Row:
    said: Row = {"name": author.name}
    if author.affiliations:
        said["affiliations"] = author.affiliations
    if author.orcid:
        said["orcid"] = author.orcid
    if author.openalex_id:
        said["openalex_id"] = author.openalex_id
    if author.s2_id:
        said["s2_id"] = author.s2_id
    return said


def provenance_record(record: PaperRecord) -> Row:
    """What the source said, as JSON-ready data (the abstract lives in papers, not repeated here).

    Empty values are left out; a count of 0 is kept (no citations is something a source said).
    """
    out: Row = {}
    for name in _SAID_FIELDS:
        value = getattr(record, name)
        if value is None or value is False or (not value and value != 0):
            continue
        if name == "authors":
            value = [_author_said(a) for a in value]
        elif name == "counts_by_year":
            value = {str(k): v for k, v in sorted(value.items())}
        elif name == "references":
            value = [list(ref) for ref in value]
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    return out


def record_hash(said: Row) -> str:
    """The hash of what a source said (provenance_record): equal hashes, equal versions."""
    return hashlib.blake2b(orjson.dumps(said, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
