"""The arXiv API (Atom feeds from export.arxiv.org/api/query): parse pages, page through queries.

The API answers a search or an id list with an Atom feed of at most `max_results` entries starting
at `start`, and says how many match in `opensearch:totalResults`; the resume cursor is therefore
the next start offset. A bad request comes back as HTTP 400 with a feed holding one entry titled
"Error" whose summary says what was wrong ("incorrect id format for abc"); that becomes a
SourceError, never a paper.

Paging sorts by submission date, oldest first by default, so papers announced while a harvest runs
land after the cursor instead of shifting already-read pages. Pages that still overlap (the API
does repeat entries) give identical records with the same `source_key` (id plus version); ingest
deduplicates them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from lxml import etree

from paperscope.core.ids import InvalidId, parse_arxiv_id
from paperscope.core.records import AuthorRecord, Batch, Malformed, PaperRecord, set_input, set_origin
from paperscope.sources.arxiv_common import code_urls, collapse, iso_date, split_dois
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.recovery import XmlPiece, parse_xml_elements

SOURCE = "arxiv_api"
API_URL = "https://export.arxiv.org/api/query"
MAX_PAGE_SIZE = 2000  # the API refuses larger pages

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ENTRY = _ATOM + "entry"
_ID = _ATOM + "id"
_TITLE = _ATOM + "title"
_SUMMARY = _ATOM + "summary"
_PUBLISHED = _ATOM + "published"
_UPDATED = _ATOM + "updated"
_LINK = _ATOM + "link"
_CATEGORY = _ATOM + "category"
_AUTHOR = _ATOM + "author"
_NAME = _ATOM + "name"
_AFFILIATION = _ARXIV + "affiliation"
_PRIMARY = _ARXIV + "primary_category"
_COMMENT = _ARXIV + "comment"
_JOURNAL_REF = _ARXIV + "journal_ref"
_DOI = _ARXIV + "doi"
_ERROR_ID_PREFIXES = ("http://arxiv.org/api/errors", "https://arxiv.org/api/errors")

_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "huge_tree": True}


class ArxivApiError(ValueError):
    """The API answered with its error feed; `message` is what it said."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class FeedPage:
    """One parsed API response."""

    records: list[PaperRecord | Malformed] = field(default_factory=list)
    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None

    @property
    def entry_count(self) -> int:
        return len(self.records)


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _error_message(entry: etree._Element) -> str | None:
    """The message of an error entry, None for an ordinary entry."""
    entry_id = (entry.findtext(_ID) or "").strip()
    title = (entry.findtext(_TITLE) or "").strip()
    if entry_id.startswith(_ERROR_ID_PREFIXES) or (title == "Error" and "/abs/" not in entry_id):
        return collapse(entry.findtext(_SUMMARY)) or entry_id or "unspecified error"
    return None


def parse_entry(entry: etree._Element, position: str) -> PaperRecord | Malformed:
    """One Atom <entry> as a PaperRecord, or a Malformed saying what is wrong with it."""
    try:
        raw_id = (entry.findtext(_ID) or "").strip()
        if not raw_id:
            raise InvalidId("entry has no <id>")
        arxiv_id, version = parse_arxiv_id(raw_id)
        title = collapse(entry.findtext(_TITLE))
        if title is None:
            raise InvalidId(f"entry {raw_id} has no title")
        try:
            published = iso_date(entry.findtext(_PUBLISHED))
            updated = iso_date(entry.findtext(_UPDATED))
        except ValueError as exc:
            raise InvalidId(f"entry {raw_id} has an impossible date: {exc}") from exc
    except InvalidId as exc:
        return Malformed(SOURCE, position, str(exc), etree.tostring(entry, encoding="unicode"))

    abstract = collapse(entry.findtext(_SUMMARY))
    comments = collapse(entry.findtext(_COMMENT))
    links: dict[str, str] = {}
    doi_link: str | None = None
    for link in entry.iterfind(_LINK):
        href = link.get("href")
        if not href:
            continue
        link_title = link.get("title")
        if link_title == "pdf":
            links["pdf"] = href
        elif link_title == "doi":
            doi_link = doi_link or href
        elif link.get("rel") == "alternate":
            links["abs"] = href
    doi, _ = split_dois(entry.findtext(_DOI))
    if doi is None and doi_link:
        doi, _ = split_dois(doi_link)
    if doi:
        links["doi"] = doi_link or f"https://doi.org/{doi}"
    primary = entry.find(_PRIMARY)
    authors = []
    for author in entry.iterfind(_AUTHOR):
        name = collapse(author.findtext(_NAME))
        if name:
            affiliations = [a for a in (collapse(el.text) for el in author.iterfind(_AFFILIATION)) if a]
            authors.append(AuthorRecord(name=name, affiliations=affiliations))
    return PaperRecord(
        source=SOURCE,
        source_key=f"{arxiv_id}v{version}" if version else arxiv_id,
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=doi,
        published=published,
        updated=updated,
        primary_category=(primary.get("term") or None) if primary is not None else None,
        categories=[t for t in (c.get("term") for c in entry.iterfind(_CATEGORY)) if t],
        comments=comments,
        journal_ref=collapse(entry.findtext(_JOURNAL_REF)),
        links=links,
        authors=authors,
        code_urls=code_urls(abstract, comments),
    )


def parse_feed(data: bytes, label: str = "") -> FeedPage:
    """Parse one API response body.

    Raises ArxivApiError for the API's error feed and etree.XMLSyntaxError for a body that is
    not XML. Broken entries become Malformed records; the other entries still come through.
    """
    try:
        root = etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError:
        root, pieces = parse_xml_elements(data, "entry", _PARSER_OPTIONS)
        if root is None and not pieces:
            raise
    else:
        pieces = [XmlPiece(0, entry, None, "") for entry in root.iterfind(_ENTRY)]
    page = FeedPage()
    if root is not None:
        page.total_results = _int_or_none(root.findtext(_OPENSEARCH + "totalResults"))
        page.start_index = _int_or_none(root.findtext(_OPENSEARCH + "startIndex"))
        page.items_per_page = _int_or_none(root.findtext(_OPENSEARCH + "itemsPerPage"))
    offset = page.start_index or 0
    for n, piece in enumerate(pieces):
        position = f"{label}#entry{n}" if label else f"start={offset + n}"
        if piece.element is None:  # a damaged entry of a damaged response
            page.records.append(Malformed(SOURCE, f"{position} (byte {piece.offset})", piece.error or "", piece.raw))
            continue
        message = _error_message(piece.element)
        if message is not None:
            raise ArxivApiError(message)
        page.records.append(set_origin(parse_entry(piece.element, position), label or f"start={offset}", f"#entry{n}"))
    return page


def _body_of(path: Path) -> tuple[bytes, int | None]:
    """The response bytes of a saved file: raw XML, or a {"url", "status_code", "body"} wrapper."""
    data = path.read_bytes()
    if data.lstrip()[:1] != b"{":
        return data, None
    try:
        wrapper = orjson.loads(data)
    except orjson.JSONDecodeError:
        # A damaged byte (invalid UTF-8, a control character) inside the body string: read the
        # wrapper leniently and let the XML recovery sort the body's entries out.
        wrapper = json.loads(data.decode("utf-8", "replace"), strict=False)
    body = wrapper["body"]
    # The wrapper stores the bytes decoded as latin-1; encoding back gives exactly what was sent.
    try:
        raw = body.encode("latin-1")
    except UnicodeEncodeError:
        raw = body.encode("utf-8")
    return raw, wrapper.get("status_code")


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in {".xml", ".json", ".atom"})
        else:
            yield path


def read_files(paths: Iterable[str | Path]) -> Iterator[Batch]:
    """One Batch per saved API response (raw Atom XML or a JSON wrapper); directories are walked."""
    for path in _expand(paths):
        try:
            data, _status = _body_of(path)
            page = parse_feed(data, label=path.name)
        except ArxivApiError as exc:
            yield Batch([Malformed(SOURCE, str(path), f"arXiv API error: {exc.message}")], None, path.name)
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError, etree.XMLSyntaxError) as exc:
            reason = f"unreadable response file: {type(exc).__name__}: {exc}"
            yield Batch([Malformed(SOURCE, str(path), reason)], None, path.name)
            continue
        yield Batch([set_input(record, str(path)) for record in page.records], None, path.name)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def build_search_query(
    *,
    category: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    query: str | None = None,
) -> str:
    """The API's search_query for a category, a submission-date window and free query text."""
    parts: list[str] = []
    if query:
        parts.append(f"({query})" if " " in query.strip() else query.strip())
    if category:
        parts.append(f"cat:{category}")
    if date_from is not None or date_to is not None:
        start = _as_date(date_from) if date_from is not None else date(1991, 1, 1)
        end = _as_date(date_to) if date_to is not None else datetime.now(UTC).date()
        parts.append(f"submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]")
    return " AND ".join(parts)


def fetch_arxiv_api(
    client: PoliteClient,
    *,
    category: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    ids: Sequence[str] | None = None,
    query: str | None = None,
    page_size: int = 100,
    max_results: int | None = None,
    cursor: str | None = None,
    base_url: str = API_URL,
    sort_by: str = "submittedDate",
    sort_order: str = "ascending",
    empty_page_retries: int = 2,
) -> Iterator[Batch]:
    """Page through a query; each Batch's cursor is the start offset of the next page.

    `max_results` bounds the records of this call (a cursor still comes back when more remain).
    The API sometimes returns an empty page before the end; such a page is asked for again
    `empty_page_retries` times before the harvest stops with a SourceError.
    """
    search_query = build_search_query(category=category, date_from=date_from, date_to=date_to, query=query)
    id_list = ",".join(i.strip() for i in ids or () if i.strip())
    if not search_query and not id_list:
        raise ValueError("fetch_arxiv_api needs a category, a date window, a query or ids")
    if page_size < 1:
        raise ValueError("page_size must be positive")
    page_size = min(page_size, MAX_PAGE_SIZE)
    try:
        start = int(cursor) if cursor else 0
    except ValueError as exc:
        raise ValueError(f"arXiv API cursor must be a start offset, got {cursor!r}") from exc
    fetched = 0
    empty_tries = 0
    while max_results is None or fetched < max_results:
        size = page_size if max_results is None else min(page_size, max_results - fetched)
        params: dict[str, object] = {
            "search_query": search_query,
            "id_list": id_list,
            "start": start,
            "max_results": size,
            "sortBy": sort_by,
            "sortOrder": sort_order,
        }
        response = client.get(base_url, params=params, ok_statuses=frozenset({400}))
        url = str(response.request.url)
        try:
            page = parse_feed(response.content)
        except ArxivApiError as exc:
            raise SourceError(url, f"arXiv API error: {exc.message}", status=response.status_code) from exc
        except etree.XMLSyntaxError as exc:
            raise SourceError(
                url, f"HTTP {response.status_code}, not an Atom feed: {exc}", status=response.status_code
            ) from exc
        if response.status_code != 200:
            raise SourceError(
                url, f"HTTP {response.status_code} without an error entry", status=response.status_code
            )
        total = page.total_results
        count = page.entry_count
        if count == 0:
            if total is not None and start < total and empty_tries < empty_page_retries:
                empty_tries += 1
                continue
            if total is not None and start < total:
                raise SourceError(url, f"empty page at start={start} although totalResults={total}")
            return
        empty_tries = 0
        start += count
        fetched += count
        done = total is not None and start >= total
        yield Batch(list(page.records), None if done else str(start), f"start={start - count}")
        if done:
            return
