"""Stable, readable identifiers and the normalisation that makes them stable.

A paper's id is `arXiv:<id>` when it has an arXiv id, else `doi:<doi>`, else `title:<hash>` of the
normalised title and year, so the same work gets the same id on both backends and across re-ingests.
Ids of other sources (OpenAlex, Semantic Scholar, AAN) are kept as columns and used for matching.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

# New-style (0704.0001, 2306.01234) and old-style (hep-th/9901001, math.GT/0309136) arXiv ids.
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
_ARXIV_OLD = re.compile(r"^([a-z\-]+(?:\.[A-Za-z\-]+)?/\d{7})(?:v(\d+))?$")
_ARXIV_PREFIX = re.compile(r"^(?:https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/|arxiv:)", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


_NON_ALNUM = re.compile(r"[^0-9a-zA-Z]+")
_NON_WORD = re.compile(r"[\W_]+")
_LATEX = re.compile(r"\\[a-zA-Z]+|[{}$\\]")


class InvalidId(ValueError):
    """An identifier that does not have the shape its scheme requires."""


def parse_arxiv_id(raw: str) -> tuple[str, int | None]:
    """Split an arXiv id or URL into (bare id, version). Raises InvalidId for anything else."""
    text = _ARXIV_PREFIX.sub("", raw.strip())
    text = text.removesuffix(".pdf")
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.match(text)
        if match:
            version = int(match.group(2)) if match.group(2) else None
            return match.group(1), version
    raise InvalidId(f"not an arXiv id: {raw!r}")


def normalise_doi(raw: str) -> str:
    """Lower-case a DOI and strip its resolver prefix. Raises InvalidId when it is not a DOI."""
    text = _DOI_PREFIX.sub("", raw.strip()).strip().lower()
    if not _DOI.match(text):
        raise InvalidId(f"not a DOI: {raw!r}")
    return text


def normalise_title(title: str) -> str:
    """Fold a title to a matching key: no accents, LaTeX, punctuation, case or extra spaces."""
    text = title
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _LATEX.sub(" ", text)
    # Letters of every script count (a Cyrillic or Thai title must not fold to nothing).
    text = _NON_WORD.sub(" ", text).lower()
    return " ".join(text.split())


def short_hash(text: str, length: int = 12) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()[:length]


def paper_id_for(
    arxiv_id: str | None, doi: str | None, title: str | None, year: int | None
) -> str:
    """The id a new paper gets; existing papers keep theirs (see ingest.matching)."""
    if arxiv_id:
        return f"arXiv:{arxiv_id}"
    if doi:
        return f"doi:{doi}"
    if not title:
        raise InvalidId("a paper needs an arXiv id, a DOI or a title")
    key = f"{normalise_title(title)}|{year if year is not None else ''}"
    return f"title:{short_hash(key)}"


@lru_cache(maxsize=1 << 18)
def normalise_person_name(name: str) -> str:
    """Fold a person's name for matching: no accents, case, punctuation; 'Last, First' reordered.

    Cached: the same names recur across millions of authorships.
    """
    text = name.strip()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        text = f"{first} {last}"
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NON_ALNUM.sub(" ", text).lower()
    return " ".join(text.split())


def author_id_for(
    name: str, orcid: str | None = None, openalex_id: str | None = None, s2_id: str | None = None
) -> str:
    """Readable author id: the strongest source id, else a slug of the normalised name."""
    if orcid:
        return f"orcid:{orcid}"
    if openalex_id:
        return f"openalex:{openalex_id}"
    if s2_id:
        return f"s2:{s2_id}"
    slug = normalise_person_name(name).replace(" ", "-")
    if not slug:
        raise InvalidId(f"author name has no letters: {name!r}")
    return f"name:{slug}"
