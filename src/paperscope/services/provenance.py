"""Where each value of a paper came from: field by field, the source that supplied the stored value
and when it said so, and every field on which the sources disagree, with each source's value.

Built from the stored field sources (`papers.field_sources`, written by the merge) and the records
each source gave (`paper_sources.record`); nothing is recomputed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from paperscope.store import queries

# Fields compared across sources: what a reader may want to check (lists of authors and
# references are shown by their own sections).
COMPARED = ("title", "published", "year", "doi", "arxiv_id", "openalex_id", "s2_id", "primary_category",
            "categories", "venue", "journal_ref", "license", "cited_by_count", "upvotes", "author_count",
            "listing_score", "featured_on", "code_urls")
_RECORD_NAMES: dict[str, str] = {}  # stored column -> record field, where the names differ


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _short(value: Any) -> Any:
    return value[:157] + "…" if isinstance(value, str) and len(value) > 160 else value


def paper_provenance(connection: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """{"fields": {field: {source, source_key, said_at, value}}, "sources": [...], "differing":
    {field: [{source, source_key, said_at, value}, ...]}} for one stored paper row."""
    records = queries.paper_source_records(connection, row["id"])
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:  # oldest first: the last version of each (source, key) wins
        latest[(r["source"], r["source_key"])] = r
    field_sources = dict(row.get("field_sources") or {})
    if row.get("cited_by_source"):
        field_sources.setdefault("cited_by_count", row["cited_by_source"])
    fields: dict[str, Any] = {}
    for field, source in sorted(field_sources.items()):
        said = [r for (s, _k), r in latest.items() if s == source]
        newest = max(said, key=lambda r: r["first_seen"]) if said else None
        value = row.get(field) if "." not in field else (row.get("links") or {}).get(field.split(".", 1)[1])
        fields[field] = {"source": source, "source_key": newest["source_key"] if newest else None,
                         "said_at": _iso(newest["first_seen"]) if newest else None, "value": _short(_iso(value))}
    differing: dict[str, list[dict[str, Any]]] = {}
    for field in COMPARED:
        # every version each source gave, oldest first: a count that changed between two
        # responses of one source is shown as well as two sources that disagree
        values = [{"source": r["source"], "source_key": r["source_key"], "said_at": _iso(r["first_seen"]),
                   "value": (r["record"] or {}).get(_RECORD_NAMES.get(field, field))} for r in records]
        values = [v for v in values if v["value"] is not None]
        if len({repr(v["value"]) for v in values}) > 1:
            differing[field] = values
    sources = [{"source": s, "source_key": k, "first_seen": _iso(r["first_seen"]), "run_id": r["run_id"]}
               for (s, k), r in sorted(latest.items())]
    return {"fields": fields, "sources": sources, "differing": differing}
