"""arXiv OAI-PMH (oaipmh.arxiv.org/oai, formerly export.arxiv.org/oai2): harvest with resumption tokens.

ListRecords pages hold up to about a thousand records and end with a `resumptionToken`; the next
page is asked for with that token alone, and an empty token marks the last page. The token is
therefore the resume cursor. Three metadata formats are understood:

- `arXiv`: structured authors (keyname, forenames, suffix, affiliation), created/updated dates;
- `arXivRaw`: every version with its date, authors as one string;
- `oai_dc`: Dublin Core (tolerated: subjects are names, not category codes, so they are kept as
  keywords and the category stays unknown).

Error replies carry `<error code="...">`. `noRecordsMatch` is the protocol's way of saying "zero
records" and is not an error; every other code is. Deleted records (header status="deleted") are
skipped: they are not papers and not malformed. Elements are matched by local name, so a record
whose metadata lost its namespace still parses.
"""

from __future__ import annotations

import email.utils
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lxml import etree

from paperscope.core.ids import InvalidId, parse_arxiv_id
from paperscope.core.records import AuthorRecord, Batch, Malformed, PaperRecord, set_input, set_origin
from paperscope.sources.arxiv_common import code_urls, collapse, iso_date, split_author_string, split_dois
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.recovery import parse_xml_elements

SOURCE = "arxiv_oai"
OAI_URL = "https://oaipmh.arxiv.org/oai"
LEGACY_OAI_URL = "http://export.arxiv.org/oai2"
METADATA_PREFIXES = ("arXiv", "arXivRaw", "oai_dc")
NO_RECORDS = "noRecordsMatch"

_SCAN_TAGS = ("{*}record", "{*}error", "{*}resumptionToken")
_PARSE_OPTIONS = {"resolve_entities": False, "no_network": True, "huge_tree": True}
_ID_PREFIX = "oai:arXiv.org:"


class OaiError(ValueError):
    """An OAI-PMH error reply other than noRecordsMatch."""

    def __init__(self, code: str, message: str):
        super().__init__(f"OAI-PMH error {code}: {message}")
        self.code = code
        self.message = message


@dataclass(slots=True)
class OaiPage:
    """One parsed OAI-PMH response."""

    records: list[PaperRecord | Malformed] = field(default_factory=list)
    resumption_token: str | None = None  # None: no token element; "": the list is complete
    complete_list_size: int | None = None
    cursor: int | None = None  # the token's cursor attribute: records before this page
    error_code: str | None = None
    error_message: str | None = None
    deleted: int = 0

    @property
    def next_cursor(self) -> str | None:
        """The token to resume after this page, None at the end of the list."""
        return self.resumption_token or None


def _local(tag: object) -> str | None:
    if not isinstance(tag, str):  # comments and processing instructions
        return None
    return tag.rpartition("}")[2]


def _children(element: etree._Element) -> dict[str, list[etree._Element]]:
    out: dict[str, list[etree._Element]] = {}
    for child in element:
        name = _local(child.tag)
        if name is not None:
            out.setdefault(name, []).append(child)
    return out


def _text(kids: dict[str, list[etree._Element]], name: str) -> str | None:
    found = kids.get(name)
    return collapse(found[0].text) if found else None


def _rfc_date(text: str | None) -> date | None:
    """The date of an arXivRaw version date ("Fri, 8 Feb 2013 21:00:01 GMT")."""
    if not text or not text.strip():
        return None
    try:
        return email.utils.parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"impossible date {text.strip()!r}") from exc


def _arxiv_links(arxiv_id: str, doi: str | None) -> dict[str, str]:
    links = {"abs": f"https://arxiv.org/abs/{arxiv_id}", "pdf": f"https://arxiv.org/pdf/{arxiv_id}"}
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    return links


def _resolve_id(metadata_id: str | None, identifier: str | None) -> tuple[str, int | None]:
    raw = metadata_id or (identifier.removeprefix(_ID_PREFIX) if identifier else None)
    if not raw:
        raise InvalidId("record has no arXiv id")
    return parse_arxiv_id(raw)


def _common(kids: dict[str, list[etree._Element]]) -> dict[str, object]:
    """Fields the arXiv and arXivRaw formats share."""
    title = _text(kids, "title")
    if title is None:
        raise InvalidId("record has no title")
    categories = (_text(kids, "categories") or "").split()
    doi, _other_dois = split_dois(_text(kids, "doi"))
    abstract = _text(kids, "abstract")
    comments = _text(kids, "comments")
    other_ids = {}
    report_no = _text(kids, "report-no")
    if report_no:
        other_ids["report_no"] = report_no
    return {
        "title": title,
        "abstract": abstract,
        "doi": doi,
        "primary_category": categories[0] if categories else None,
        "categories": categories,
        "comments": comments,
        "journal_ref": _text(kids, "journal-ref"),
        "license": _text(kids, "license"),
        "other_ids": other_ids,
        "code_urls": code_urls(abstract, comments),
    }


def _parse_arxiv(meta: etree._Element, identifier: str | None, key: str) -> PaperRecord:
    kids = _children(meta)
    arxiv_id, version = _resolve_id(_text(kids, "id"), identifier)
    fields = _common(kids)
    try:
        published = iso_date(_text(kids, "created"))
        updated = iso_date(_text(kids, "updated"))
    except ValueError as exc:
        raise InvalidId(f"impossible date: {exc}") from exc
    authors: list[AuthorRecord] = []
    for group in kids.get("authors", ()):
        for author in group:
            if _local(author.tag) != "author":
                continue
            parts = _children(author)
            name = " ".join(
                p for p in (_text(parts, "forenames"), _text(parts, "keyname"), _text(parts, "suffix")) if p
            )
            # arXiv's own author splitter leaves stray ":" entries after collaboration names.
            if any(ch.isalnum() for ch in name):
                affiliations = [a for a in (collapse(el.text) for el in parts.get("affiliation", ())) if a]
                authors.append(AuthorRecord(name=name, affiliations=affiliations))
    return PaperRecord(
        source=SOURCE,
        source_key=key,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        published=published,
        updated=updated,
        authors=authors,
        links=_arxiv_links(arxiv_id, fields["doi"]),
        **fields,  # type: ignore[arg-type]
    )


def _parse_arxiv_raw(meta: etree._Element, identifier: str | None, key: str) -> PaperRecord:
    kids = _children(meta)
    arxiv_id, _ = _resolve_id(_text(kids, "id"), identifier)
    fields = _common(kids)
    versions: list[tuple[int, date | None]] = []
    try:
        for n, element in enumerate(kids.get("version", ()), start=1):
            label = (element.get("version") or "").strip().lower().lstrip("v")
            number = int(label) if label.isdigit() else n
            date_el = next((c for c in element if _local(c.tag) == "date"), None)
            versions.append((number, _rfc_date(date_el.text if date_el is not None else None)))
    except ValueError as exc:
        raise InvalidId(str(exc)) from exc
    versions.sort(key=lambda v: v[0])
    authors = [
        AuthorRecord(name=name, affiliations=affs)
        for name, affs in split_author_string(_text(kids, "authors"))
    ]
    return PaperRecord(
        source=SOURCE,
        source_key=key,
        arxiv_id=arxiv_id,
        arxiv_version=versions[-1][0] if versions else None,
        published=versions[0][1] if versions else None,
        updated=versions[-1][1] if versions else None,
        authors=authors,
        links=_arxiv_links(arxiv_id, fields["doi"]),
        **fields,  # type: ignore[arg-type]
    )


def _dc_person(name: str) -> str:
    """Dublin Core creators are "Last, First"; cards show "First Last"."""
    if name.count(",") == 1:
        last, first = (p.strip() for p in name.split(","))
        if first and last:
            return f"{first} {last}"
    return name


def _parse_oai_dc(meta: etree._Element, identifier: str | None, key: str) -> PaperRecord:
    kids = _children(meta)
    arxiv_raw: str | None = None
    doi: str | None = None
    for element in kids.get("identifier", ()):
        value = collapse(element.text) or ""
        if "arxiv.org/abs/" in value and arxiv_raw is None:
            arxiv_raw = value
        elif value.lower().startswith(("doi:", "https://doi.org/", "http://dx.doi.org/")) and doi is None:
            doi, _ = split_dois(value)
    arxiv_id, version = _resolve_id(arxiv_raw, identifier)
    title = _text(kids, "title")
    if title is None:
        raise InvalidId("record has no title")
    abstract: str | None = None
    comments: str | None = None
    for element in kids.get("description", ()):
        text = collapse(element.text)
        if not text:
            continue
        if text.startswith("Comment:"):
            comments = comments or collapse(text.removeprefix("Comment:"))
        elif abstract is None:
            abstract = text
    try:
        dates = [d for d in (iso_date(e.text) for e in kids.get("date", ())) if d]
    except ValueError as exc:
        raise InvalidId(f"impossible date: {exc}") from exc
    return PaperRecord(
        source=SOURCE,
        source_key=key,
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=doi,
        published=dates[0] if dates else None,
        updated=dates[-1] if dates else None,
        comments=comments,
        links=_arxiv_links(arxiv_id, doi),
        authors=[
            AuthorRecord(name=_dc_person(n)) for n in (collapse(e.text) for e in kids.get("creator", ())) if n
        ],
        keywords=[s for s in (collapse(e.text) for e in kids.get("subject", ())) if s],
        code_urls=code_urls(abstract, comments),
    )


_FORMATS = {"arXiv": _parse_arxiv, "arXivRaw": _parse_arxiv_raw, "dc": _parse_oai_dc}


def parse_record(record: etree._Element, position: str) -> PaperRecord | Malformed | None:
    """One <record>: a PaperRecord, a Malformed, or None for a deleted record."""
    header = next((c for c in record if _local(c.tag) == "header"), None)
    if header is not None and header.get("status") == "deleted":
        return None
    identifier = None
    if header is not None:
        id_el = next((c for c in header if _local(c.tag) == "identifier"), None)
        identifier = collapse(id_el.text) if id_el is not None else None
    key = identifier or position
    where = f"{position} ({identifier})" if identifier else position
    try:
        metadata = next((c for c in record if _local(c.tag) == "metadata"), None)
        meta = (
            next((c for c in metadata if _local(c.tag) is not None), None) if metadata is not None else None
        )
        if meta is None:
            raise InvalidId("record has no metadata")
        parser = _FORMATS.get(_local(meta.tag) or "")
        if parser is None:
            raise InvalidId(f"unknown metadata format <{_local(meta.tag)}>")
        return parser(meta, identifier, key)
    except InvalidId as exc:
        return Malformed(SOURCE, where, str(exc), etree.tostring(record, encoding="unicode"))


def parse_oai(source: bytes | str | Path, label: str = "") -> OaiPage:
    """Parse one OAI-PMH response (bytes, or a path to a saved one), streaming record by record.

    XML that breaks part-way keeps the records read before the break and adds one Malformed for
    the rest; an error reply fills error_code/error_message.
    """
    page = OaiPage()
    stream = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    count = 0
    try:
        for _event, element in etree.iterparse(stream, events=("end",), tag=_SCAN_TAGS, **_PARSE_OPTIONS):
            name = _local(element.tag)
            if name == "record":
                position = f"{label}#record{count}" if label else f"record{count}"
                count += 1
                parsed = parse_record(element, position)
                if parsed is None:
                    page.deleted += 1
                else:
                    page.records.append(set_origin(parsed, label or "response", f"#record{count - 1}"))
                element.clear()
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
            elif name == "error":
                page.error_code = element.get("code") or "unknown"
                page.error_message = collapse(element.text) or ""
            elif name == "resumptionToken":
                page.resumption_token = (element.text or "").strip()
                size = (element.get("completeListSize") or "").strip()
                cursor = (element.get("cursor") or "").strip()
                page.complete_list_size = int(size) if size.isdigit() else None
                page.cursor = int(cursor) if cursor.isdigit() else None
    except etree.XMLSyntaxError:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        return _parse_damaged(data, label)
    return page


def _parse_damaged(data: bytes, label: str) -> OaiPage:
    """A response that is not well-formed XML: every record that parses on its own is kept, the
    others are quarantined with their byte offset; the resumption token is read by lxml's
    recovering parser. Raises XMLSyntaxError when nothing of an OAI-PMH reply is left."""
    root, pieces = parse_xml_elements(data, "record", _PARSE_OPTIONS)
    page = OaiPage()
    if root is not None:
        for element in root.iter("{*}error", "{*}resumptionToken"):
            if _local(element.tag) == "error":
                page.error_code = element.get("code") or "unknown"
                page.error_message = collapse(element.text) or ""
            else:
                page.resumption_token = (element.text or "").strip()
                size = (element.get("completeListSize") or "").strip()
                cursor = (element.get("cursor") or "").strip()
                page.complete_list_size = int(size) if size.isdigit() else None
                page.cursor = int(cursor) if cursor.isdigit() else None
    if not pieces and page.error_code is None and page.resumption_token is None:
        raise etree.XMLSyntaxError("no OAI-PMH record, error or resumption token could be read", 0, 0, 0)
    for count, piece in enumerate(pieces):
        position = f"{label}#record{count}" if label else f"record{count}"
        if piece.element is None:
            page.records.append(Malformed(SOURCE, f"{position} (byte {piece.offset})", piece.error or "", piece.raw))
            continue
        parsed = parse_record(piece.element, position)
        if parsed is None:
            page.deleted += 1
        else:
            page.records.append(set_origin(parsed, label or "response", f"#record{count}"))
    return page


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix == ".xml")
        else:
            yield path


def read_files(paths: Iterable[str | Path]) -> Iterator[Batch]:
    """One Batch per saved OAI-PMH response; the cursor is the file's resumption token."""
    for path in _expand(paths):
        try:
            page = parse_oai(path, label=path.name)
        except (OSError, etree.XMLSyntaxError) as exc:
            yield Batch([Malformed(SOURCE, str(path), f"unreadable OAI-PMH file: {exc}")], None, path.name)
            continue
        if page.error_code and page.error_code != NO_RECORDS:
            reason = f"OAI-PMH error {page.error_code}: {page.error_message}"
            yield Batch([Malformed(SOURCE, str(path), reason)], None, path.name)
            continue
        yield Batch([set_input(record, str(path)) for record in page.records], page.next_cursor, path.name)


def _request(client: PoliteClient, base_url: str, params: dict[str, str]) -> OaiPage:
    response = client.get(base_url, params=params, ok_statuses=frozenset({400, 404, 422}))
    url = str(response.request.url)
    try:
        page = parse_oai(response.content)
    except etree.XMLSyntaxError as exc:
        raise SourceError(
            url, f"HTTP {response.status_code}, not an OAI-PMH response: {exc}", status=response.status_code
        ) from exc
    if page.error_code and page.error_code != NO_RECORDS:
        raise SourceError(
            url, f"OAI-PMH error {page.error_code}: {page.error_message}", status=response.status_code
        )
    if not response.is_success and page.error_code is None:
        raise SourceError(
            url, f"HTTP {response.status_code} without an OAI-PMH error", status=response.status_code
        )
    return page


def fetch_arxiv_oai(
    client: PoliteClient,
    *,
    metadata_prefix: str = "arXiv",
    set_spec: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    cursor: str | None = None,
    base_url: str = OAI_URL,
) -> Iterator[Batch]:
    """Harvest ListRecords page by page; each Batch's cursor is the resumption token after it.

    With a cursor, the harvest resumes from that token (the other arguments are then ignored,
    as the protocol requires). 503 replies with Retry-After are waited out by the client.
    """
    if metadata_prefix not in METADATA_PREFIXES:
        raise ValueError(f"metadata_prefix must be one of {METADATA_PREFIXES}, got {metadata_prefix!r}")
    if cursor:
        params = {"verb": "ListRecords", "resumptionToken": cursor}
    else:
        params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
        if set_spec:
            params["set"] = set_spec
        if date_from is not None:
            params["from"] = str(date_from)
        if date_to is not None:
            params["until"] = str(date_to)
    while True:
        page = _request(client, base_url, params)
        if page.error_code == NO_RECORDS:
            return
        token = page.next_cursor
        done_before = page.cursor or 0
        label = f"records from {done_before}" + (
            f" of {page.complete_list_size}" if page.complete_list_size is not None else ""
        )
        yield Batch(list(page.records), token, label)
        if not token:
            return
        params = {"verb": "ListRecords", "resumptionToken": token}


def fetch_arxiv_oai_record(
    client: PoliteClient, arxiv_id: str, *, metadata_prefix: str = "arXiv", base_url: str = OAI_URL
) -> PaperRecord | Malformed | None:
    """GetRecord for one paper; None when the record is deleted. Raises SourceError for errors."""
    bare, _ = parse_arxiv_id(arxiv_id)
    params = {"verb": "GetRecord", "identifier": f"{_ID_PREFIX}{bare}", "metadataPrefix": metadata_prefix}
    page = _request(client, base_url, params)
    return page.records[0] if page.records else None
