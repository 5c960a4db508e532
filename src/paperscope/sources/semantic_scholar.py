"""Semantic Scholar Graph API (https://api.semanticscholar.org/graph/v1) as normalised records.

Papers become PaperRecords (source "s2", keyed by paperId); citation pages become the citing papers
with a reference to the cited one; authors become AuthorProfileRecords with the metrics S2
*reports* (hIndex, citationCount, paperCount), plus their embedded papers when the response has
them. The shape of a saved response is told from its content alone. The live path covers offset
paging (search, citations, author papers), token paging (bulk search) and batch POSTs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from paperscope.core.ids import InvalidId, normalise_doi, parse_arxiv_id
from paperscope.core.records import (
    AuthorProfileRecord,
    AuthorRecord,
    Batch,
    Malformed,
    PaperRecord,
    Record,
    set_input,
    set_origin,
)
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.recovery import Damaged, load_json_salvaging

SOURCE = "s2"
BASE_URL = "https://api.semanticscholar.org/graph/v1"
PAPER_FIELDS = (
    "paperId,externalIds,title,abstract,venue,publicationVenue,year,publicationDate,citationCount,"
    "fieldsOfStudy,authors,openAccessPdf,url,journal"
)
# What enrichment asks of /paper/batch: the usual fields and the works each paper cites.
ENRICH_FIELDS = PAPER_FIELDS + ",references.paperId"
AUTHOR_FIELDS = "authorId,name,externalIds,affiliations,paperCount,citationCount,hIndex,url,homepage"
PAPER_BATCH_SIZE = 500  # the API's limit for /paper/batch
AUTHOR_BATCH_SIZE = 1000  # the API's limit for /author/batch
ERROR_STATUSES = frozenset({400, 401, 403, 404})
RAW_LIMIT = 20_000
_HEX = frozenset("0123456789abcdef")
# externalIds key -> other_ids key; ArXiv and DOI have their own columns.
_OTHER_IDS = {
    "CorpusId": "corpusid",
    "DBLP": "dblp",
    "PubMed": "pmid",
    "PubMedCentral": "pmcid",
    "ACL": "acl",
    "MAG": "mag",
}


class BadRecord(ValueError):
    """A record that cannot become a normalised record; the message is the quarantine reason."""


def make_s2_client(user_agent: str, *, api_key: str | None = None, **kwargs: Any) -> PoliteClient:
    """A PoliteClient for S2, sending the `x-api-key` header when a key is given."""
    headers = dict(kwargs.pop("headers", None) or {})
    if api_key:
        headers["x-api-key"] = api_key
    return PoliteClient(user_agent, headers=headers, **kwargs)


# --------------------------------------------------------------------------- ids


def is_paper_id(value: object) -> bool:
    """A 40-hex S2 paperId."""
    return isinstance(value, str) and len(value) == 40 and set(value) <= _HEX


def reference_for(paper_id: str) -> tuple[str, str] | None:
    """The (scheme, value) reference for an id the API accepts: paperId, CorpusId:, DOI:, ARXIV:...

    None for ids that name no work by themselves (URL:...).
    """
    text = paper_id.strip()
    if is_paper_id(text.lower()):
        return ("s2", text.lower())
    prefix, sep, rest = text.partition(":")
    scheme = prefix.lower() if sep else ""
    try:
        if scheme == "corpusid":
            return ("corpusid", rest)
        if scheme == "doi":
            return ("doi", normalise_doi(rest))
        if not sep and text.startswith("10."):
            return ("doi", normalise_doi(text))
        if scheme == "arxiv":
            return ("arxiv", parse_arxiv_id(rest)[0])
    except InvalidId:
        return None
    if scheme in ("pmid", "acl", "mag"):
        return (scheme, rest)
    return None


# --------------------------------------------------------------------------- parsing


def _raw(obj: object) -> str:
    try:
        text = orjson.dumps(obj).decode()
    except TypeError:
        text = repr(obj)
    return text[:RAW_LIMIT]


def _author(entry: dict[str, Any]) -> AuthorRecord | None:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    affiliations = [a for a in entry.get("affiliations") or () if isinstance(a, str) and a]
    external = entry.get("externalIds") or {}
    orcid = external.get("ORCID") if isinstance(external.get("ORCID"), str) else None
    return AuthorRecord(
        name=name.strip(), affiliations=affiliations, orcid=orcid, s2_id=entry.get("authorId")
    )


def parse_paper(
    paper: dict[str, Any],
    *,
    references: list[tuple[str, str]] | None = None,
    extra_author: AuthorRecord | None = None,
) -> PaperRecord:
    """One S2 paper object. Raises BadRecord (no paperId, no title, bad id or date).

    `references` are the works it cites when the response tells (a citation page's cited paper);
    `extra_author` is added when the paper was listed under that author but does not name them.
    """
    if not isinstance(paper, dict):
        raise BadRecord(f"a paper must be a JSON object, not {type(paper).__name__}")
    key = paper.get("paperId")
    if not is_paper_id(key):
        raise BadRecord(f"bad or missing paperId {key!r}")
    # A response that did not ask for the title has no "title" key: a partial record (enrichment
    # by paperId), not a broken one. A title that is there but empty is broken.
    title = paper.get("title")
    if "title" in paper and (not isinstance(title, str) or not title.strip()):
        raise BadRecord(f"paper {key} has no title")

    external = paper.get("externalIds") or {}
    arxiv_id = arxiv_version = doi = None
    try:
        if external.get("ArXiv"):
            arxiv_id, arxiv_version = parse_arxiv_id(str(external["ArXiv"]))
        if external.get("DOI"):
            doi = normalise_doi(str(external["DOI"]))
    except InvalidId as exc:
        raise BadRecord(f"paper {key}: {exc}") from exc
    other_ids = {ours: str(external[theirs]) for theirs, ours in _OTHER_IDS.items() if external.get(theirs)}
    if "corpusid" not in other_ids and paper.get("corpusId"):
        other_ids["corpusid"] = str(paper["corpusId"])

    published = None
    if paper.get("publicationDate"):
        try:
            published = date.fromisoformat(paper["publicationDate"])
        except (TypeError, ValueError) as exc:
            raise BadRecord(f"paper {key}: impossible publicationDate {paper['publicationDate']!r}") from exc
    year = paper.get("year")

    links: dict[str, str] = {}
    pdf = paper.get("openAccessPdf") or {}
    if isinstance(pdf, dict) and pdf.get("url"):
        links["pdf"] = pdf["url"]
    if paper.get("url"):
        links["s2"] = paper["url"]
    if doi:
        links["doi"] = f"https://doi.org/{doi}"

    authors = []
    for entry in paper.get("authors") or ():
        author = _author(entry) if isinstance(entry, dict) else None
        if author:
            authors.append(author)
    if extra_author and not any(a.s2_id == extra_author.s2_id for a in authors):
        authors.append(extra_author)

    venue = paper.get("venue") or (paper.get("publicationVenue") or {}).get("name") or None
    return PaperRecord(
        source=SOURCE,
        source_key=key,
        title=" ".join(title.split()) if title else None,
        abstract=paper.get("abstract") or None,
        arxiv_id=arxiv_id,
        arxiv_version=arxiv_version,
        doi=doi,
        s2_id=key,
        other_ids=other_ids,
        published=published,
        year=year if isinstance(year, int) else None,
        license=(pdf.get("license") or None) if isinstance(pdf, dict) else None,
        venue=venue,
        links=links,
        authors=authors,
        cited_by_count=paper.get("citationCount"),
        references=list(references or ()),
        keywords=[f for f in paper.get("fieldsOfStudy") or () if isinstance(f, str)],
    )


def parse_author(author: dict[str, Any], *, as_of: date | None = None) -> AuthorProfileRecord:
    """One S2 author object with its reported metrics. Raises BadRecord when it has no id or name."""
    if not isinstance(author, dict):
        raise BadRecord(f"an author must be a JSON object, not {type(author).__name__}")
    key = author.get("authorId")
    if not isinstance(key, str) or not key:
        raise BadRecord(f"bad or missing authorId {key!r}")
    profile = _author(author)
    if profile is None:
        raise BadRecord(f"author {key} has no name")
    return AuthorProfileRecord(
        source=SOURCE,
        source_key=key,
        name=profile.name,
        orcid=profile.orcid,
        s2_id=key,
        h_index=author.get("hIndex"),
        paper_count=author.get("paperCount"),
        citation_count=author.get("citationCount"),
        affiliations=profile.affiliations,
        as_of=as_of,
    )


class _Collector:
    """Turns S2 objects into records, quarantining the broken ones with their position."""

    def __init__(self, label: str, as_of: date | None):
        self.label = label
        self.as_of = as_of
        self.records: list[Record] = []

    def _bad(self, position: str, exc: Exception, obj: object) -> None:
        reason = str(exc) if isinstance(exc, BadRecord) else f"unexpected shape: {exc!r}"
        self.records.append(Malformed(SOURCE, f"{self.label}:{position}", reason, _raw(obj)))

    def paper(self, obj: object, position: str, *, top: bool = False, **kwargs: Any) -> PaperRecord | None:
        """`top`: a record of the response itself, not a stub nested in another (see Origin)."""
        try:
            record = parse_paper(obj, **kwargs)  # type: ignore[arg-type]
        except (BadRecord, AttributeError, TypeError, KeyError) as exc:
            self._bad(position, exc, obj)
            return None
        if top:
            set_origin(record, self.label, position)
        self.records.append(record)
        return record

    def author(self, obj: dict[str, Any], position: str, *, top: bool = False) -> None:
        try:
            profile = parse_author(obj, as_of=self.as_of)
        except (BadRecord, AttributeError, TypeError, KeyError) as exc:
            self._bad(position, exc, obj)
            return
        if top:
            set_origin(profile, self.label, position)
        self.records.append(profile)
        extra = AuthorRecord(name=profile.name, s2_id=profile.s2_id)
        for i, paper in enumerate(obj.get("papers") or ()):
            self.paper(paper, f"{position}.papers[{i}]", extra_author=extra)

    def full_paper(self, obj: dict[str, Any], position: str) -> None:
        """A paper with embedded citations/references/authors (GET /paper/{id} with those fields)."""
        cited = [r for r in obj.get("references") or () if isinstance(r, dict)]
        refs = [("s2", r["paperId"]) for r in cited if is_paper_id(r.get("paperId"))]
        record = self.paper(obj, position, top=True, references=refs)
        for i, entry in enumerate(obj.get("authors") or ()):
            # Authors embedded with their metrics are profiles too (the reported values, as of now).
            if isinstance(entry, dict) and any(k in entry for k in ("hIndex", "paperCount", "citationCount")):
                self.author(entry, f"{position}.authors[{i}]")
        key = record.source_key if record else obj.get("paperId")
        back = [("s2", key)] if is_paper_id(key) else []
        for i, citing in enumerate(obj.get("citations") or ()):
            self.paper(citing, f"{position}.citations[{i}]", references=back)
        for i, ref in enumerate(cited):
            self.paper(ref, f"{position}.references[{i}]")

    def item(self, obj: object, position: str, cited: tuple[str, str] | None) -> None:
        """One element of a `data` list or a batch array, of whichever kind it is."""
        if obj is None:
            return  # a batch entry for an id S2 does not know
        if isinstance(obj, Damaged):
            self.records.append(Malformed(SOURCE, f"{self.label}:{position} (byte {obj.offset})", obj.reason, obj.raw))
        elif not isinstance(obj, dict):
            self._bad(position, BadRecord(f"expected an object, got {type(obj).__name__}"), obj)
        elif "citingPaper" in obj:
            self.paper(obj["citingPaper"], f"{position}.citingPaper", top=True, references=[cited] if cited else None)
        elif "citedPaper" in obj:
            self.paper(obj["citedPaper"], f"{position}.citedPaper", top=True)
        elif "paperId" in obj:
            self.full_paper(obj, position)
        elif "authorId" in obj:
            self.author(obj, position, top=True)
        elif "snippet" in obj:
            return  # snippet search hits carry no paperId: text passages, not records
        else:
            self._bad(position, BadRecord("neither a paper, a citation nor an author"), obj)


def _load_or_salvage(data: bytes | str, label: str) -> Any:
    """The decoded response; a damaged page or batch keeps every entry that parses on its own."""
    try:
        return load_json_salvaging(data, label, ("data", "recommendedPapers", None))
    except ValueError as exc:
        raise BadRecord(str(exc)) from exc


def parse_response(
    data: bytes | str | dict[str, Any] | list[Any],
    label: str,
    *,
    cited_id: str | None = None,
    as_of: date | None = None,
) -> list[Record]:
    """Any Graph API response body, its shape told from its content. Raises BadRecord if unknown.

    `cited_id` is the paper whose citations page this is (the id is only in the request URL);
    `as_of` dates the reported author metrics.
    """
    if isinstance(data, bytes | str):
        data = _load_or_salvage(data, label)
    cited = reference_for(cited_id) if cited_id else None
    out = _Collector(label, as_of)
    if isinstance(data, list):  # POST /paper/batch or /author/batch
        if not any(isinstance(obj, dict) and ("paperId" in obj or "authorId" in obj) for obj in data) and any(
            obj is not None and not isinstance(obj, Damaged) for obj in data
        ):
            raise BadRecord("an array of neither papers nor authors")
        for i, obj in enumerate(data):
            out.item(obj, f"[{i}]", cited)
    elif not isinstance(data, dict):
        raise BadRecord(f"expected a JSON object or array, got {type(data).__name__}")
    elif "data" in data or "recommendedPapers" in data:
        key = "data" if "data" in data else "recommendedPapers"
        for i, obj in enumerate(data[key] or ()):
            out.item(obj, f"{key}[{i}]", cited)
    elif "paperId" in data or "authorId" in data or "citingPaper" in data or "citedPaper" in data:
        out.item(data, "$", cited)
    elif "error" in data or "message" in data:
        raise BadRecord(f"an error response: {data.get('error') or data.get('message')}")
    elif "total" in data or "offset" in data:
        pass  # an empty result page
    else:
        raise BadRecord("not a Semantic Scholar Graph API response")
    return out.records


# --------------------------------------------------------------------------- saved files


def read_files(paths: Iterable[str | Path]) -> Iterator[Batch]:
    """Saved Graph API responses (JSON files; directories are walked), one Batch per file.

    A file that cannot be read as a Graph API response becomes one Malformed and reading goes on.
    """
    for path in _expand(paths):
        try:
            raw = path.read_bytes()
            records = [set_input(record, str(path)) for record in parse_response(raw, path.name)]
        except OSError as exc:
            records = [Malformed(SOURCE, str(path), f"cannot read file: {exc}")]
        except BadRecord as exc:
            records = [Malformed(SOURCE, str(path), str(exc), raw[:2000].decode("utf-8", "replace"))]
        yield Batch(records, cursor=None, label=path.name)


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


# --------------------------------------------------------------------------- live


def _today() -> date:
    return datetime.now(UTC).date()


def _request_json(
    client: PoliteClient,
    method: str,
    url: str,
    params: dict[str, object] | None = None,
    body: object = None,
) -> Any:
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    response = client.request(method, url, params=clean, json=body, ok_statuses=ERROR_STATUSES)
    where = str(response.request.url)
    if response.status_code >= 400:
        message = response.text[:300].strip()
        try:
            reply = orjson.loads(response.content)
            if isinstance(reply, dict):
                message = str(reply.get("error") or reply.get("message") or message)
        except orjson.JSONDecodeError:
            pass
        raise SourceError(where, f"HTTP {response.status_code}: {message}", status=response.status_code)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise SourceError(where, f"response is not JSON: {exc}", status=response.status_code) from exc


def _parse_live(data: Any, url: str, label: str, **kwargs: Any) -> list[Record]:
    try:
        return parse_response(data, label, **kwargs)
    except BadRecord as exc:
        raise SourceError(url, f"{label}: {exc}") from exc


def _offset_pages(
    client: PoliteClient,
    base_url: str,
    endpoint: str,
    params: dict[str, object],
    limit: int,
    cursor: str | None,
    **parse_kwargs: Any,
) -> Iterator[Batch]:
    """Offset paging: each page says `next` (the offset of the next page) until the last."""
    url = f"{base_url.rstrip('/')}/{endpoint}"
    offset = int(cursor) if cursor else 0
    while True:
        data = _request_json(client, "GET", url, {**params, "offset": offset, "limit": limit})
        if not isinstance(data, dict):
            raise SourceError(url, f"expected a page object at offset {offset}")
        label = f"{endpoint} offset {offset}"
        records = _parse_live(data, url, label, **parse_kwargs)
        following = data.get("next")
        done = following is None or not data.get("data")
        yield Batch(records, cursor=None if done else str(following), label=label)
        if done:
            return
        offset = int(following)


def fetch_s2_papers_search(
    client: PoliteClient,
    query: str,
    *,
    fields: str = PAPER_FIELDS,
    limit: int = 100,
    filters: dict[str, object] | None = None,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Relevance search (/paper/search), offset paging; `filters` like {"year": "2020-2023"}."""
    params = {"query": query, "fields": fields, **(filters or {})}
    yield from _offset_pages(client, base_url, "paper/search", params, limit, cursor, as_of=_today())


def fetch_s2_bulk_search(
    client: PoliteClient,
    query: str,
    *,
    fields: str = PAPER_FIELDS,
    sort: str | None = None,
    filters: dict[str, object] | None = None,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Bulk search (/paper/search/bulk), token paging: each Batch's cursor is the next token."""
    url = f"{base_url.rstrip('/')}/paper/search/bulk"
    token = cursor
    page = 0
    while True:
        page += 1
        params = {"query": query, "fields": fields, "sort": sort, "token": token, **(filters or {})}
        data = _request_json(client, "GET", url, params)
        if not isinstance(data, dict):
            raise SourceError(url, f"expected a page object for token {token!r}")
        label = f"paper/search/bulk page {page}"
        records = _parse_live(data, url, label)
        token = data.get("token") or None
        yield Batch(records, cursor=token, label=label)
        if token is None:
            return


def fetch_s2_citations(
    client: PoliteClient,
    paper_id: str,
    *,
    fields: str = PAPER_FIELDS,
    limit: int = 1000,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """The papers citing `paper_id`, each with a reference to it; offset paging."""
    yield from _offset_pages(
        client, base_url, f"paper/{paper_id}/citations", {"fields": fields}, limit, cursor, cited_id=paper_id
    )


def fetch_s2_author_papers(
    client: PoliteClient,
    author_id: str,
    *,
    fields: str = PAPER_FIELDS,
    limit: int = 1000,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """An author's papers (/author/{id}/papers), offset paging."""
    yield from _offset_pages(
        client, base_url, f"author/{author_id}/papers", {"fields": fields}, limit, cursor
    )


def fetch_s2_paper_authors(
    client: PoliteClient,
    paper_id: str,
    *,
    fields: str = AUTHOR_FIELDS,
    limit: int = 1000,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """A paper's authors (/paper/{id}/authors) as profiles with their reported metrics."""
    yield from _offset_pages(
        client, base_url, f"paper/{paper_id}/authors", {"fields": fields}, limit, cursor, as_of=_today()
    )


def fetch_s2_paper(
    client: PoliteClient, paper_id: str, *, fields: str = PAPER_FIELDS, base_url: str = BASE_URL
) -> Iterator[Batch]:
    """One paper by any id S2 accepts (paperId, DOI:, ARXIV:, CorpusId:, ...)."""
    url = f"{base_url.rstrip('/')}/paper/{paper_id}"
    data = _request_json(client, "GET", url, {"fields": fields})
    yield Batch(_parse_live(data, url, f"paper/{paper_id}", as_of=_today()), label=f"paper/{paper_id}")


def fetch_s2_author(
    client: PoliteClient, author_id: str, *, fields: str = AUTHOR_FIELDS, base_url: str = BASE_URL
) -> Iterator[Batch]:
    """One author's profile; with `papers.*` in fields, their papers too."""
    url = f"{base_url.rstrip('/')}/author/{author_id}"
    data = _request_json(client, "GET", url, {"fields": fields})
    label = f"author/{author_id}"
    yield Batch(_parse_live(data, url, label, as_of=_today()), label=label)


def _batch_post(
    client: PoliteClient,
    url: str,
    ids: Sequence[str],
    fields: str,
    size: int,
    cursor: str | None,
) -> Iterator[Batch]:
    """POST ids in chunks; the cursor is how many ids are done, None after the last chunk."""
    start = int(cursor) if cursor else 0
    while start < len(ids):
        chunk = list(ids[start : start + size])
        data = _request_json(client, "POST", url, {"fields": fields}, {"ids": chunk})
        if not isinstance(data, list):
            raise SourceError(url, f"expected an array for ids {start}..{start + len(chunk) - 1}")
        end = start + len(chunk)
        label = f"{url.rsplit('/', 2)[-2]}/batch ids {start}-{end - 1}"
        yield Batch(
            _parse_live(data, url, label, as_of=_today()),
            cursor=str(end) if end < len(ids) else None,
            label=label,
        )
        start = end


def fetch_s2_papers_batch(
    client: PoliteClient,
    ids: Sequence[str],
    *,
    fields: str = PAPER_FIELDS,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Papers by id via POST /paper/batch, 500 at a time; unknown ids (null) are skipped."""
    url = f"{base_url.rstrip('/')}/paper/batch"
    yield from _batch_post(client, url, ids, fields, PAPER_BATCH_SIZE, cursor)


def fetch_s2_authors_batch(
    client: PoliteClient,
    ids: Sequence[str],
    *,
    fields: str = AUTHOR_FIELDS,
    cursor: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Author profiles by id via POST /author/batch, 1000 at a time; unknown ids are skipped."""
    url = f"{base_url.rstrip('/')}/author/batch"
    yield from _batch_post(client, url, ids, fields, AUTHOR_BATCH_SIZE, cursor)


def match_s2_title(
    client: PoliteClient, title: str, *, fields: str = PAPER_FIELDS, base_url: str = BASE_URL
) -> list[Record]:
    """The paper S2 matches to `title` (/paper/search/match): at most one, none when S2 finds none.

    S2 answers 404 "Title match not found" when nothing matches: that is an empty answer here.
    """
    url = f"{base_url.rstrip('/')}/paper/search/match"
    try:
        data = _request_json(client, "GET", url, {"query": title, "fields": fields})
    except SourceError as exc:
        if exc.status == 404:
            return []
        raise
    return _parse_live(data, url, f"paper/search/match {title[:60]!r}", as_of=_today())
