"""The one store read behind every paper card: the papers for a list of ids with everything a card
shows (authors with their profiles, organisations, scores, code, counts), in a fixed number of
queries per 500 ids however many cards are asked for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from paperscope.store import schema
from paperscope.store.authors import paper_citation_years, paper_scores_of
from paperscope.store.browse import authorship_identities

Row = dict[str, Any]

_CARD_COLUMNS = ("id", "title", "abstract", "published", "year", "primary_category", "has_code",
                 "author_count", "authors_truncated", "orgs", "upvotes", "cited_by_count", "cited_by_source",
                 "listing_score")


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def get_papers(connection: Connection, ids: Sequence[str]) -> list[Row]:
    """Card rows in the order of `ids` (unknown ids left out). Each row has the paper's card columns,
    `authors` (the source's authors in order, each with `name` and `identity`: the profile behind
    them, None before profiles exist or for a name without one), `novelty`, `ai_score` and
    `citations_in_store` (distinct citing papers in the store)."""
    wanted = list(dict.fromkeys(ids))
    p, s = schema.papers, schema.authorships
    found: dict[str, Row] = {}
    ships: list[Row] = []
    for chunk in _chunks(wanted):
        query = select(*(p.c[name] for name in _CARD_COLUMNS)).where(p.c.id.in_(chunk))
        found.update((r["id"], {**dict(r), "authors": []}) for r in connection.execute(query).mappings())
        # The page owner a listing page adds is not an author of the paper as its source lists it.
        query = (select(s.c.paper_id, s.c.author_id, s.c.name)
                 .where(s.c.paper_id.in_(chunk), s.c.origin != "page_owner")
                 .order_by(s.c.paper_id, s.c.position))
        ships.extend(dict(r) for r in connection.execute(query).mappings())
    profiles = authorship_identities(connection, ships)
    for a in ships:
        found[a["paper_id"]]["authors"].append(
            {"name": a["name"], "identity": profiles.get((a["paper_id"], a["author_id"]))})
    present = [pid for pid in wanted if pid in found]
    scores = paper_scores_of(connection, present)
    cited = paper_citation_years(connection, present)
    for pid in present:
        row = found[pid]
        score = scores.get(pid, {})
        row["novelty"], row["ai_score"] = score.get("novelty"), score.get("ai_score")
        row["citations_in_store"] = sum(cited.get(pid, {}).values())
    return [found[pid] for pid in present]
