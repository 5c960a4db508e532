"""The keyword index: BM25 over titles, abstracts and author names (tantivy), built from the store.

The index is a derived folder (`<data_dir>/index/lexical/`) that can be deleted and rebuilt at any
time. It holds one document per paper: `title` and `abstract` (English stemming), `author` (names),
and the facets the filters are pushed into: `category` (the short tag and the source categories,
raw), `day` (publication date as days since 1970-01-01) and `code` (1 when the paper links code).

Updates are incremental: `state.json` keeps the latest `papers.updated_at` indexed; the next update
re-indexes only papers changed after it (delete by id, then add). When the index then holds another
number of papers than the store (papers merged away), it is rebuilt from scratch.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperscope.store import search_reads as reads

SCHEMA_VERSION = 1
# The writer: indexing is CPU-bound in tantivy's threads (tokenising, stemming); the Python side
# only builds documents (~8 us each). Both cores index; a whole build gets a large memory budget
# (split between the threads) so that fewer, larger segments are written and merged; a daily
# update of a few thousand papers needs little. Measured in bench/search.py and docs/search.md.
WRITER_THREADS = 2
BUILD_HEAP_BYTES = 1_000_000_000
UPDATE_HEAP_BYTES = 256_000_000
EPOCH = date(1970, 1, 1)
MAX_QUERY_TERMS = 32  # a pasted abstract is cut to its rarest terms
FIELDS = ("title", "abstract", "author")
BOOSTS = {"title": 2.0, "abstract": 1.0, "author": 1.0}
STOP_WORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the their this to "
    "was we were which with our using use based via can these than also such not but how".split()
)

Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


def _tantivy():  # type: ignore[no-untyped-def]
    import tantivy

    return tantivy


def day_number(value: date | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return (value - EPOCH).days


def is_pasted_text(text: str) -> bool:
    """A query that is a pasted abstract rather than typed keywords: more than MAX_QUERY_TERMS
    words and no query syntax (field:, "phrase", +must, AND, OR)."""
    structured = any(mark in text for mark in (":", '"', "+", " AND ", " OR "))
    return not structured and len(text.split()) > MAX_QUERY_TERMS


def _schema():  # type: ignore[no-untyped-def]
    t = _tantivy()
    builder = t.SchemaBuilder()
    builder.add_text_field("pid", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("abstract", tokenizer_name="en_stem")
    builder.add_text_field("author", tokenizer_name="default")
    builder.add_text_field("category", tokenizer_name="raw")
    builder.add_integer_field("day", indexed=True, fast=True)
    builder.add_integer_field("code", indexed=True, fast=True)
    return builder.build()


def _analyzer():  # type: ignore[no-untyped-def]
    t = _tantivy()
    return (
        t.TextAnalyzerBuilder(t.Tokenizer.simple())
        .filter(t.Filter.lowercase())
        .filter(t.Filter.stemmer("english"))
        .build()
    )


_ANALYZER = None


def analyse(text: str) -> list[str]:
    """The stemmed, lower-cased terms of `text` as the title and abstract fields index them."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = _analyzer()
    return [term for term in _ANALYZER.analyze(text) if term not in STOP_WORDS and len(term) > 1]


def _document(row: dict[str, Any]):  # type: ignore[no-untyped-def]
    t = _tantivy()
    categories = {c for c in (row.get("categories") or []) if c}
    if row.get("primary_category"):
        categories.add(row["primary_category"])
    fields: dict[str, Any] = {
        "pid": row["id"],
        "title": row.get("title") or "",
        "code": 1 if row.get("has_code") else 0,
    }
    if row.get("abstract"):
        fields["abstract"] = row["abstract"]
    if row.get("authors"):
        fields["author"] = list(row["authors"])
    if categories:
        fields["category"] = sorted(categories)
    day = day_number(row.get("published"))
    if day is not None:
        fields["day"] = day
    return t.Document(**fields)


@dataclass
class LexicalUpdate:
    indexed: int = 0
    rebuilt: bool = False
    reason: str = ""
    docs: int = 0
    seconds: float = 0.0


class LexicalIndex:
    """An opened keyword index folder."""

    def __init__(self, folder: Path) -> None:
        t = _tantivy()
        self.folder = Path(folder)
        self.schema = _schema()
        self.index = t.Index(self.schema, path=str(self.folder), reuse=True)
        self.searcher = self.index.searcher()

    @staticmethod
    def exists(folder: Path) -> bool:
        return (Path(folder) / "state.json").is_file()

    @property
    def state(self) -> dict[str, Any]:
        path = self.folder / "state.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    @property
    def num_docs(self) -> int:
        return int(self.searcher.num_docs)

    def reload(self) -> None:
        self.index.reload()
        self.searcher = self.index.searcher()

    # --- queries ---------------------------------------------------------------------------------

    def _text_query(self, text: str):  # type: ignore[no-untyped-def]
        t = _tantivy()
        text = text.strip()
        if not text:
            return t.Query.all_query()
        if is_pasted_text(text):
            return self._long_query(text)
        query, _errors = self.index.parse_query_lenient(text, list(FIELDS), field_boosts=BOOSTS)
        return query

    def _long_query(self, text: str, max_terms: int | None = MAX_QUERY_TERMS):  # type: ignore[no-untyped-def]
        """A disjunction of the text's terms over the title and abstract fields: its `max_terms`
        rarest (a pasted abstract typed as a keyword query), or all of them (None)."""
        t = _tantivy()
        terms = list(dict.fromkeys(analyse(text)))
        if max_terms is not None:
            terms = sorted(terms, key=lambda term: self.searcher.doc_freq("abstract", term) or 10**9)[:max_terms]
        clauses = []
        for term in terms:
            for field in ("title", "abstract"):
                query = t.Query.term_query(self.schema, field, term)
                clauses.append((t.Occur.Should, t.Query.boost_query(query, BOOSTS[field])))
        return t.Query.boolean_query(clauses) if clauses else t.Query.empty_query()

    def related(self, text: str, limit: int = 10, **facets: Any) -> list[tuple[str, float]]:
        """(paper id, BM25 score) of the papers sharing most of a paper's text: a disjunction of
        every term of it, none dropped (related papers and pasted abstracts, docs/search.md);
        `facets` as `search` takes them."""
        return self.search(text, limit, all_terms=True, **facets)

    def filter_clauses(
        self, category: str | None, since: date | None, until: date | None, has_code: bool | None
    ) -> list[Any]:
        t = _tantivy()
        clauses = []
        if category:
            clauses.append(t.Query.term_query(self.schema, "category", category))
        if since or until:
            clauses.append(
                t.Query.range_query(
                    self.schema, "day", t.FieldType.Integer, day_number(since), day_number(until)
                )
            )
        if has_code is not None:
            clauses.append(t.Query.term_query(self.schema, "code", 1 if has_code else 0))
        return clauses

    def search(
        self,
        text: str,
        limit: int = 10,
        *,
        category: str | None = None,
        since: date | None = None,
        until: date | None = None,
        has_code: bool | None = None,
        order_by_date: bool = False,
        all_terms: bool = False,
    ) -> list[tuple[str, float]]:
        """(paper id, BM25 score) of the best `limit` matches of `text` passing the facet filters
        (`all_terms`: `text` is a paper's text, every term of it a disjunct)."""
        t = _tantivy()
        query = self._long_query(text, None) if all_terms else self._text_query(text)
        clauses = self.filter_clauses(category, since, until, has_code)
        if clauses:
            query = t.Query.boolean_query(
                [(t.Occur.Must, query)] + [(t.Occur.Must, t.Query.const_score_query(c, 0.0)) for c in clauses]
            )
        if order_by_date:
            result = self.searcher.search(query, limit, count=False, order_by_field="day")
        else:
            result = self.searcher.search(query, limit, count=False)
        doc = self.searcher.doc
        return [(doc(address)["pid"][0], float(score)) for score, address in result.hits]

    def doc_freq(self, term: str) -> int:
        return int(self.searcher.doc_freq("abstract", term)) + int(self.searcher.doc_freq("title", term))


# --- building ------------------------------------------------------------------------------------


def index_rows(folder: Path, rows: Iterable[dict[str, Any]], *, threads: int = WRITER_THREADS) -> LexicalIndex:
    """A fresh keyword index in `folder` of paper rows (id, title, abstract, ...) given directly:
    for evaluations over a corpus that is not a store."""
    shutil.rmtree(folder, ignore_errors=True)
    Path(folder).mkdir(parents=True, exist_ok=True)
    index = LexicalIndex(folder)
    writer = index.index.writer(heap_size=UPDATE_HEAP_BYTES, num_threads=threads)
    try:
        for row in rows:
            writer.add_document(_document(row))
        writer.commit()
        writer.wait_merging_threads()
    finally:
        del writer
    index.reload()
    return index


def indexed_until(folder: Path) -> datetime | None:
    """The store's newest paper update the keyword index in `folder` holds (None: no index)."""
    state_file = Path(folder) / "state.json"
    if not state_file.is_file():
        return None
    mark = json.loads(state_file.read_text()).get("watermark")
    if not mark:
        return None
    when = datetime.fromisoformat(mark)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    path = folder / "state.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, default=str))
    tmp.replace(path)


def update_lexical(
    engine: Engine, folder: Path, *, rebuild: bool = False, progress: Progress = _quiet,
    heap_bytes: int | None = None, threads: int = WRITER_THREADS, page: int = 5000,
) -> LexicalUpdate:
    """Bring the keyword index in `folder` up to date with the store (only changed papers)."""
    started = time.perf_counter()
    folder = Path(folder)
    result = LexicalUpdate()
    state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").is_file() else {}
    if state.get("schema_version") != SCHEMA_VERSION:
        rebuild, result.reason = True, ("no index yet" if not state else "index format changed")
    elif rebuild:
        result.reason = "rebuild asked for"
    if rebuild:
        shutil.rmtree(folder, ignore_errors=True)
        state = {}
    folder.mkdir(parents=True, exist_ok=True)
    watermark = datetime.fromisoformat(state["watermark"]) if state.get("watermark") else None
    with engine.connect() as connection:
        latest = reads.latest_paper_update(connection)
        total = reads.count_papers(connection)
    index = LexicalIndex(folder)
    heap = heap_bytes or (BUILD_HEAP_BYTES if watermark is None else UPDATE_HEAP_BYTES)
    writer = index.index.writer(heap_size=heap, num_threads=threads)
    after: str | None = None
    progress("keyword index", 0, total if watermark is None else None)
    try:
        while True:
            with engine.connect() as connection:
                rows = reads.papers_to_index(connection, watermark, after, page)
            if not rows:
                break
            after = rows[-1]["id"]
            for row in rows:
                if watermark is not None:
                    writer.delete_documents_by_term("pid", row["id"])
                writer.add_document(_document(row))
            result.indexed += len(rows)
            progress("keyword index", result.indexed, total if watermark is None else None)
        writer.commit()
        writer.wait_merging_threads()
    finally:
        del writer
    index.reload()
    result.docs = index.num_docs
    if result.docs != total and not rebuild:
        # Papers merged away or removed from the store: their documents would linger; start over.
        again = update_lexical(engine, folder, rebuild=True, progress=progress, heap_bytes=heap_bytes,
                               threads=threads, page=page)
        again.reason = f"index held {result.docs:,} papers, the store {total:,}: rebuilt"
        return again
    _write_state(folder, {
        "schema_version": SCHEMA_VERSION,
        "engine": "tantivy",
        "watermark": latest.isoformat() if isinstance(latest, datetime) else latest,
        "docs": result.docs,
        "updated": datetime.now().astimezone().isoformat(timespec="seconds"),
    })
    result.rebuilt = rebuild
    result.seconds = round(time.perf_counter() - started, 3)
    return result
