"""OpenAlex works and authors (https://api.openalex.org) as normalised records.

Works become PaperRecords (abstract rebuilt from the inverted index, citations per year, the works
they reference), authors become AuthorProfileRecords with the metrics OpenAlex *reports*. Saved
responses are read from files (single entities, list pages, or JSON-lines snapshot parts); the live
path follows OpenAlex's cursor paging, each Batch carrying the `next_cursor` that resumes after it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from datetime import date
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
from paperscope.sources.recovery import (
    DEFAULT_MAX_LINE_BYTES,
    Damaged,
    OversizedLine,
    bounded_lines,
    load_json_salvaging,
)

SOURCE = "openalex"
BASE_URL = "https://api.openalex.org"
ENTITY_PREFIX = "https://openalex.org/"
ORCID_PREFIX = "https://orcid.org/"
LINES_PER_BATCH = 1000
RAW_LIMIT = 20_000  # characters of an offending record kept in a Malformed
ERROR_STATUSES = frozenset({400, 401, 403, 404})
# DataCite registers every arXiv paper under this prefix: 10.48550/arxiv.2304.04761.
ARXIV_DOI_PREFIX = "10.48550/arxiv."


class BadRecord(ValueError):
    """A record that cannot become a normalised record; the message is the quarantine reason."""


# --------------------------------------------------------------------------- small helpers


def short_id(value: object) -> str | None:
    """'https://openalex.org/W123' -> 'W123'; None for anything empty."""
    if not isinstance(value, str) or not value:
        return None
    return value.removeprefix(ENTITY_PREFIX)


def _entity_kind(key: str | None) -> str | None:
    """'work' for W123, 'author' for A123, another kind's letter or path otherwise."""
    if not key:
        return None
    if key[1:].isdigit():
        if key[0] == "W":
            return "work"
        if key[0] == "A":
            return "author"
    return "other"


def _bare_orcid(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.removeprefix(ORCID_PREFIX).removeprefix("http://orcid.org/")


def _last_segment(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1]


def _parse_date(value: object, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise BadRecord(f"impossible {what} {value!r}") from exc


def _counts_by_year(entries: object) -> dict[int, int]:
    counts: dict[int, int] = {}
    for entry in entries or ():
        year, count = entry.get("year"), entry.get("cited_by_count")
        if isinstance(year, int) and isinstance(count, int):
            counts[year] = count
    return counts


def _raw(obj: object) -> str:
    try:
        text = orjson.dumps(obj).decode()
    except TypeError:
        text = repr(obj)
    return text[:RAW_LIMIT]


def rebuild_abstract(index: dict[str, list[int]] | None) -> str | None:
    """Turn OpenAlex's abstract_inverted_index (word -> positions) back into text."""
    if not index:
        return None
    placed: dict[int, str] = {}
    for word, positions in index.items():
        for position in positions:
            placed[position] = word
    if not placed:
        return None
    return " ".join(placed[position] for position in sorted(placed))


# --------------------------------------------------------------------------- parsing


def _arxiv_from_url(url: object) -> tuple[str, int | None] | None:
    if not isinstance(url, str) or "arxiv.org/" not in url.lower():
        return None
    try:
        return parse_arxiv_id(url.replace("http://", "https://", 1))
    except InvalidId:
        return None  # an arXiv page that is not an abstract or PDF (a listing, a search)


def _find_arxiv(work: dict[str, Any], doi: str | None) -> tuple[str | None, int | None]:
    """The arXiv id a work carries: in its ids, its DataCite arXiv DOI, or a location's URL."""
    ids = work.get("ids") or {}
    if ids.get("arxiv"):
        found = _arxiv_from_url(ids["arxiv"])
        if found is None:
            try:
                found = parse_arxiv_id(str(ids["arxiv"]))
            except InvalidId as exc:
                raise BadRecord(f"bad arXiv id {ids['arxiv']!r}") from exc
        return found
    if doi and doi.startswith(ARXIV_DOI_PREFIX):
        try:
            return parse_arxiv_id(doi[len(ARXIV_DOI_PREFIX) :])
        except InvalidId:
            pass
    locations = [work.get("primary_location"), *(work.get("locations") or ())]
    for location in locations:
        if not location:
            continue
        for key in ("landing_page_url", "pdf_url"):
            found = _arxiv_from_url(location.get(key))
            if found:
                return found
    return None, None


def _authorship(entry: dict[str, Any]) -> AuthorRecord | None:
    author = entry.get("author") or {}
    name = author.get("display_name") or entry.get("raw_author_name")
    if not name:
        return None
    affiliations: list[str] = []
    for institution in entry.get("institutions") or ():
        label = institution.get("display_name") if institution else None
        if label and label not in affiliations:
            affiliations.append(label)
    if not affiliations:
        for label in entry.get("raw_affiliation_strings") or ():
            if label and label not in affiliations:
                affiliations.append(label)
    return AuthorRecord(
        name=name,
        affiliations=affiliations,
        orcid=_bare_orcid(author.get("orcid")),
        openalex_id=short_id(author.get("id")),
    )


def parse_work(work: dict[str, Any]) -> PaperRecord:
    """One OpenAlex work as a PaperRecord. Raises BadRecord for one that cannot be kept."""
    if not isinstance(work, dict):
        raise BadRecord(f"a work must be a JSON object, not {type(work).__name__}")
    key = short_id(work.get("id"))
    if _entity_kind(key) != "work":
        raise BadRecord(f"bad or missing work id {work.get('id')!r}")
    # A response `select`ed without the title has neither key: a partial record, not a broken one.
    title = work.get("display_name") or work.get("title")
    partial = "display_name" not in work and "title" not in work
    if not partial and (not isinstance(title, str) or not title.strip()):
        raise BadRecord(f"work {key} has no title")

    doi: str | None = None
    if work.get("doi"):
        try:
            doi = normalise_doi(work["doi"])
        except InvalidId as exc:
            raise BadRecord(f"work {key}: {exc}") from exc
    arxiv_id, arxiv_version = _find_arxiv(work, doi)

    other_ids: dict[str, str] = {}
    for scheme, value in (work.get("ids") or {}).items():
        if scheme in ("openalex", "doi", "arxiv") or not value:
            continue
        other_ids[scheme] = _last_segment(value) or str(value)

    primary = work.get("primary_location") or {}
    best = work.get("best_oa_location") or {}
    source = primary.get("source") or {}
    links: dict[str, str] = {}
    if primary.get("landing_page_url"):
        links["landing"] = primary["landing_page_url"]
    pdf = primary.get("pdf_url") or best.get("pdf_url")
    if pdf:
        links["pdf"] = pdf
    if doi:
        links["doi"] = f"https://doi.org/{doi}"

    authors = []
    for entry in work.get("authorships") or ():
        author = _authorship(entry) if entry else None
        if author:
            authors.append(author)

    keywords = [kw["display_name"] for kw in work.get("keywords") or () if kw and kw.get("display_name")]
    references = [("openalex", ref) for ref in map(short_id, work.get("referenced_works") or ()) if ref]
    year = work.get("publication_year")
    return PaperRecord(
        source=SOURCE,
        source_key=key,
        title=" ".join(title.split()) if title else None,
        abstract=rebuild_abstract(work.get("abstract_inverted_index")),
        arxiv_id=arxiv_id,
        arxiv_version=arxiv_version,
        doi=doi,
        openalex_id=key,
        other_ids=other_ids,
        published=_parse_date(work.get("publication_date"), "publication_date"),
        year=year if isinstance(year, int) else None,
        license=primary.get("license") or best.get("license"),
        venue=source.get("display_name"),
        links=links,
        authors=authors,
        authors_truncated=bool(work.get("is_authors_truncated")),
        cited_by_count=work.get("cited_by_count"),
        observed_on=_day_of(work.get("updated_date")),
        counts_by_year=_counts_by_year(work.get("counts_by_year")),
        references=references,
        keywords=keywords,
    )


def _day_of(value: Any) -> date | None:
    """The day of an OpenAlex `updated_date` (when the counts it carries were computed)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_author(author: dict[str, Any]) -> AuthorProfileRecord:
    """One OpenAlex author entity with its reported metrics. Raises BadRecord when unusable."""
    if not isinstance(author, dict):
        raise BadRecord(f"an author must be a JSON object, not {type(author).__name__}")
    key = short_id(author.get("id"))
    if _entity_kind(key) != "author":
        raise BadRecord(f"bad or missing author id {author.get('id')!r}")
    name = author.get("display_name")
    if not isinstance(name, str) or not name.strip():
        raise BadRecord(f"author {key} has no name")
    stats = author.get("summary_stats") or {}

    affiliations: list[str] = []
    latest = author.get("last_known_institutions") or []
    if not latest and author.get("last_known_institution"):
        latest = [author["last_known_institution"]]
    for institution in latest:
        label = institution.get("display_name") if institution else None
        if label and label not in affiliations:
            affiliations.append(label)
    if not affiliations:
        # No last known institution: every affiliation, most recent first.
        dated = []
        for entry in author.get("affiliations") or ():
            institution = (entry or {}).get("institution") or {}
            if institution.get("display_name"):
                dated.append((max(entry.get("years") or [0]), institution["display_name"]))
        for _, label in sorted(dated, key=lambda pair: -pair[0]):
            if label not in affiliations:
                affiliations.append(label)

    updated = author.get("updated_date")
    return AuthorProfileRecord(
        source=SOURCE,
        source_key=key,
        name=name.strip(),
        orcid=_bare_orcid(author.get("orcid")),
        openalex_id=key,
        h_index=stats.get("h_index"),
        i10_index=stats.get("i10_index"),
        paper_count=author.get("works_count"),
        citation_count=author.get("cited_by_count"),
        affiliations=affiliations,
        counts_by_year=_counts_by_year(author.get("counts_by_year")),
        as_of=_parse_date(updated, "updated_date") if updated else None,
    )


def parse_entity(obj: object, position: str, kind: str | None = None) -> Record | None:
    """A work or author as a record, a Malformed when broken, None for other entity kinds.

    `kind` is "work" or "author" when the endpoint says what it holds; otherwise the id tells.
    """
    try:
        if kind is None:
            if not isinstance(obj, dict):
                raise BadRecord(f"an entity must be a JSON object, not {type(obj).__name__}")
            key = short_id(obj.get("id"))
            if key is None:
                raise BadRecord("entity has no OpenAlex id")
            kind = _entity_kind(key)
        if kind == "work":
            return parse_work(obj)  # type: ignore[arg-type]
        if kind == "author":
            return parse_author(obj)  # type: ignore[arg-type]
        return None  # institutions, sources, concepts, topics, ...: not records of ours
    except BadRecord as exc:
        return Malformed(SOURCE, position, str(exc), _raw(obj))
    except (AttributeError, TypeError, KeyError) as exc:
        return Malformed(SOURCE, position, f"unexpected shape: {exc!r}", _raw(obj))


def _load_or_salvage(data: bytes | str, label: str) -> Any:
    """The decoded response; a damaged list page keeps every entry that parses on its own."""
    try:
        return load_json_salvaging(data, label, ("results",))
    except ValueError as exc:
        raise BadRecord(str(exc)) from exc


def parse_response(data: bytes | str | dict[str, Any], label: str, kind: str | None = None) -> list[Record]:
    """A list page ({meta, results}) or a single entity. Raises BadRecord if it is neither."""
    if isinstance(data, bytes | str):
        data = _load_or_salvage(data, label)
    if not isinstance(data, dict):
        raise BadRecord(f"expected a JSON object, got {type(data).__name__}")
    if "results" in data:
        records = []
        for i, item in enumerate(data["results"] or ()):
            if isinstance(item, Damaged):
                records.append(Malformed(SOURCE, item.where(label, "results"), item.reason, item.raw))
                continue
            record = parse_entity(item, f"{label}:results[{i}]", kind)
            if record is not None:
                records.append(set_origin(record, label, f"results[{i}]"))
        return records
    if "id" in data:
        record = parse_entity(data, label, kind)
        return [set_origin(record, label, "$")] if record is not None else []
    if "error" in data or "message" in data:
        raise BadRecord(f"an error response: {data.get('error')} {data.get('message') or ''}".strip())
    raise BadRecord("neither an OpenAlex entity nor a list response")


# --------------------------------------------------------------------------- saved files


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and _is_ours(p))
        else:
            yield path


def _is_ours(path: Path) -> bool:
    return path.name.endswith((".json", ".jsonl", ".jsonl.gz", ".json.gz", ".gz"))


def _read_lines(path: Path, max_line_bytes: int) -> Iterator[Batch]:
    """An OpenAlex snapshot part: one entity per line; the cursor is the next line number."""
    opener = gzip.open if path.suffix == ".gz" else open
    records: list[Record] = []
    line_no = 0
    with opener(path, "rb") as handle:
        for line_no, line in enumerate(bounded_lines(handle, max_line_bytes), start=1):
            position = f"{path.name}:{line_no}"
            if isinstance(line, OversizedLine):
                records.append(Malformed(SOURCE, position, line.reason(max_line_bytes)))
                continue
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                records.append(
                    Malformed(
                        SOURCE, position, f"invalid JSON: {exc}", line[:RAW_LIMIT].decode("utf-8", "replace")
                    )
                )
            else:
                record = parse_entity(obj, position)
                if record is not None:
                    records.append(set_origin(record, str(path), line_no))
            if len(records) >= LINES_PER_BATCH:
                yield Batch(records, cursor=str(line_no), label=f"{path.name} to line {line_no}")
                records = []
    yield Batch(records, cursor=None, label=f"{path.name} to line {line_no}")


def read_files(paths: Iterable[str | Path], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[Batch]:
    """Saved OpenAlex responses: single works/authors, list pages, or JSON-lines snapshot parts.

    Directories are walked. Other entity kinds (institutions, concepts, ...) yield nothing; a file
    that cannot be read as OpenAlex JSON becomes one Malformed and reading goes on.
    """
    for path in _expand(paths):
        if path.name.endswith((".jsonl", ".jsonl.gz")) or (
            path.suffix == ".gz" and not path.name.endswith(".json.gz")
        ):
            yield from _read_lines(path, max_line_bytes)
            continue
        try:
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except OSError as exc:
            yield Batch([Malformed(SOURCE, str(path), f"cannot read file: {exc}")], label=path.name)
            continue
        try:
            records = [set_input(record, str(path)) for record in parse_response(raw, path.name)]
        except BadRecord as exc:
            head = raw[:2000].decode("utf-8", "replace")
            records = [Malformed(SOURCE, str(path), str(exc), head)]
        yield Batch(records, cursor=None, label=path.name)


# --------------------------------------------------------------------------- live


def _get_json(client: PoliteClient, url: str, params: dict[str, object]) -> dict[str, Any]:
    response = client.get(
        url, params={k: v for k, v in params.items() if v is not None}, ok_statuses=ERROR_STATUSES
    )
    where = str(response.request.url)
    if response.status_code >= 400:
        message = response.text[:300]
        try:
            body = orjson.loads(response.content)
            if isinstance(body, dict):
                message = " ".join(str(body[k]) for k in ("error", "message") if body.get(k)) or message
        except orjson.JSONDecodeError:
            pass
        raise SourceError(where, f"HTTP {response.status_code}: {message}", status=response.status_code)
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise SourceError(where, f"response is not JSON: {exc}", status=response.status_code) from exc
    if not isinstance(data, dict):
        raise SourceError(where, f"expected a JSON object, got {type(data).__name__}")
    return data


def _fetch_list(
    client: PoliteClient,
    endpoint: str,
    kind: str,
    params: dict[str, object],
    cursor: str | None,
    base_url: str,
) -> Iterator[Batch]:
    url = f"{base_url.rstrip('/')}/{endpoint}"
    page = 0
    current = cursor or "*"
    while True:
        page += 1
        data = _get_json(client, url, {**params, "cursor": current})
        results = data.get("results")
        if not isinstance(results, list):
            raise SourceError(url, f"no results list in the response for cursor {current!r}")
        label = f"{endpoint} page {page}"
        try:
            records = parse_response(data, label, kind)
        except BadRecord as exc:
            raise SourceError(url, f"{label}: {exc}") from exc
        next_cursor = (data.get("meta") or {}).get("next_cursor")
        if not results:
            next_cursor = None
        yield Batch(records, cursor=next_cursor, label=label)
        if not next_cursor:
            return
        current = next_cursor


def fetch_openalex_works(
    client: PoliteClient,
    *,
    filter: str | None = None,
    search: str | None = None,
    per_page: int = 200,
    cursor: str | None = None,
    mailto: str | None = None,
    select: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Works matching a filter/search, following cursor paging from `cursor` (or the start).

    Each Batch's cursor is OpenAlex's next_cursor; None on the last page.
    """
    params: dict[str, object] = {
        "filter": filter,
        "search": search,
        "per-page": per_page,
        "mailto": mailto,
        "select": select,
    }
    yield from _fetch_list(client, "works", "work", params, cursor, base_url)


def fetch_openalex_authors(
    client: PoliteClient,
    *,
    filter: str | None = None,
    search: str | None = None,
    per_page: int = 200,
    cursor: str | None = None,
    mailto: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Authors matching a filter/search as AuthorProfileRecords, with cursor paging like works."""
    params: dict[str, object] = {"filter": filter, "search": search, "per-page": per_page, "mailto": mailto}
    yield from _fetch_list(client, "authors", "author", params, cursor, base_url)


def fetch_openalex_work(
    client: PoliteClient, work_id: str, *, mailto: str | None = None, base_url: str = BASE_URL
) -> Iterator[Batch]:
    """One work by OpenAlex id ('W123' or its URL) or any id OpenAlex resolves ('doi:10.x/y')."""
    key = short_id(work_id) or work_id
    url = f"{base_url.rstrip('/')}/works/{key}"
    data = _get_json(client, url, {"mailto": mailto})
    record = parse_entity(data, f"works/{key}", "work")
    yield Batch([record] if record is not None else [], cursor=None, label=f"works/{key}")


# --------------------------------------------------------------------------- lookups by id and title

# OpenAlex takes up to 100 values OR-ed in one filter; 50 keeps the URL well under its length limit.
LOOKUP_CHUNK = 50


def arxiv_doi(arxiv_id: str) -> str:
    """The DataCite DOI under which OpenAlex (and everyone else) lists an arXiv paper."""
    return f"{ARXIV_DOI_PREFIX}{arxiv_id.lower()}"


def lookup_openalex_works(
    client: PoliteClient,
    *,
    dois: Iterable[str] = (),
    openalex_ids: Iterable[str] = (),
    mailto: str | None = None,
    base_url: str = BASE_URL,
) -> Iterator[Batch]:
    """Works by DOI and by OpenAlex id, 50 to a request (`filter=doi:a|b|…`): one Batch per request.

    An arXiv paper is found by its DataCite DOI (`arxiv_doi`). Ids OpenAlex does not know are
    simply absent from the answers.
    """
    url = f"{base_url.rstrip('/')}/works"
    for scheme, values in (("doi", list(dict.fromkeys(dois))), ("ids.openalex", list(dict.fromkeys(openalex_ids)))):
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = values[start : start + LOOKUP_CHUNK]
            data = _get_json(client, url, {"filter": f"{scheme}:{'|'.join(chunk)}",
                                           "per-page": 200, "mailto": mailto})
            label = f"works by {scheme} {start}-{start + len(chunk) - 1}"
            try:
                records = parse_response(data, label, "work")
            except BadRecord as exc:
                raise SourceError(url, f"{label}: {exc}") from exc
            yield Batch(records, cursor=None, label=label)


def search_openalex_title(
    client: PoliteClient, title: str, *, mailto: str | None = None, per_page: int = 5, base_url: str = BASE_URL
) -> list[Record]:
    """The first few works whose title matches `title` (`filter=title.search:`); one request.

    The caller decides which, if any, is the same paper: a title search always answers something.
    """
    url = f"{base_url.rstrip('/')}/works"
    # Commas and pipes separate filters and values: a title carrying them is searched without them.
    cleaned = " ".join(title.replace(",", " ").replace("|", " ").replace(":", " ").split())
    data = _get_json(client, url, {"filter": f"title.search:{cleaned}", "per-page": per_page, "mailto": mailto})
    try:
        return parse_response(data, f"works titled {cleaned[:60]!r}", "work")
    except BadRecord as exc:
        raise SourceError(url, str(exc)) from exc
