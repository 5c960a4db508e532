"""Small parsing helpers shared by the arXiv sources (API, OAI-PMH).

arXiv metadata has the same quirks whichever door it comes through: titles broken over lines,
several DOIs in one field (the paper's and its errata's), and author lists written as one string
("A. Smith, B. Jones and C. Wu (MIT)"). The helpers here settle each quirk once.
"""

from __future__ import annotations

import re
from datetime import date

from paperscope.core.codelinks import extract_code_urls
from paperscope.core.ids import InvalidId, normalise_doi

_DOI_SPLIT = re.compile(r"[\s,;]+")
_AND_WORD = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)
_LEADING_AND = re.compile(r"^(?:and|&)\s+", re.IGNORECASE)
_FOOTNOTE = re.compile(r"\((\d+)\)\s*([^()]*?)\s*(?=,?\s*\(\d+\)|$)")
_MARKERS = re.compile(r"^\s*\d+(?:\s*,\s*\d+)*\s*$")
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
# Substrings that every code host known to core.codelinks contains. Most abstracts name none, and
# the substring test is far cheaper than the full URL pattern, which bulk harvests would pay per record.
_CODE_HOST_HINTS = ("git", "bitbucket", "codeberg", "huggingface", "sourceforge", "paperswithcode", "colab")


def collapse(text: str | None) -> str | None:
    """Whitespace collapsed to single spaces; None for missing or blank text."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def split_dois(raw: str | None) -> tuple[str | None, list[str]]:
    """(first valid DOI, the other valid ones) from a field that may hold several."""
    if not raw:
        return None, []
    found: list[str] = []
    for part in _DOI_SPLIT.split(raw):
        if not part:
            continue
        try:
            doi = normalise_doi(part)
        except InvalidId:
            continue
        if doi not in found:
            found.append(doi)
    if not found:
        return None, []
    return found[0], found[1:]


def code_urls(*texts: str | None) -> list[str]:
    """extract_code_urls, skipped for texts that cannot name a code host."""
    present = [t for t in texts if t]
    if not present:
        return []
    joined = " ".join(present).lower()
    if not any(hint in joined for hint in _CODE_HOST_HINTS):
        return []
    return extract_code_urls(*present)


def iso_date(text: str | None) -> date | None:
    """The date of an ISO date or timestamp ("2016-05-26T17:59:46Z"). Raises ValueError if impossible."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    return date.fromisoformat(text[:10])


def _top_level_chunks(text: str) -> list[tuple[str, list[str]]]:
    """Split an author string at top-level commas/semicolons: [(name text, [parenthesised groups])]."""
    chunks: list[tuple[str, list[str]]] = []
    name: list[str] = []
    groups: list[str] = []
    group: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            if depth:
                group.append(ch)
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth:
                group.append(ch)
            else:
                groups.append("".join(group).strip())
                group = []
        elif depth:
            group.append(ch)
        elif ch in ",;":
            chunks.append(("".join(name), groups))
            name, groups = [], []
        else:
            name.append(ch)
    if group:  # unbalanced "(": keep what was inside as text of the name
        name.append(" " + "".join(group))
    chunks.append(("".join(name), groups))
    return chunks


def split_author_string(raw: str | None) -> list[tuple[str, list[str]]]:
    """[(name, affiliations)] from arXiv's one-string author list.

    Handles "A, B, and C", "A and B", affiliations in parentheses after a name, numbered
    footnotes ("A (1), B (2) ((1) MIT, (2) CMU)") and "Jr."-style suffixes split off by a comma.
    """
    text = collapse(raw)
    if not text:
        return []
    authors: list[tuple[str, list[str]]] = []
    footnotes: dict[str, str] = {}
    for name_text, groups in _top_level_chunks(text):
        names = [
            n for n in (_LEADING_AND.sub("", p.strip()) for p in _AND_WORD.split(name_text.strip())) if n
        ]
        kept: list[str] = []
        for group in groups:
            # "((1) MIT, (2) CMU)": a numbered footnote list of affiliations, not one affiliation.
            pairs = _FOOTNOTE.findall(group) if group.startswith("(") else []
            if pairs:
                footnotes.update((num, aff.strip(" ,")) for num, aff in pairs if aff.strip(" ,"))
            elif group:
                kept.append(group)
        groups = kept
        if not names:
            continue
        if len(names) == 1 and names[0].lower() in _NAME_SUFFIXES and authors:
            prev_name, prev_affs = authors[-1]
            authors[-1] = (f"{prev_name} {names[0]}", prev_affs)
            continue
        for name in names[:-1]:
            authors.append((name, []))
        authors.append((names[-1], groups))
    if footnotes:
        resolved: list[tuple[str, list[str]]] = []
        for name, groups in authors:
            affs: list[str] = []
            for group in groups:
                if _MARKERS.match(group):
                    affs.extend(footnotes[m.strip()] for m in group.split(",") if m.strip() in footnotes)
                else:
                    affs.append(group)
            resolved.append((name, affs))
        authors = resolved
    else:
        authors = [(n, [g for g in gs if not _MARKERS.match(g)]) for n, gs in authors]
    return [(name, affs) for name, affs in authors if any(ch.isalnum() for ch in name)]
