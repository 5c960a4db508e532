"""The pages of a collection of papers: a category, an organisation, a venue. Each shows its
papers newest first (the cards of every list), how many it holds, and its top authors; the
reference a reader types is checked, with a did-you-mean when nothing answers to it."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from paperscope.services.browse import cards_of
from paperscope.services.inputs import category_tag
from paperscope.store import collections as store

KINDS = store.KINDS
TOP_AUTHORS = 10


class CollectionNotFound(LookupError):
    """No organisation or venue answers to the reference; the message names it and what is close."""


def _resolve(engine: Engine, kind: str, ref: str) -> tuple[str, str]:
    """(key the store uses, name to show) for what `ref` names."""
    text = ref.strip()
    if kind == "category":
        tag = category_tag(engine, text)  # InvalidInput with a did-you-mean
        return tag, tag
    if not text:
        raise CollectionNotFound(f"no {kind} named {ref!r}: give its name")
    with engine.connect() as connection:
        if kind == "organisation":
            row = store.organisation(connection, text)
            if row is not None:
                return row["id"], row["name"]
        elif kind == "venue":
            found = store.venue(connection, text)
            if found is not None:
                return found, found
        else:
            raise ValueError(f"unknown collection kind {kind!r}: choose one of {', '.join(KINDS)}")
        close = store.similar_names(connection, kind, text)
    hint = f" — did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise CollectionNotFound(f"no {kind} named {ref!r} in the store{hint}")


def collection_page(engine: Engine, kind: str, ref: str, page: int = 1, per_page: int = 20,
                    today: date | None = None) -> dict[str, Any]:
    """One page of a collection's papers with its count and top authors. Raises InvalidInput (an
    unknown category) or CollectionNotFound (an unknown organisation or venue)."""
    key, name = _resolve(engine, kind, ref)
    with engine.connect() as connection:
        ids, total = store.page_ids(connection, kind, key, per_page, (page - 1) * per_page)
        top, counted = store.top_authors(connection, kind, key, TOP_AUTHORS)
    authors = [{"identity_id": a["identity_id"], "name": a["name"] or a["identity_id"], "papers": a["papers"],
                "h_index": a["h_index"], "field": a["field"]} for a in top]
    return {"kind": kind, "key": key, "name": name, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page)),
            "feed": f"/feeds/categories/{key}.atom" if kind == "category" else None,
            "top_authors": authors, "top_authors_over": counted,
            "papers": cards_of(engine, ids, today or datetime.now(UTC).date())}
