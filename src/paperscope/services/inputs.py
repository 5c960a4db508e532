"""What a user types, checked before it reaches a query: categories, author references, search
text. A bad value is an error that names it and says what would be valid (with a did-you-mean),
never an empty or arbitrary answer.

Categories are accepted as arXiv names (`cs.LG`) and as card tags (`LG`, `lg`); both become the
tag the store holds. An author reference (a name or an id) becomes the papers of the one identity
it names: the namesakes a profile split off are not that author's papers.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import Engine

from paperscope.core.categories import SHORT_TAGS, short_tag
from paperscope.core.ids import normalise_person_name
from paperscope.store import authors as author_store
from paperscope.store import freshness, queries


class InvalidInput(ValueError):
    """A value a user typed that cannot be answered; the message names it and what is valid."""


def _suggest(value: str, choices: list[str], n: int = 3) -> str:
    close = difflib.get_close_matches(value, choices, n=n, cutoff=0.6)
    return f" — did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def category_tag(engine: Engine, text: str) -> str:
    """The card tag `text` names (`cs.LG`, `LG`, `lg` -> `LG`), or InvalidInput with a did-you-mean."""
    value = text.strip()
    if not value:
        raise InvalidInput("the category is empty: give a tag like LG or an arXiv category like cs.LG")
    tag = SHORT_TAGS.get(value) or next((t for name, t in SHORT_TAGS.items() if name.lower() == value.lower()),
                                        None)
    tag = tag or (short_tag(value) or "").upper()
    if tag in SHORT_TAGS.values():
        return tag
    with engine.connect() as connection:
        if tag and queries.has_category(connection, tag):  # one indexed probe, not a read of every tag
            return tag
        stored = queries.stored_categories(connection)
    choices = sorted(stored | set(SHORT_TAGS.values())) + sorted(SHORT_TAGS)
    hint = _suggest(value, choices) or _suggest(value.upper(), choices)
    shown = ", ".join(sorted(stored)) or "none yet"
    raise InvalidInput(f"unknown category {text!r}{hint} (categories in the store: {shown}; arXiv names "
                       "such as cs.LG work too)")


def author_identity(engine: Engine, ref: str) -> str:
    """The identity an author reference names (the one with the most papers when a name is shared)."""
    value = ref.strip()
    if not value:
        raise InvalidInput("the author is empty: give a name (\"Bo Han\") or an id (s2:2262347, name:bo-han)")
    key = normalise_person_name(value)
    with engine.connect() as connection:
        found = author_store.find_identities(connection, value, key)
        if found:
            return found[0]
        candidates: list[str] = []
        for token in sorted(key.split(), key=len, reverse=True)[:2]:
            candidates += author_store.author_names_like(connection, token[:4])
    hint = _suggest(value, candidates)
    raise InvalidInput(f"no author named or identified {ref!r} in the store{hint}")


def author_paper_ids(engine: Engine, ref: str) -> tuple[str, ...]:
    """The papers of the identity `ref` names, split-off namesakes left out."""
    ident = author_identity(engine, ref)
    with engine.connect() as connection:
        metrics = author_store.get_metrics(connection, ident)
        members = list(metrics["members"]) if metrics and metrics["members"] else [ident.split("~", 1)[0]]
        ships = author_store.identity_authorships(connection, ident, members)
    return tuple(sorted({s["paper_id"] for s in ships}))


def check_author_ref(engine: Engine, ref: str) -> None:
    """A correction's id must name a stored author or identity."""
    with engine.connect() as connection:
        if author_store.author_exists(connection, ref):
            return
    try:
        hint = f" — as a name it means the identity {author_identity(engine, ref)!r}"
    except InvalidInput:
        hint = ""
    raise InvalidInput(f"no author or identity with the id {ref!r}{hint} (ids look like name:bo-han, "
                       "s2:2262347, orcid:…; `paperscope author NAME` shows them)")


def query_text(text: str) -> str:
    """A search query with words in it, or InvalidInput."""
    if not text or not text.strip():
        raise InvalidInput("the search query is empty: give words, a \"phrase\", field queries "
                           "(title: author: abstract:) or a pasted abstract")
    return text


F = TypeVar("F")


def resolve_filter(engine: Engine, f: F) -> F:
    """A PaperFilter or SearchFilter with its category checked and made a tag, and its author made
    the papers of one identity."""
    category = getattr(f, "category", None)
    author = getattr(f, "author", None)
    if category:
        f = replace(f, category=category_tag(engine, category))  # type: ignore[type-var]
    if author:
        with engine.connect() as connection:
            profiled = freshness.profiles_computed_at(connection) is not None
        if not profiled:  # no identities yet (profiles never computed): the name or id as written
            return f
        papers = author_paper_ids(engine, author)
        field = "ids" if hasattr(f, "ids") else "paper_ids"
        f = replace(f, author=None, **{field: papers})  # type: ignore[type-var]
    return f
