"""The normalised records that every source yields and ingest consumes.

Sources translate their own formats into these plain dataclasses and never touch the database;
ingest merges them into the store. Plain slotted dataclasses rather than validating models because
the snapshot path builds millions of them and validation happens once, in `ingest.validate`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple


class Origin(NamedTuple):
    """Where a top-level record was read: one input (a file, a response page), its place there and
    the id that names it in that input.

    Ingest uses it to tell a repeat inside one input from a revision in a later one
    (ingest/repeats.py). Records nested in another (a citation stub, an author's paper list) have
    no origin: they are not records of the input, and repeating them is normal.
    """

    input: str  # the file path, or the response's label ("page 3", a URL)
    place: int | str  # a 1-based line number, or where in the document ("data[3]", "#12")
    key: str  # the record's id in the input: its source key, or what identifies a card without one

    def where(self) -> str:
        if isinstance(self.place, int):
            return f"{self.input}:{self.place}"
        return f"{self.input}{'' if self.place.startswith('#') else ':'}{self.place}"


@dataclass(slots=True)
class AuthorRecord:
    """One author as a source names them on one paper (or as an author entity)."""

    name: str
    affiliations: list[str] = field(default_factory=list)
    orcid: str | None = None
    openalex_id: str | None = None  # "A5023888391"
    s2_id: str | None = None  # "2262347"


@dataclass(slots=True)
class PaperRecord:
    """One work as one source describes it. Unknown values stay None; nothing is guessed."""

    source: str  # "arxiv_api", "arxiv_oai", "arxiv_snapshot", "openalex", "s2", "hf", "listing", "aan"
    source_key: str  # the record's id inside its source, for provenance
    title: str | None
    abstract: str | None = None
    arxiv_id: str | None = None  # bare, without version: "2306.01234" or "hep-th/9901001"
    arxiv_version: int | None = None
    doi: str | None = None  # lower-cased, without "https://doi.org/"
    openalex_id: str | None = None  # "W2741809807"
    s2_id: str | None = None  # 40-hex paperId
    other_ids: dict[str, str] = field(default_factory=dict)  # "aan", "corpusid", "dblp", "pmid", ...
    published: date | None = None
    updated: date | None = None
    year: int | None = None  # when only a year is known
    primary_category: str | None = None  # source category, e.g. "cs.LG", or a short tag "LG"
    categories: list[str] = field(default_factory=list)
    comments: str | None = None
    journal_ref: str | None = None
    license: str | None = None
    venue: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # "abs", "pdf", "doi", "landing", "project"
    authors: list[AuthorRecord] = field(default_factory=list)
    authors_truncated: bool = False  # a listing showed "et al."
    author_count: int | None = None  # when the source states it ("8 authors")
    orgs: list[str] = field(default_factory=list)  # organisation slugs shown by a listing / HF
    code_urls: list[str] = field(default_factory=list)  # repositories named by source metadata
    code_badge: bool | None = None  # a listing showed "Code"
    cited_by_count: int | None = None
    counts_by_year: dict[int, int] = field(default_factory=dict)  # citations received per year
    references: list[tuple[str, str]] = field(default_factory=list)  # (scheme, value) of cited works
    upvotes: int | None = None
    listing_score: float | None = None  # the per-paper score a listing showed
    keywords: list[str] = field(default_factory=list)
    featured_on: date | None = None  # the day a daily list featured it
    observed_on: date | None = None  # the day the source says its counts (citations, upvotes) were true
    owner_author: str | None = None  # a listing's page owner, who authored every card on it
    # Where it was read, for telling repeats from revisions: not what the source said, so two
    # records saying the same compare equal wherever they were read.
    origin: Origin | None = field(default=None, compare=False)


@dataclass(slots=True)
class AuthorProfileRecord:
    """An author entity with the metrics a source *reported* (kept apart from computed ones)."""

    source: str
    source_key: str
    name: str
    orcid: str | None = None
    openalex_id: str | None = None
    s2_id: str | None = None
    field: str | None = None  # short tag shown in a listing header ("LG")
    h_index: int | None = None
    i10_index: int | None = None
    paper_count: int | None = None
    citation_count: int | None = None
    novelty: float | None = None
    ai_score: float | None = None
    # dataclasses.field: the attribute `field` above shadows the name inside this class body.
    affiliations: list[str] = dataclasses.field(default_factory=list)
    counts_by_year: dict[int, int] = dataclasses.field(default_factory=dict)
    as_of: date | None = None
    origin: Origin | None = dataclasses.field(default=None, compare=False)  # see PaperRecord.origin


@dataclass(slots=True)
class Malformed:
    """A record a source could not turn into a PaperRecord: quarantined, never silently dropped."""

    source: str
    position: str  # file:line, page/offset, or record id: where to find it again
    reason: str
    raw: str | None = None


Record = PaperRecord | AuthorProfileRecord | Malformed


@dataclass(slots=True)
class Batch:
    """Records a source hands over together, with the cursor that resumes *after* them."""

    records: list[Record]
    cursor: str | None = None  # None: nothing to resume from (end of input, or not resumable)
    label: str = ""  # what this batch came from, for progress and errors ("page 3", "file.xml")


def set_origin(record: Record, input: str, place: int | str, key: str | None = None) -> Record:
    """Mark a top-level record as read at `place` of `input` (a Malformed already says where)."""
    if not isinstance(record, Malformed):
        record.origin = Origin(input, place, key if key is not None else record.source_key)
    return record


def set_input(record: Record, input: str) -> Record:
    """The record with its origin's input renamed (a parser's label -> the file's full path)."""
    if not isinstance(record, Malformed) and record.origin is not None:
        record.origin = record.origin._replace(input=input)
    return record
