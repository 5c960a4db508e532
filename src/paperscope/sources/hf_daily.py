"""Hugging Face daily papers (``/api/daily_papers``): upvotes, GitHub repos, organisations, keywords.

Each entry of the API's JSON array becomes a PaperRecord keyed by its arXiv id. What it carries
that other sources lack: ``upvotes``, ``githubRepo`` (-> code_urls), ``projectPage`` (-> links
"project"), the submitting ``organization`` slug (-> orgs) and ``ai_keywords`` (-> keywords).
``featured_on`` is the day the paper was put on the daily list (``paper.submittedOnDailyAt``, else
the ``date`` that was asked for); ``published`` is ``paper.publishedAt``. The top-level
``publishedAt`` is a timezone-shifted copy of the paper's publication time, not the list's day,
so it is not used for either.

Live paging: ``?date=YYYY-MM-DD&limit=N&p=K`` with K from 0, followed until a page comes back
empty (or repeats only papers already seen, for a server that ignores ``p``). Cursor format:
``"<date>:<next page>"`` (``"2026-06-12:3"``), or ``"<next page>"`` for the latest list; the cursor
alone resumes, the date included. The empty page that ends the list yields a last, empty Batch
with cursor None, so a finished fetch is told apart from an interrupted one.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from paperscope.core.ids import InvalidId, parse_arxiv_id
from paperscope.core.records import AuthorRecord, Batch, Malformed, PaperRecord, set_origin
from paperscope.sources.http import PoliteClient, SourceError
from paperscope.sources.recovery import Damaged, load_json_salvaging

SOURCE = "hf"
API_PATH = "/api/daily_papers"
RAW_LIMIT = 2000


class _BadEntry(ValueError):
    pass


def _raw(obj: object) -> str:
    try:
        return orjson.dumps(obj).decode()[:RAW_LIMIT]
    except TypeError:
        return repr(obj)[:RAW_LIMIT]


def _day(value: object, what: str) -> date | None:
    """The date part of an ISO timestamp ("2026-05-30T00:00:00.000Z")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _BadEntry(f"{what} is not a timestamp: {value!r}")
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise _BadEntry(f"impossible {what} {value!r}") from exc


def _text(value: object) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _org_slug(*candidates: object) -> list[str]:
    for org in candidates:
        if isinstance(org, dict) and isinstance(org.get("name"), str) and org["name"].strip():
            return [org["name"].strip()]
    return []


def parse_entry(entry: object, position: str, list_date: date | None = None) -> PaperRecord | Malformed:
    """One daily-papers entry -> PaperRecord, or Malformed saying what was wrong.

    `list_date` is the day whose list was asked for; it is the fallback for `featured_on`.
    """
    if not isinstance(entry, dict):
        return Malformed(SOURCE, position, "entry is not a JSON object", _raw(entry))
    paper: Any = entry.get("paper")
    if paper is None and "id" in entry:  # a bare paper object, as /api/papers/<id> returns
        paper = entry
    if not isinstance(paper, dict):
        return Malformed(SOURCE, position, "entry has no 'paper' object", _raw(entry))
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        return Malformed(SOURCE, position, "paper has no id", _raw(entry))
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidId as exc:
        return Malformed(SOURCE, position, str(exc), _raw(entry))
    title = _text(paper.get("title")) or _text(entry.get("title"))
    if title is None:
        return Malformed(SOURCE, position, f"{arxiv_id}: missing title", _raw(entry))
    try:
        published = _day(paper.get("publishedAt"), "paper.publishedAt")
        featured = _day(paper.get("submittedOnDailyAt"), "paper.submittedOnDailyAt") or list_date
    except _BadEntry as exc:
        return Malformed(SOURCE, position, f"{arxiv_id}: {exc}", _raw(entry))

    authors = [
        AuthorRecord(name=name)
        for author in paper.get("authors") or []
        if isinstance(author, dict) and (name := _text(author.get("name")))
    ]
    upvotes = paper.get("upvotes")
    repo = paper.get("githubRepo")
    project = paper.get("projectPage")
    keywords = paper.get("ai_keywords")
    return PaperRecord(
        source=SOURCE,
        source_key=arxiv_id,
        title=title,
        abstract=_text(paper.get("summary")) or _text(entry.get("summary")),
        arxiv_id=arxiv_id,
        arxiv_version=version,
        published=published,
        featured_on=featured,
        observed_on=featured,  # the upvotes a day's list shows are dated by that list's day
        authors=authors,
        upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
        code_urls=[repo.strip()] if isinstance(repo, str) and repo.strip() else [],
        links={"project": project.strip()} if isinstance(project, str) and project.strip() else {},
        orgs=_org_slug(paper.get("organization"), entry.get("organization")),
        keywords=[k.strip() for k in keywords if isinstance(k, str) and k.strip()]
        if isinstance(keywords, list)
        else [],
    )


def parse_daily_papers(
    data: bytes | str | list[Any], label: str, list_date: date | None = None
) -> list[PaperRecord | Malformed]:
    """A whole response (a JSON array of entries) -> records; raises ValueError if it is not one."""
    entries = load_json_salvaging(data, label) if isinstance(data, bytes | str) else data
    if not isinstance(entries, list):
        raise ValueError(f"expected a JSON array of daily papers, got {type(entries).__name__}")
    return [
        Malformed(SOURCE, f"{label}#{index} (byte {entry.offset})", entry.reason, entry.raw)
        if isinstance(entry, Damaged)
        else set_origin(parse_entry(entry, f"{label}#{index}", list_date), label, f"#{index}")
        for index, entry in enumerate(entries)
    ]




def read_files(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Iterator[Batch]:
    """Saved responses (JSON arrays), one Batch per file; an unreadable file is one Malformed."""
    path_list = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    for path in path_list:
        name = os.fspath(path)
        try:
            records = parse_daily_papers(Path(path).read_bytes(), name)
        except (orjson.JSONDecodeError, ValueError) as exc:
            records = [Malformed(SOURCE, name, f"not a daily-papers response: {exc}", None)]
        yield Batch(records, cursor=None, label=name)


def _parse_cursor(cursor: str) -> tuple[str | None, int]:
    day, _, page = cursor.rpartition(":")
    if not page.isdigit():
        raise ValueError(f"not a daily-papers cursor (want '<date>:<page>' or '<page>'): {cursor!r}")
    return day or None, int(page)


def fetch_hf_daily(
    client: PoliteClient,
    *,
    date: date | str | None = None,
    limit: int = 100,
    cursor: str | None = None,
    base_url: str = "https://huggingface.co",
) -> Iterator[Batch]:
    """The daily list of `date` (None: the latest list), page by page; see the module doc for cursors.

    Raises SourceError naming the URL for an error reply (after the client's retries) or a body
    that is not a JSON array.
    """
    day = date.strftime("%Y-%m-%d") if isinstance(date, _dt.date) else date
    page = 0
    if cursor:
        cursor_day, page = _parse_cursor(cursor)
        day = cursor_day or day
    list_date = _day(day, "date") if day else None
    url = base_url.rstrip("/") + API_PATH
    seen: set[str] = set()
    previous_body = b""
    while True:
        params: dict[str, object] = {"limit": limit, "p": page}
        if day:
            params["date"] = day
        response = client.get(url, params=params)
        label = f"{day or 'latest'} page {page}"
        try:
            records = parse_daily_papers(response.content, label, list_date)
        except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
            snippet = response.text[:300].replace("\n", " ")
            raise SourceError(str(response.url), f"not a daily-papers JSON array ({exc}): {snippet}") from exc
        keys = {r.source_key for r in records if isinstance(r, PaperRecord)}
        # An empty page ends the list; so does a page with nothing new (a server ignoring `p`).
        if not records or response.content == previous_body or (keys and keys <= seen):
            yield Batch([], cursor=None, label=f"{label} (end)")
            return
        seen |= keys
        previous_body = response.content
        page += 1
        yield Batch(records, cursor=f"{day}:{page}" if day else str(page), label=label)
