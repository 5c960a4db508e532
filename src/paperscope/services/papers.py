"""Paper lists, lookups and exports: one shape of a paper for every front end."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, TextIO

import orjson
from sqlalchemy import Engine

from paperscope.services.inputs import resolve_filter
from paperscope.services.scores import score_fields
from paperscope.store import queries
from paperscope.store.queries import PaperFilter

EXPORT_FIELDS = (
    "id", "title", "authors", "author_count", "authors_truncated", "primary_category", "categories",
    "published", "updated", "year", "code_urls", "code_badge", "has_code", "orgs", "abstract", "upvotes",
    "arxiv_id", "arxiv_version", "doi", "openalex_id", "s2_id", "external_ids", "cited_by_count",
    "cited_by_source", "listing_score", "venue", "journal_ref", "comments", "license", "links",
    "keywords", "featured_on", "novelty", "ai_score", "predicted_category",
)


def paper_view(row: dict[str, Any]) -> dict[str, Any]:
    """The public shape of a paper (export, JSON API): unknown values are null, never guessed."""
    authorships = row.get("authorships", [])
    view = {
        "id": row["id"],
        "title": row["title"],
        "authors": [a["name"] for a in authorships],
        "author_count": row["author_count"],
        "authors_truncated": bool(row["authors_truncated"]),
        "primary_category": row["primary_category"],
        "categories": row["categories"],
        "published": _iso(row["published"]),
        "updated": _iso(row["updated"]),
        "year": row["year"],
        "code_urls": row["code_urls"],
        "code_badge": row["code_badge"],
        "has_code": bool(row["has_code"]),
        "orgs": row["orgs"],
        "abstract": row["abstract"],
        "upvotes": row["upvotes"],
        "arxiv_id": row["arxiv_id"],
        "arxiv_version": row["arxiv_version"],
        "doi": row["doi"],
        "openalex_id": row["openalex_id"],
        "s2_id": row["s2_id"],
        "external_ids": row.get("external_ids", {}),
        "cited_by_count": row["cited_by_count"],
        "cited_by_source": row["cited_by_source"],
        "listing_score": row["listing_score"],
        "venue": row["venue"],
        "journal_ref": row["journal_ref"],
        "comments": row["comments"],
        "license": row["license"],
        "links": row["links"],
        "keywords": row["keywords"],
        "featured_on": _iso(row["featured_on"]),
    }
    view["affiliations"] = [a["affiliations"] for a in authorships]
    view["page_owner_added"] = [a["name"] for a in authorships if a["origin"] == "page_owner"]
    return view


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def with_scores(engine: Engine, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds paperscope's computed scores (novelty percentile, AI Score, predicted category)."""
    fields = score_fields(engine, [v["id"] for v in views])
    for view in views:
        view.update(fields[view["id"]])
    return views


def list_papers(
    engine: Engine, f: PaperFilter, limit: int = 50, offset: int = 0, order: str = "newest"
) -> tuple[list[dict[str, Any]], int]:
    """One page of the papers the filter keeps (its category and author checked: InvalidInput)."""
    f = resolve_filter(engine, f)
    with engine.connect() as connection:
        rows = queries.list_papers(connection, f, limit=limit, offset=offset, order=order)
        total = queries.count_papers(connection, f)
    return with_scores(engine, [paper_view(r) for r in rows]), total


def get_paper(engine: Engine, ref: str, provenance: bool = False) -> dict[str, Any] | None:
    """One paper's view; with `provenance`, where each value came from (services/provenance.py)."""
    from paperscope.services.provenance import paper_provenance

    with engine.connect() as connection:
        row = queries.find_paper(connection, ref)
        said = paper_provenance(connection, row) if row and provenance else None
    if row is None:
        return None
    view = with_scores(engine, [paper_view(row)])[0]
    return {**view, "provenance": said} if provenance else view


def iter_paper_views(engine: Engine, f: PaperFilter, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """Every matching paper's view, streamed; scores are read a chunk at a time."""
    pending: list[dict[str, Any]] = []
    with engine.connect() as connection:
        for row in queries.iter_papers(connection, f, chunk=chunk):
            pending.append(paper_view(row))
            if len(pending) == chunk:
                yield from with_scores(engine, pending)
                pending = []
    if pending:
        yield from with_scores(engine, pending)


def write_jsonl(papers: Iterable[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for paper in papers:
        out.write(orjson.dumps(paper).decode())
        out.write("\n")
        n += 1
    return n


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote
    (OWASP's advice against CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_json(papers: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON array, written paper by paper."""
    n = 0
    out.write("[")
    for paper in papers:
        out.write(",\n" if n else "\n")
        out.write(orjson.dumps(paper).decode())
        n += 1
    out.write("\n]\n")
    return n


def write_csv(papers: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Lists are joined with '; ' and maps written as JSON, so every cell is plain text; a cell a
    spreadsheet would read as a formula is quoted (see _cell)."""
    writer = csv.DictWriter(out, fieldnames=list(EXPORT_FIELDS), extrasaction="ignore")
    writer.writeheader()
    n = 0
    for paper in papers:
        flat = {}
        for key in EXPORT_FIELDS:
            value = paper.get(key)
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            elif isinstance(value, dict):
                value = orjson.dumps(value).decode() if value else ""
            flat[key] = "" if value is None else _cell(value)
        writer.writerow(flat)
        n += 1
    return n


@functools.cache
def _latex_encoder() -> Any:
    """Built once per process: the encoder's tables are large."""
    from pylatexenc.latexencode import RULE_DICT, UnicodeToLatexConversionRule, UnicodeToLatexEncoder

    # BibTeX counts every brace, escaped or not, so "\\{" alone cannot stand for a lone brace in a
    # title: braces become the text commands, whose own braces always balance. A straight double
    # quote stays one (the defaults would make it a closing quote).
    braces = UnicodeToLatexConversionRule(RULE_DICT, {ord("{"): r"\textbraceleft", ord("}"): r"\textbraceright",
                                                      ord('"'): r"\textquotedbl"})
    return UnicodeToLatexEncoder(conversion_rules=[braces, "defaults"], non_ascii_only=False,
                                 replacement_latex_protection="braces-all", unknown_char_policy="keep",
                                 unknown_char_warning=False)


def _bib_value(text: str) -> str:
    """Text as BibTeX field content: every character LaTeX treats as markup ({ } \\ $ & % # _ ~ ^ and
    the rest) and every accented letter is written as its LaTeX command (pylatexenc), so a title
    can neither end its field early nor run commands."""
    return _latex_encoder().unicode_to_latex(" ".join(str(text).split()))


def bibtex_entry(paper: dict[str, Any]) -> str:
    """A BibTeX entry; the key is the first author's last name, the year and the paper id's tail."""
    authors = paper["authors"]
    last = authors[0].split()[-1] if authors else "anon"
    year = paper["year"] or ""
    tail = paper["id"].split(":", 1)[-1]
    key = "".join(ch for ch in f"{last}{year}_{tail}" if (ch.isascii() and ch.isalnum()) or ch in "_-.:")
    kind = "article" if paper["journal_ref"] or paper["doi"] else "misc"
    fields: list[tuple[str, str]] = [("title", "{" + _bib_value(paper["title"]) + "}")]
    if authors:
        names = list(authors) + (["others"] if paper["authors_truncated"] else [])
        fields.append(("author", " and ".join(_bib_value(a) for a in names)))
    if year:
        fields.append(("year", str(year)))
    if paper["journal_ref"]:
        fields.append(("journal", _bib_value(paper["journal_ref"])))
    elif paper["venue"]:
        fields.append(("howpublished", _bib_value(paper["venue"])))
    if paper["arxiv_id"]:
        fields += [("eprint", _bib_verbatim(paper["arxiv_id"])), ("archivePrefix", "arXiv")]
        if paper["categories"]:
            fields.append(("primaryClass", _bib_value(paper["categories"][0])))
    if paper["doi"]:
        fields.append(("doi", _bib_verbatim(paper["doi"])))
    url = (paper["links"] or {}).get("abs") or (paper["links"] or {}).get("landing")
    if url:
        fields.append(("url", _bib_verbatim(url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


_VERBATIM_UNSAFE = str.maketrans({"{": "%7B", "}": "%7D", "\\": "%5C", " ": "%20"})


def _bib_verbatim(value: str) -> str:
    """A url, doi or eprint field is read verbatim (no LaTeX commands), so it keeps its characters;
    only what could close the field or split it (braces, backslashes, spaces) is percent-encoded."""
    return str(value).strip().translate(_VERBATIM_UNSAFE)


def write_bibtex(papers: Iterable[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for paper in papers:
        out.write(bibtex_entry(paper))
        out.write("\n")
        n += 1
    return n


WRITERS = {"jsonl": write_jsonl, "json": write_json, "csv": write_csv, "bibtex": write_bibtex}


def export_papers(engine: Engine, fmt: str, out: TextIO, f: PaperFilter | None = None) -> int:
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}: choose one of {', '.join(WRITERS)}")
    return WRITERS[fmt](iter_paper_views(engine, resolve_filter(engine, f or PaperFilter())), out)


def export_to_string(engine: Engine, fmt: str, f: PaperFilter | None = None) -> str:
    buffer = io.StringIO()
    export_papers(engine, fmt, buffer, f)
    return buffer.getvalue()
