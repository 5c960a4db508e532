"""Author profile runs on the kept integer snapshot (analytics.author_snapshot).

- full (identities resolved): the store is read whole, as without a snapshot; the rows are coded
  once into the snapshot, which both feeds this run and is kept for the next ones.
- every metric with the stored identities: the kept snapshot, patched with what changed, feeds
  every identity's metrics; nothing is read whole.
- incremental: the same patch, then only the identities on the changed papers are recomputed.

A missing, unreadable or disagreeing snapshot (its row counts differ from the store's after the
patch) is replaced by one read from the store in the same run.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from paperscope.analytics.author_snapshot import AuthorSnapshot
from paperscope.analytics.authors import (
    PaperTable,
    Progress,
    RecomputeReport,
    identity_input,
    owners_coded,
    stored_identity,
    write_metrics,
)
from paperscope.analytics.identity import IdentityResult, resolve_identities
from paperscope.store import authors as store


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_snapshot(engine: Engine) -> tuple[AuthorSnapshot, dict]:
    """A snapshot of the whole store, and the bulk reads it was coded from (identity resolution
    needs the rows themselves)."""
    with engine.connect() as connection:
        papers_seen = store.latest_paper_write(connection)
        scores_seen = store.latest_score_write(connection)
        rows = {
            "authors": store.load_authors(connection),
            "authorships": store.load_authorships(connection),
            "papers": store.load_papers(connection),
            "edges": store.load_edges(connection),
            "yearly": store.load_citation_counts(connection),
            "scores": store.load_paper_scores(connection),
        }
    snap = AuthorSnapshot.from_rows(rows["papers"], rows["authorships"], rows["authors"], rows["edges"],
                                    rows["yearly"], rows["scores"])
    snap.papers_seen, snap.scores_seen = _iso(papers_seen), _iso(scores_seen)
    return snap, rows


def patch_snapshot(engine: Engine, snap: AuthorSnapshot) -> list[str] | None:
    """Bring a kept snapshot up to the store: re-read the papers written since it was taken (their
    authorships, citations and per-year counts), the papers they cite, the rows of their authors and
    the scores computed since. Returns the changed papers, or None when the patched snapshot still
    disagrees with the store's row counts (it must then be read whole)."""
    since = _when(snap.papers_seen)
    with engine.connect() as connection:
        papers_seen = store.latest_paper_write(connection)
        scores_seen = store.latest_score_write(connection)
        fresh = store.papers_written_since(connection, since) if since is not None else []
        edges = store.edges_from(connection, fresh)
        changed = sorted(set(fresh) | {cited for _, cited in edges})
        paper_rows = store.papers_by_id(connection, changed)
        authorships = store.authorships_on(connection, fresh)
        # Every author on the fresh papers: new ones, and known ones whose row may have been rewritten.
        author_rows = store.authors_named(connection, sorted({a for _, _, a in authorships}))
        yearly = store.citation_counts_of(connection, fresh)
        scores = store.scores_written_since(connection, _when(snap.scores_seen))
        counts = store.snapshot_counts(connection)
    snap.put_papers(paper_rows)
    snap.drop_rows_of(fresh)
    snap.put_authors(author_rows)
    snap.put_authorships(authorships)
    snap.put_edges(edges)
    snap.put_yearly(yearly)
    snap.put_scores(scores)
    snap.papers_seen = _iso(papers_seen) or snap.papers_seen
    snap.scores_seen = _iso(scores_seen) or snap.scores_seen
    return changed if snap.counts() == counts else None


def _table(snap: AuthorSnapshot) -> PaperTable:
    cites, year_rows = snap.citations()
    return PaperTable(snap.paper_ids, snap.paper_index, snap.year, snap.tag, snap.tags, cites, snap.novelty,
                      snap.ai, year_rows)


def _coded(snap: AuthorSnapshot, identity: IdentityResult, table: PaperTable, only: set[str] | None):  # type: ignore[no-untyped-def]
    name_of = dict(zip(snap.author_ids, snap.author_names, strict=True))
    key_of = dict(zip(snap.author_ids, snap.author_keys, strict=True))
    return owners_coded(snap.ship_paper, snap.ship_author, snap.author_ids, snap.author_index, table.index,
                        name_of, key_of, identity, only)


def recompute_with_snapshot(
    engine: Engine, folder: Path, report: RecomputeReport, *, incremental: bool, resolve: bool,
    now: datetime, today: date, say: Progress,
) -> RecomputeReport:
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        t = time.perf_counter()
        report.timings[name] = report.timings.get(name, 0.0) + t - clock
        clock = t

    snap = None if (resolve and not incremental) else AuthorSnapshot.load(folder)
    changed: list[str] | None = None
    if snap is not None:
        lap("load snapshot")
        changed = patch_snapshot(engine, snap)
        lap("patch snapshot")
        if changed is None:
            say("the kept author snapshot disagrees with the store: reading the store whole")
            snap = None
    rows: dict = {}
    if snap is None:
        snap, rows = read_snapshot(engine)
        lap("read")
        if incremental:  # nothing to patch from: every identity, with the stored ones
            report.mode = "metrics"
    with engine.connect() as connection:
        has_identities = store.last_run(connection) is not None
    resolving = resolve and not incremental and bool(rows)
    if not resolving and not has_identities:
        # No identities were ever resolved: this first run must resolve them.
        resolving, report.mode = True, "full"
        if not rows:
            snap, rows = read_snapshot(engine)
            lap("read")
    table = _table(snap)
    lap("paper table")
    if resolving:
        with engine.connect() as connection:
            corrections = store.list_corrections(connection)
            cross = store.load_cross_listed(connection)
            multi = store.load_multi_source_authors(connection)
        identity = resolve_identities(identity_input(rows["authors"], rows["authorships"], rows["papers"], cross,
                                                     multi, corrections))
        report.refused = identity.refused
    else:
        identity = stored_identity(engine)
    lap("identity")
    only = None
    if incremental and changed is not None and report.mode == "incremental":
        with engine.connect() as connection:
            on_changed = store.authorships_on(connection, changed)
        only = {identity.identity_of(p, a) for p, _pos, a in on_changed}
    coded = _coded(snap, identity, table, only)
    lap("coding")
    say(f"snapshot: {len(snap.paper_ids):,} papers, {snap.ship_paper.size:,} authorships"
        + (f"; {len(changed):,} changed papers, {len(only or ()):,} identities to redo" if only is not None else ""))
    write_metrics(engine, report, coded, identity, table, only, now, today, resolving, lap, say)
    snap.save(folder, snap.counts())
    lap("save snapshot")
    return report
