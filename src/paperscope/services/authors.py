"""Author profiles for every front end: the header as listings show it, the cards, co-authors,
similar authors, organisations, and what sources reported, each labelled as such.

Computed values come from `author_metrics` (analytics.authors); values a source reported come from
`author_reports` and are returned under `reported`, each with its source, never mixed in.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from paperscope.analytics.authors import RecomputeReport, coauthor_counts, recompute_authors
from paperscope.analytics.identity import evaluate_pairs
from paperscope.analytics.similar import compute_similar_authors
from paperscope.core.ids import normalise_person_name
from paperscope.services.cards import citation_count
from paperscope.store import authors as store
from paperscope.store import freshness

SORTS = ("date", "score", "citations")


class AuthorNotFound(LookupError):
    """No identity in the store answers to the name or id asked for."""


def _source_label(report: dict[str, Any]) -> str:
    if report["source"] == "listing":
        label = f"listing page {report['source_key']}"
    elif report["source"] == "openalex":
        label = f"OpenAlex author {report['source_key']}"
    elif report["source"] == "s2":
        label = f"Semantic Scholar author {report['source_key']}"
    else:
        label = f"{report['source']} {report['source_key']}"
    if report.get("as_of"):
        label += f", as of {report['as_of'].isoformat()}"
    return label


def _reported(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        values = {k: r[k] for k in ("field", "h_index", "i10_index", "paper_count", "citation_count",
                                    "novelty", "ai_score") if r[k] is not None}
        if r["counts_by_year"]:
            values["counts_by_year"] = r["counts_by_year"]
        if values:
            out.append({"source": r["source"], "source_key": r["source_key"], "label": _source_label(r),
                        "author_id": r["author_id"], "values": values})
    return out


PROLIFIC = 100  # papers from which an identity's page parts are stored by the profile step
COAUTHORS_KEPT = 100
ORGS_KEPT = 10


def _stamp(metrics_at: Any) -> str:
    return metrics_at.isoformat() if hasattr(metrics_at, "isoformat") else str(metrics_at)


def build_page_parts(connection: Connection, ident: str, members: list[str]) -> dict[str, Any]:
    """The parts of an identity's page whose cost grows with its papers: co-authors (most shared
    papers first), top organisations, the card order by date (undated last) and by citations (as
    the cards count them), and the papers split off by identity evidence."""
    ships = store.identity_authorships(connection, ident, members)
    paper_ids = sorted({s["paper_id"] for s in ships})
    rows = store.paper_order_rows(connection, paper_ids)  # (id, year, published, cited_by_count, source)
    everyone = store.authorship_names(connection, paper_ids)  # (paper id, author id, name)
    identity_of = store.identity_map(connection, [(paper, author) for paper, author, _ in everyone])
    years = store.paper_citation_years(connection, paper_ids)
    orgs = store.paper_orgs(connection, paper_ids)
    name_of = {author: name for _, author, name in everyone}
    shared = coauthor_counts(ident, ((paper, author) for paper, author, _ in everyone), identity_of)
    coauthors = [[c, name_of.get(c.split("~", 1)[0], c), n] for c, n in shared.most_common(COAUTHORS_KEPT)]
    org_counts: Counter[str] = Counter()
    for paper_id in paper_ids:
        org_counts.update(orgs.get(paper_id, []))
    for s in ships:
        org_counts.update(s["affiliations"] or [])

    def cites(row: tuple[Any, ...]) -> int:
        return citation_count(row[3], row[4], sum(years.get(row[0], {}).values()))[0]

    def dated(row: tuple[Any, ...]) -> tuple[int, str, str]:
        published = row[2]
        return row[1] or 0, published.isoformat() if hasattr(published, "isoformat") else published or "", row[0]

    by_date = sorted(rows, key=dated, reverse=True)
    return {
        "coauthors": coauthors,
        "orgs": [[org, n] for org, n in org_counts.most_common(ORGS_KEPT)],
        "order": {"date": [r[0] for r in by_date],
                  "citations": [r[0] for r in sorted(rows, key=lambda r: (cites(r), r[0]), reverse=True)]},
        "split": sorted({s["identity_evidence"] for s in ships if s.get("identity_evidence")}),
    }


def page_parts(connection: Connection, ident: str, members: list[str], metrics_at: Any) -> dict[str, Any]:
    """The stored parts when they were built with these metrics, else built now (cheap for an
    identity below PROLIFIC papers; the profile step stores the others)."""
    stored = store.get_page_parts(connection, ident)
    if stored is not None and stored["metrics_at"] == _stamp(metrics_at):
        return stored["parts"]
    return build_page_parts(connection, ident, members)


def store_page_parts(engine: Engine, min_papers: int = PROLIFIC, progress: Any = None) -> int:
    """Build and store the page parts of every identity with `min_papers` papers or more whose
    stored parts are missing or older than its metrics; returns how many were written."""
    with engine.connect() as connection:
        stale = [r for r in store.stale_prolific_identities(connection, min_papers)
                 if r["metrics_at"] != _stamp(r["computed_at"])]
    now = datetime.now(UTC)
    for done, row in enumerate(stale, 1):
        with engine.begin() as connection:
            parts = build_page_parts(connection, row["identity_id"], list(row["members"]) or [row["identity_id"]])
            store.put_page_parts(connection, row["identity_id"], _stamp(row["computed_at"]), parts, now)
        if progress is not None:
            progress("author pages", done, len(stale))
    return len(stale)


def _by_score(connection: Connection, paper_ids: list[str]) -> list[str]:
    """The ids by AI Score (unscored last), read now: scores change without a profile run."""
    scores = {pid: s["ai_score"] for pid, s in store.paper_scores_of(connection, paper_ids).items()}
    return sorted(paper_ids, key=lambda pid: (s if (s := scores.get(pid)) is not None else -1.0, pid), reverse=True)


def ensure_computed(engine: Engine) -> RecomputeReport | None:
    """Run a full recompute when the store has never had one (a fresh store's first profile)."""
    with engine.connect() as connection:
        if store.last_run(connection) is not None:
            return None
    return recompute_authors(engine)


def get_author_profile(engine: Engine, name_or_id: str, sort: str = "date", today: date | None = None,
                       coauthor_limit: int = 20) -> dict[str, Any]:
    """The profile of the identity `name_or_id` names (an identity or author id, or a name)."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: choose one of {', '.join(SORTS)}")
    today = today or datetime.now(UTC).date()
    ensure_computed(engine)
    ref = name_or_id.strip()
    with engine.connect() as connection:
        found = store.find_identities(connection, ref, normalise_person_name(ref))
        if not found:
            as_of = freshness.profiles_computed_at(connection)
            newer = freshness.papers_updated_after(connection, as_of)
            lag = (f"; {newer:,} papers written since the profiles were computed are not yet counted: "
                   "run paperscope refresh") if newer else ""
            raise AuthorNotFound(f"no author named or identified {name_or_id!r} in the store{lag}")
        ident = found[0]
        metrics = store.get_metrics(connection, ident)
        if metrics is None:
            raise AuthorNotFound(f"{ident} has no computed profile yet: run `paperscope authors recompute`")
        members = list(metrics["members"]) or [ident]
        parts = page_parts(connection, ident, members, metrics["computed_at"])
        top = parts["coauthors"][:coauthor_limit]
        co_info = store.get_metrics_many(connection, [c for c, _, _ in top])
        # A report is about an author id's own identity: not about a namesake split off from it.
        own = store.author_identities(connection, members)
        reports = [r for r in store.get_author_reports(connection, members) if own[r["author_id"]] == ident]
        links = store.identity_link_rows(connection, members)
        similar = store.get_similar(connection, ident)
        sim_info = store.get_metrics_many(connection, [s[0] for s in (similar or {}).get("similar", [])])
        others = store.get_metrics_many(connection, found[1:])
        as_of = freshness.profiles_computed_at(connection)
        newer = freshness.papers_of_authors_updated_after(connection, members, as_of)
        order = (_by_score(connection, parts["order"]["date"]) if sort == "score" else parts["order"][sort])
    return {
        "id": ident,
        "name": metrics["name"],
        "field": metrics["field"],
        "h_index": metrics["h_index"],
        "i10_index": metrics["i10_index"],
        "g_index": metrics["g_index"],
        "papers": metrics["papers"],
        "citations": metrics["citations"],
        "citations_by_year": {int(y): n for y, n in sorted(metrics["citations_by_year"].items())},
        "last_5_years": {
            "papers": metrics["papers_5y"], "citations": metrics["citations_5y"],
            "h_index": metrics["h_index_5y"], "i10_index": metrics["i10_index_5y"],
            "g_index": metrics["g_index_5y"],
        },
        "novelty": metrics["novelty"],
        "ai_score": metrics["ai_score"],
        "computed_at": metrics["computed_at"].isoformat() if metrics["computed_at"] else None,
        "freshness": {"as_of": as_of.isoformat() if as_of else None, "newer_papers": newer,
                      "note": (f"profile as of {as_of:%Y-%m-%d %H:%M}; {newer:,} newer paper"
                               f"{'s' if newer != 1 else ''} not yet counted (paperscope refresh)")
                      if newer and as_of else None},
        "reported": _reported(reports),
        "identity": {
            "members": members,
            "links": [{"author_id": r["author_id"], "rule": r["rule"], "evidence": r["evidence"]}
                      for r in links],
            "split": parts["split"],
        },
        "coauthors": [{"id": c, "name": (co_info.get(c) or {}).get("name") or name, "papers": n}
                      for c, name, n in top],
        "orgs": [{"org": org, "papers": n} for org, n in parts["orgs"]],
        "similar_authors": [
            {"id": s, "name": (sim_info.get(s) or {}).get("name", s),
             "field": (sim_info.get(s) or {}).get("field"),
             "similarity": round(float(score), 3)} for s, score in (similar or {}).get("similar", [])
        ],
        "similar_method": (similar or {}).get("method"),
        "also_named": [{"id": o, "papers": v["papers"], "field": v["field"]} for o, v in others.items()],
        "sort": sort,
        "paper_ids": order,  # cards are built for the page shown
    }


def snapshot_folder(data_dir: Path) -> Path:
    """Where author profile runs keep their integer snapshot of the store (a derived folder)."""
    return Path(data_dir) / "derived" / "authors"


def recompute(engine: Engine, incremental: bool = False, similar: bool = True, resolve: bool = True,
              progress: Any = None, data_dir: Path | None = None) -> dict[str, Any]:
    """Author profiles: identities (unless `resolve` is False or `incremental`), every metric, similar
    authors. With `data_dir`, runs keep an integer snapshot of the store there and patch it, so that
    runs without identity resolution read only what changed (analytics.author_snapshot_runs)."""
    folder = snapshot_folder(data_dir) if data_dir is not None else None
    report = recompute_authors(engine, incremental=incremental, resolve=resolve, progress=progress,
                               snapshot_folder=folder)
    out = report.as_dict()
    if similar:
        out["similar"] = compute_similar_authors(engine, progress=progress)
    out["page_parts"] = store_page_parts(engine)
    return out


def _check_refs(engine: Engine, refs: list[str], papers: list[str] | None = None) -> None:
    from paperscope.services.inputs import InvalidInput, check_author_ref
    from paperscope.store.queries import find_paper

    for ref in refs:
        check_author_ref(engine, ref)
    with engine.connect() as connection:
        missing = [p for p in papers or [] if find_paper(connection, p) is None]
    if missing:
        raise InvalidInput(f"no paper {', '.join(map(repr, missing))} in the store (`paperscope author "
                           f"{refs[0]}` lists the author's paper ids)")


def merge_authors(engine: Engine, a: str, b: str, note: str | None = None) -> int:
    """Record that `a` and `b` are one person; both must be stored author or identity ids."""
    if a == b:
        raise ValueError(f"merge takes two different ids, got {a!r} twice")
    _check_refs(engine, [a, b])
    with engine.begin() as connection:
        return store.add_correction(connection, "merge", a, b, note=note)


def split_authors(engine: Engine, a: str, b: str | None = None, papers: list[str] | None = None,
                  note: str | None = None) -> int:
    """Keep `a` and `b` apart, or move `a`'s authorships on `papers` to an identity of their own."""
    if (b is None) == (not papers):
        raise ValueError("split takes either a second author or papers, not both nor neither")
    _check_refs(engine, [a] + ([b] if b else []), papers)
    with engine.begin() as connection:
        if b is not None:
            return store.add_correction(connection, "split", a, b, note=note)
        return store.add_correction(connection, "split_papers", a, papers=papers or [], note=note)


def remove_correction(engine: Engine, number: int) -> None:
    """Undo a hand correction (the next recompute no longer applies it)."""
    with engine.begin() as connection:
        if not store.delete_correction(connection, number):
            known = ", ".join(f"#{c['id']}" for c in store.list_corrections(connection)) or "none"
            raise ValueError(f"no correction #{number} (corrections: {known})")


def list_corrections(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return store.list_corrections(connection)


def evaluate_identities(engine: Engine, pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Precision and recall of the stored identities over labelled pairs (tests/data/authors)."""
    sides = [side for pair in pairs for side in (pair["a"], pair["b"])]
    with engine.connect() as connection:
        by_ship = store.identity_map(connection, [(s["paper"], s["author"]) for s in sides if s.get("paper")])
        by_author = store.author_identities(connection, [s["author"] for s in sides if not s.get("paper")])

    def identity_of(side: dict[str, Any]) -> str:
        if side.get("paper"):
            return by_ship[(side["paper"], side["author"])]
        return by_author[side["author"]]

    return evaluate_pairs(pairs, identity_of)


def identity_paper_ids(engine: Engine, name_or_id: str) -> list[str]:
    """The ids of the papers of the identity `name_or_id` names; AuthorNotFound when none does."""
    ensure_computed(engine)
    ref = name_or_id.strip()
    with engine.connect() as connection:
        found = store.find_identities(connection, ref, normalise_person_name(ref))
        if not found:
            raise AuthorNotFound(f"no author named or identified {name_or_id!r} in the store")
        metrics = store.get_metrics(connection, found[0])
        members = list(metrics["members"]) if metrics and metrics["members"] else [found[0]]
        ships = store.identity_authorships(connection, found[0], members)
    return sorted({s["paper_id"] for s in ships})
