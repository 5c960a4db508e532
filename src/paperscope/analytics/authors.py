"""Author profiles computed from the store: identities, then every metric of every identity at once.

`recompute_authors(engine)` reads the whole store into integer arrays, resolves identities
(analytics.identity), computes the indices (analytics.metrics) and writes `author_metrics`; with
`incremental=True` it keeps the stored identities and recomputes only the identities that have a
paper written (or newly cited) since the last run. Definitions are in docs/authors.md; the one
counting convention worth repeating here:

  citations of a paper = max(the count a source reported (papers.cited_by_count),
                             the distinct papers in the store whose references resolve to it)

and its citations per year are the source's counts_by_year where a source gave them, else the
in-store citing papers by their year. An author's citations are the sum over their papers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Engine

from paperscope.analytics.identity import (
    AuthorInfo,
    Correction,
    IdentityInput,
    IdentityResult,
    resolve_identities,
)
from paperscope.analytics.metrics import compute_indices, mean_by_owner, mode_by_owner, unique_counts
from paperscope.analytics.names import compatible
from paperscope.core.categories import short_tag
from paperscope.core.ids import InvalidId, author_id_for, normalise_person_name
from paperscope.store import authors as store

WINDOW_YEARS = 5  # "last 5 years": the current calendar year and the four before it
SLICE_SHARE = 0.1  # an incremental run touching more of the authorships than this reads everything
Progress = Callable[[str], None]


@dataclass
class PaperTable:
    """Per-paper arrays, indexed by position in `ids`."""

    ids: list[str]
    index: dict[str, int]
    year: np.ndarray  # int, -1 unknown
    tag: np.ndarray  # int code into tags, -1 unknown
    tags: list[str]
    cites: np.ndarray  # the counting convention above
    novelty: np.ndarray  # float, NaN unknown
    ai_score: np.ndarray
    year_rows: tuple[np.ndarray, np.ndarray, np.ndarray]  # (paper idx, year, count) citations per year


@dataclass
class RecomputeReport:
    mode: str
    identities: int = 0
    authorships: int = 0
    papers: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "identities": self.identities, "authorships": self.authorships,
                "papers": self.papers, "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "refused": len(self.refused)}


def _int_or(value: Any, default: int) -> int:
    return default if value is None else int(value)


def build_paper_table(
    papers: list[tuple], edges: list[tuple], yearly: list[tuple], scores: list[tuple]
) -> PaperTable:
    ids = [r[0] for r in papers]
    index = {pid: i for i, pid in enumerate(ids)}
    n = len(ids)
    year = np.fromiter((_int_or(r[1], -1) for r in papers), dtype=np.int64, count=n)
    tag_codes: dict[str, int] = {}
    tag = np.fromiter((tag_codes.setdefault(r[2], len(tag_codes)) if r[2] else -1 for r in papers),
                      dtype=np.int64, count=n)
    reported = np.fromiter((_int_or(r[3], 0) for r in papers), dtype=np.int64, count=n)

    # In-store citing papers: distinct (citing, cited) pairs, per year of the citing paper.
    get = index.get
    citing_ids, cited_ids = zip(*edges, strict=True) if edges else ((), ())
    citing = np.fromiter(map(get, citing_ids, repeat(-1)), dtype=np.int64, count=len(edges))
    cited = np.fromiter(map(get, cited_ids, repeat(-1)), dtype=np.int64, count=len(edges))
    del citing_ids, cited_ids
    ok = (citing >= 0) & (cited >= 0) & (citing != cited)
    pair, _ = unique_counts(citing[ok] * max(n, 1) + cited[ok])
    citing, cited = pair // max(n, 1), pair % max(n, 1)
    in_store = np.bincount(cited, minlength=n).astype(np.int64)
    c_year = year[citing]
    dated = c_year >= 0
    span_lo = int(c_year[dated].min()) if dated.any() else 0
    span = int(c_year[dated].max()) - span_lo + 1 if dated.any() else 1
    keys, e_count = unique_counts(cited[dated] * span + (c_year[dated] - span_lo))
    e_paper, e_year = keys // span, keys % span + span_lo
    cites = np.maximum(reported, in_store)

    # Reported counts per year: one source per paper (the one with the most citations in total).
    by_source: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for paper_id, source, y, count in yearly:
        i = index.get(paper_id)
        if i is not None and y is not None:
            by_source.setdefault((i, source), []).append((int(y), int(count)))
    best: dict[int, tuple[int, str]] = {}
    for (i, source), rows in by_source.items():
        total = sum(c for _, c in rows)
        if i not in best or (total, source) > best[i]:
            best[i] = (total, source)
    r_paper, r_year, r_count = [], [], []
    for i, (_, source) in best.items():
        for y, count in by_source[(i, source)]:
            r_paper.append(i)
            r_year.append(y)
            r_count.append(count)
    has_reported = np.zeros(n, dtype=bool)
    has_reported[np.asarray(r_paper, dtype=np.int64)] = True
    from_edges = ~has_reported[e_paper]
    yp = np.concatenate([np.asarray(r_paper, dtype=np.int64), e_paper[from_edges]])
    yy = np.concatenate([np.asarray(r_year, dtype=np.int64), e_year[from_edges]])
    yc = np.concatenate([np.asarray(r_count, dtype=np.int64), e_count[from_edges]])

    novelty = np.full(n, np.nan)
    ai = np.full(n, np.nan)
    for paper_id, nov, score in scores:
        i = index.get(paper_id)
        if i is not None:
            if nov is not None:
                novelty[i] = float(nov)
            if score is not None:
                ai[i] = float(score)
    tags = [t for t, _ in sorted(tag_codes.items(), key=lambda kv: kv[1])]
    return PaperTable(ids, index, year, tag, tags, cites, novelty, ai, (yp, yy, yc))


def identity_input(
    authors: list[tuple], authorships: list[tuple], papers: list[tuple], cross: list[tuple],
    multi_source: list[tuple[str, str, list[dict[str, Any]]]], corrections: list[dict[str, Any]],
) -> IdentityInput:
    infos = {r[0]: AuthorInfo(r[1], r[2], r[3], r[4], r[5]) for r in authors}
    authors_of: dict[str, list[str]] = {}
    for paper_id, _position, author_id in authorships:
        authors_of.setdefault(paper_id, []).append(author_id)
    tags = {r[0]: r[2] for r in papers}
    years = {r[0]: r[1] for r in papers}
    cross_tags: dict[str, set[str]] = {}
    for paper_id, text in cross:
        try:
            categories = orjson.loads(text) if isinstance(text, str | bytes) else text
        except orjson.JSONDecodeError:
            continue
        found = {short_tag(c) for c in categories or () if c}
        cross_tags[paper_id] = {t for t in found if t}
    return IdentityInput(
        authors=infos, authors_of=authors_of, tags=tags, years=years, cross_tags=cross_tags,
        same_paper=same_paper_evidence(multi_source, infos),
        corrections=[Correction(c["id"], c["kind"], c["a"], c["b"], tuple(c["papers"] or ()))
                     for c in corrections],
    )


def _entry_id(entry: dict[str, Any]) -> str | None:
    try:
        return author_id_for(entry.get("name") or "", entry.get("orcid"), entry.get("openalex_id"),
                             entry.get("s2_id"))
    except InvalidId:
        return None


def same_paper_evidence(
    multi_source: list[tuple[str, str, list[dict[str, Any]]]], infos: dict[str, AuthorInfo]
) -> list[tuple[str, str, str]]:
    """Pairs of author ids two sources give for the same person on the same paper: a name in one
    list matching exactly one name in the other (compatible names), at the same position first."""
    by_paper: dict[str, list[list[dict[str, Any]]]] = {}
    for paper_id, _source, entries in multi_source:
        by_paper.setdefault(paper_id, []).append(entries)
    out: list[tuple[str, str, str]] = []
    for paper_id, lists in by_paper.items():
        for i, first in enumerate(lists):
            for second in lists[i + 1 :]:
                keys2 = [normalise_person_name(e.get("name") or "") for e in second]
                for pos, entry in enumerate(first):
                    key = normalise_person_name(entry.get("name") or "")
                    if pos < len(second) and compatible(key, keys2[pos]):
                        match = pos
                    else:
                        hits = [j for j, k in enumerate(keys2) if compatible(key, k)]
                        if len(hits) != 1:
                            continue
                        match = hits[0]
                    a, b = _entry_id(entry), _entry_id(second[match])
                    if a and b and a != b and a in infos and b in infos:
                        out.append((a, b, paper_id))
    return out


def _json_years(keys: np.ndarray, years: np.ndarray, counts: np.ndarray, n: int) -> list[str]:
    """Per owner, its citations per year as JSON text ({"2021": 5, ...}); keys sorted by owner."""
    out = ["{}"] * n
    if keys.size == 0:
        return out
    bounds = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    stops = np.concatenate((bounds, [keys.size])).tolist()
    owners = keys[starts].tolist()
    ys, cs = years.tolist(), counts.tolist()
    for owner, a, b in zip(owners, starts, stops, strict=True):
        out[owner] = "{" + ",".join(f'"{ys[i]}":{cs[i]}' for i in range(a, b) if cs[i]) + "}"
    return out


def compute_metric_rows(
    pairs_owner: np.ndarray, pairs_paper: np.ndarray, owners: list[str], names: list[str],
    name_keys: list[str],
    members: list[list[str]], table: PaperTable, today: date, stamp: Any,
    timings: dict[str, float] | None = None,
) -> list[tuple]:
    """One row per owner (identity), in store.METRIC_COLUMNS order, JSON columns as text and the
    timestamp as `stamp` (ready for store.bulk_insert)."""
    n = len(owners)
    started = time.perf_counter()
    first_year = today.year - WINDOW_YEARS + 1
    # One pair per (owner, paper): two member ids on one paper count the paper once.
    key, _ = unique_counts(pairs_owner.astype(np.int64) * len(table.ids) + pairs_paper)
    o, p = key // len(table.ids), key % len(table.ids)
    full = compute_indices(o, table.cites[p], n)

    # Citations per year: expand each pair into its paper's per-year rows.
    yp, yy, yc = table.year_rows
    order = np.argsort(yp, kind="stable")
    yp, yy, yc = yp[order], yy[order], yc[order]
    lengths = np.bincount(yp, minlength=len(table.ids))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    per = lengths[p]
    total = int(per.sum())
    owner_rows = np.repeat(o, per)
    within = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    rows = np.repeat(starts[p], per) + within
    ry, rc = yy[rows], yc[rows]
    span_lo = int(ry.min()) if total else 0
    span = (int(ry.max()) - span_lo + 1) if total else 1
    k2 = owner_rows * span + (ry - span_lo)
    order = np.argsort(k2, kind="stable")
    k2_sorted, rc_sorted = k2[order], rc[order]
    seg = np.flatnonzero(np.concatenate(([True], k2_sorted[1:] != k2_sorted[:-1]))) if total else \
        np.zeros(0, dtype=np.int64)
    uk = k2_sorted[seg]
    sums = np.add.reduceat(rc_sorted, seg).astype(np.int64) if total else np.zeros(0, dtype=np.int64)

    # Last 5 years: citations received in the window (where their year is known), papers published in it.
    recent = ry >= first_year
    pair_index = np.repeat(np.arange(o.size), per)
    cites_5y = np.bincount(pair_index[recent], weights=rc[recent], minlength=o.size).astype(np.int64)
    window = compute_indices(o, cites_5y, n)
    papers_5y = np.bincount(o[table.year[p] >= first_year], minlength=n)

    field_code = mode_by_owner(o, table.tag[p], n, max(len(table.tags), 1))
    novelty = mean_by_owner(o, table.novelty[p], n)
    ai = mean_by_owner(o, table.ai_score[p], n)
    if timings is not None:  # the numpy part alone: every index of every identity
        timings["indices (numpy)"] = time.perf_counter() - started
    by_year = _json_years(uk // span, uk % span + span_lo, sums, n)
    cols = [full.papers, full.citations, full.h_index, full.i10_index, full.g_index, papers_5y,
            window.citations, window.h_index, window.i10_index, window.g_index]
    ints = [c.astype(np.int64).tolist() for c in cols]
    fields = [table.tags[c] if c >= 0 else None for c in field_code.tolist()]
    nov = [None if np.isnan(v) else round(v, 2) for v in novelty.tolist()]
    ais = [None if np.isnan(v) else round(v, 2) for v in ai.tolist()]
    dumps = orjson.dumps
    return [
        (owners[i], names[i], name_keys[i], fields[i], *(c[i] for c in ints), by_year[i], nov[i], ais[i],
         dumps(members[i]).decode(), stamp)
        for i in range(n)
    ]


def _owners(
    authorships: list[tuple], authors: list[tuple], identity: IdentityResult, table: PaperTable,
    only: set[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[str], list[list[str]]]:
    """(identity code, paper index) per authorship, and per identity its id, name, name key and
    member author ids. Identities are coded through author ids: one dict lookup per authorship."""
    name_of = {r[0]: r[1] for r in authors}
    key_of = {r[0]: r[2] for r in authors}
    author_code: dict[str, int] = {r[0]: i for i, r in enumerate(authors)}
    paper_col, _, author_col = zip(*authorships, strict=True) if authorships else ((), (), ())
    for author_id in sorted(set(author_col) - author_code.keys()):  # no author row: its own identity
        author_code[author_id] = len(author_code)
    author_ids = list(author_code)
    pp = np.fromiter(map(table.index.__getitem__, paper_col), dtype=np.int64, count=len(authorships))
    pa = np.fromiter(map(author_code.__getitem__, author_col), dtype=np.int64, count=len(authorships))
    del paper_col, author_col
    return owners_coded(pp, pa, author_ids, author_code, table.index, name_of, key_of, identity, only)


def owners_coded(
    pp: np.ndarray, pa: np.ndarray, author_ids: list[str], author_code: dict[str, int],
    paper_index: dict[str, int], name_of: dict[str, str | None], key_of: dict[str, str | None],
    identity: IdentityResult, only: set[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[str], list[list[str]]]:
    """`_owners` from authorships already coded: pp (paper code), pa (author code) per authorship."""
    # Identity codes: author ids first (code = author code), then link targets and split parts.
    owner_code: dict[str, int] = dict(author_code)
    of_author = np.arange(len(author_ids), dtype=np.int64)
    for author_id, (ident, _, _) in identity.links.items():
        code = author_code.get(author_id)
        if code is not None:
            of_author[code] = owner_code.setdefault(ident, len(owner_code))
    po = of_author[pa]
    if identity.overrides:
        # Overridden authorships, found by (paper, author) code in one sorted lookup.
        n_authors = len(author_ids)
        codes_of, targets = [], []
        for (paper_id, author_id), (ident, _, _) in identity.overrides.items():
            p_code, a_code = paper_index.get(paper_id), author_code.get(author_id)
            if p_code is not None and a_code is not None:
                codes_of.append(p_code * n_authors + a_code)
                targets.append(owner_code.setdefault(ident, len(owner_code)))
        if codes_of:
            keys = np.asarray(codes_of, dtype=np.int64)
            order = np.argsort(keys)
            keys, target = keys[order], np.asarray(targets, dtype=np.int64)[order]
            ship = pp * n_authors + pa
            at = np.searchsorted(keys, ship).clip(0, keys.size - 1)
            hit = keys[at] == ship
            po[hit] = target[at[hit]]
    owners = list(owner_code)
    keep = np.ones(po.size, dtype=bool)
    if only is not None:
        selected = np.fromiter((owner_code[o] for o in only if o in owner_code), dtype=np.int64)
        keep = np.isin(po, selected)
    # Members: an identity is its own author id unless links or overrides say more.
    kept_codes = np.unique(po[keep])
    members: dict[int, set[str]] = {}
    composite = {owner_code[t] for t, _, _ in identity.links.values() if t in owner_code}
    composite |= {owner_code[t] for t, _, _ in identity.overrides.values() if t in owner_code}
    if composite:
        mask = keep & np.isin(po, np.fromiter(composite, dtype=np.int64, count=len(composite)))
        pairs, _ = unique_counts(po[mask] * len(author_ids) + pa[mask])
        for o, a in zip((pairs // len(author_ids)).tolist(), (pairs % len(author_ids)).tolist(), strict=True):
            members.setdefault(o, set()).add(author_ids[a])
        for author_id, (ident, _, _) in identity.links.items():
            code = owner_code.get(ident)
            if code in members:
                members[code].add(author_id)
    codes = kept_codes.tolist()
    for code in codes:
        if code not in members:
            members[code] = {owners[code]}
    renumber = np.full(len(owners), -1, dtype=np.int64)
    renumber[codes] = np.arange(len(codes))
    kept_owners = [owners[c] for c in codes]
    names = [name_of.get(o) or name_of.get(o.split("~", 1)[0]) or o for o in kept_owners]
    keys = [key_of.get(o) or key_of.get(o.split("~", 1)[0]) or normalise_person_name(n)
            for o, n in zip(kept_owners, names, strict=True)]
    return (renumber[po[keep]], pp[keep], kept_owners, names, keys, [sorted(members[c]) for c in codes])


def stored_identity(engine: Engine) -> IdentityResult:
    from sqlalchemy import select

    from paperscope.store.authors_schema import author_identity_links, authorship_identities
    with engine.connect() as connection:
        links = {r[0]: (r[1], r[2], r[3]) for r in connection.execute(select(
            author_identity_links.c.author_id, author_identity_links.c.identity_id,
            author_identity_links.c.rule, author_identity_links.c.evidence))}
        overrides = {(r[0], r[1]): (r[2], r[3], r[4]) for r in connection.execute(select(
            authorship_identities.c.paper_id, authorship_identities.c.author_id,
            authorship_identities.c.identity_id, authorship_identities.c.rule,
            authorship_identities.c.evidence))}
    return IdentityResult(links=links, overrides=overrides, refused=[])


def recompute_authors(
    engine: Engine, *, incremental: bool = False, resolve: bool = True, today: date | None = None,
    progress: Progress | None = None, snapshot_folder: Path | None = None,
) -> RecomputeReport:
    """Resolve identities and write every identity's metrics. `resolve=False` keeps the stored
    identities and recomputes every identity's metrics. Incremental: keep the stored identities and
    redo only identities with papers written or newly cited since the last run.
    With `snapshot_folder`, the rows are kept there as integer arrays between runs and patched
    (analytics.author_snapshot_runs): runs without identity resolution then read only what changed."""
    say = progress or (lambda _m: None)
    now = datetime.now(UTC)
    today = today or now.date()
    report = RecomputeReport("incremental" if incremental else "full" if resolve else "metrics")
    if snapshot_folder is not None:
        from paperscope.analytics.author_snapshot_runs import recompute_with_snapshot

        return recompute_with_snapshot(engine, snapshot_folder, report, incremental=incremental, resolve=resolve,
                                       now=now, today=today, say=say)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        t = time.perf_counter()
        report.timings[name] = report.timings.get(name, 0.0) + t - clock
        clock = t

    with engine.connect() as connection:
        last = store.last_run(connection) if incremental else None
        changed = store.papers_changed_since(connection, last["started_at"]) if last else None
    if changed is not None:
        return _recompute_slice(engine, changed, report, now, today, say)
    if incremental:
        report.mode = "full"  # no earlier run to start from
    with engine.connect() as connection:
        authors = store.load_authors(connection)
        authorships = store.load_authorships(connection)
        papers = store.load_papers(connection)
        edges = store.load_edges(connection)
        yearly = store.load_citation_counts(connection)
        scores = store.load_paper_scores(connection)
        resolving = changed is None and resolve
        corrections = store.list_corrections(connection) if resolving else []
        cross = store.load_cross_listed(connection) if resolving else []
        multi = store.load_multi_source_authors(connection) if resolving else []
    lap("read")
    say(f"read {len(papers):,} papers, {len(authorships):,} authorships, {len(authors):,} author ids")
    table = build_paper_table(papers, edges, yearly, scores)
    lap("paper table")
    if resolving:
        identity = resolve_identities(identity_input(authors, authorships, papers, cross, multi, corrections))
        report.refused = identity.refused
        lap("identity")
        say(f"identities resolved: {len(identity.links):,} links, "
            f"{len(identity.overrides):,} split authorships")
        only = None
    else:
        identity = stored_identity(engine)
        only = None
        lap("identity")
    _finish(engine, report, authorships, authors, identity, table, only, now, today, resolving, lap, say)
    return report


def _finish(
    engine: Engine, report: RecomputeReport, authorships: list[tuple], authors: list[tuple],
    identity: IdentityResult, table: PaperTable, only: set[str] | None, now: datetime, today: date,
    resolving: bool, lap: Callable[[str], None], say: Progress,
) -> None:
    """Code the authorships by identity, compute every metric and write the rows (and identities)."""
    coded = _owners(authorships, authors, identity, table, only)
    lap("coding")
    write_metrics(engine, report, coded, identity, table, only, now, today, resolving, lap, say)


def write_metrics(
    engine: Engine, report: RecomputeReport,
    coded: tuple[np.ndarray, np.ndarray, list[str], list[str], list[str], list[list[str]]],
    identity: IdentityResult, table: PaperTable, only: set[str] | None, now: datetime, today: date,
    resolving: bool, lap: Callable[[str], None], say: Progress,
) -> int:
    """Compute every metric of the coded identities (`_owners`) and write the rows (and, when
    `resolving`, the identities) in one transaction; returns the rows written."""
    po, pp, owners, names, keys, members = coded
    with engine.connect() as connection:
        stamp = store.db_timestamp(connection, now)
    inner: dict[str, float] = {}
    rows = compute_metric_rows(po, pp, owners, names, keys, members, table, today, stamp, inner)
    lap("metrics")
    report.timings.update(inner)
    with engine.begin() as connection:
        run_id = store.start_run(connection, report.mode, now)
        if resolving:
            store.replace_identities(
                connection,
                [(a, i, r, e) for a, (i, r, e) in identity.links.items()],
                [(p, a, i, r, e) for (p, a), (i, r, e) in identity.overrides.items()],
            )
        store.replace_metrics(connection, rows, None if only is None else sorted(only))
        report.identities, report.authorships, report.papers = len(owners), len(po), len(table.ids)
        lap("write")
        store.finish_run(connection, run_id, report.as_dict(), datetime.now(UTC))
    say(f"wrote metrics of {len(rows):,} identities")
    return len(rows)


def _recompute_slice(
    engine: Engine, changed: list[str], report: RecomputeReport, now: datetime, today: date, say: Progress,
) -> RecomputeReport:
    """The incremental run: read only what the touched identities need. Touched: the identities
    of the authors of changed papers (and of the papers they cite). Read: their members'
    authorships, those papers, the edges to them and the years of the citing papers."""
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        t = time.perf_counter()
        report.timings[name] = report.timings.get(name, 0.0) + t - clock
        clock = t

    identity = stored_identity(engine)
    members_of: dict[str, set[str]] = {}
    for author_id, (ident, _, _) in identity.links.items():
        members_of.setdefault(ident, set()).add(author_id)
    with engine.connect() as connection:
        on_changed = store.authorships_on(connection, changed)
        only = {identity.identity_of(p, a) for p, _pos, a in on_changed}
        member_ids = set()
        for ident in only:
            member_ids |= members_of.get(ident, set()) | {ident.split("~", 1)[0]}
        slice_size = store.count_authorships_by(connection, sorted(member_ids))
        if slice_size > SLICE_SHARE * store.count_authorships(connection):
            # A slice this big reads faster as one scan of everything (prolific authors touched).
            authors = store.load_authors(connection)
            authorships = store.load_authorships(connection)
            papers = store.load_papers(connection)
            edges = store.load_edges(connection)
            yearly = store.load_citation_counts(connection)
            scores = store.load_paper_scores(connection)
            only_slice = False
        else:
            only_slice = True
    if only_slice:
        with engine.connect() as connection:
            authorships = store.authorships_by(connection, sorted(member_ids))
            paper_ids = sorted({p for p, _, _ in authorships})
            edges = store.edges_to(connection, paper_ids)
            everything = sorted(set(paper_ids) | {c for c, _ in edges})
            papers = store.papers_by_id(connection, everything)
            yearly = store.citation_counts_of(connection, paper_ids)
            scores = store.paper_scores_rows(connection, paper_ids)
            authors = store.authors_named(connection, sorted(member_ids | only))
    lap("read")
    say(f"incremental: {len(changed):,} changed papers, {len(only):,} identities to redo")
    table = build_paper_table(papers, edges, yearly, scores)
    lap("paper table")
    _finish(engine, report, authorships, authors, identity, table, only, now, today, False, lap, say)
    return report


def coauthor_counts(
    ident: str, authorships: Iterable[tuple[str, str]], identity_of: dict[tuple[str, str], str]
) -> Counter[str]:
    """Co-author identities of `ident` with the number of papers shared, from the (paper id,
    author id) authorships of its papers."""
    counts: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for paper, author in authorships:
        other = identity_of[(paper, author)]
        if other != ident and (paper, other) not in seen:
            seen.add((paper, other))
            counts[other] += 1
    return counts
