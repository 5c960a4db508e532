"""Writing one batch of source records into the store inside the caller's transaction.

Every read and write here is one statement per table for the whole batch, never one per record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from sqlalchemy import Connection

from paperscope.core.categories import short_tag
from paperscope.core.cleaning import clean_malformed, clean_paper_record, clean_profile_record
from paperscope.core.ids import InvalidId, author_id_for, normalise_person_name, paper_id_for
from paperscope.core.records import AuthorProfileRecord, AuthorRecord, Malformed, PaperRecord, Record
from paperscope.ingest.merge import accepts_authors, changed, merge_paper
from paperscope.ingest.normalise import authors_with_owner, paper_row, provenance_record, record_hash, validate
from paperscope.ingest.repeats import Earlier, RepeatGuard
from paperscope.store import reads, writes

Row = dict[str, Any]
TITLE_YEAR_TOLERANCE = 1  # a preprint and its listing may be dated a year apart


@dataclass
class _Matcher:
    """Finds the stored (or earlier in this batch) paper a record describes."""

    by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    by_title: dict[str, list[tuple[str, int | None]]] = field(default_factory=dict)

    def add(self, paper_id: str, row: Row, external: list[tuple[str, str]]) -> None:
        for scheme in ("arxiv_id", "doi", "openalex_id", "s2_id"):
            if row.get(scheme):
                self.by_key.setdefault((scheme, row[scheme]), paper_id)
        self.by_key.setdefault(("id", paper_id), paper_id)
        for key in external:
            self.by_key.setdefault(key, paper_id)
        entries = self.by_title.setdefault(row["title_key"], [])
        if (paper_id, row.get("year")) not in entries:
            entries.append((paper_id, row.get("year")))

    def find(self, row: Row, external: list[tuple[str, str]]) -> str | None:
        for scheme in ("arxiv_id", "doi", "openalex_id", "s2_id"):
            if row.get(scheme) and (scheme, row[scheme]) in self.by_key:
                return self.by_key[(scheme, row[scheme])]
        for key in external:
            if key in self.by_key:
                return self.by_key[key]
        year = row.get("year")
        if not row["title_key"]:
            return None
        for paper_id, other_year in self.by_title.get(row["title_key"], []):
            if year is None or other_year is None or abs(year - other_year) <= TITLE_YEAR_TOLERANCE:
                return paper_id
        return None


def _external_ids(record: PaperRecord) -> list[tuple[str, str]]:
    ids = [(scheme, str(value)) for scheme, value in record.other_ids.items() if value]
    # The papers table keeps one OpenAlex and one S2 id; aggregators sometimes give one work two.
    # Every id ever seen stays matchable here.
    if record.openalex_id:
        ids.append(("openalex", record.openalex_id))
    if record.s2_id:
        ids.append(("s2", record.s2_id))
    return ids


def write_batch(
    connection: Connection,
    records: list[Record],
    run_id: int | None,
    today: date | None = None,
    deferred: list[PaperRecord] | None = None,
    repeats: RepeatGuard | None = None,
    earlier: Earlier | None = None,
) -> Counter[str]:
    """Validate, match, merge and write `records`; returns counts of what happened.

    A partial record (no title) that matches no stored paper is appended to `deferred` when given,
    for a retry once the whole run is in (its full record may come later), else quarantined.
    `repeats`, the run's guard, holds back repeats of a record inside one input (ingest/repeats.py);
    `earlier` finds first occurrences stored by another writer (the bulk load's fast path).
    """
    now = datetime.now(UTC)
    today = today or now.date()
    counts: Counter[str] = Counter()
    quarantined: list[Row] = []
    checked: list[PaperRecord | AuthorProfileRecord] = []  # in input order, for the repeat check
    dropped_fields: list[Row] = []
    for record in records:
        if isinstance(record, Malformed):
            clean_malformed(record)
            quarantined.append(_quarantine_row(record, run_id, now))
        elif isinstance(record, AuthorProfileRecord):
            clean_profile_record(record)
            checked.append(record)
        else:
            for dropped in clean_paper_record(record):
                # The record is kept without the field; the field is quarantined under its own position.
                dropped_fields.append(
                    _quarantine_row(
                        Malformed(
                            record.source,
                            f"{record.source_key}#{dropped.field}",
                            f"dropped {dropped.field}: {dropped.reason}",
                            dropped.value[:2000],
                        ),
                        run_id,
                        now,
                    )
                )
            reason = validate(record, today)
            if reason:
                quarantined.append(
                    _quarantine_row(
                        Malformed(record.source, record.source_key, reason, _raw(record)), run_id, now
                    )
                )
            else:
                checked.append(record)
    if repeats is not None and checked:
        verdicts = repeats.check(checked, lambda late: _stored_versions(connection, late), earlier)
        checked = [checked[i] for i in verdicts.kept]
        quarantined.extend(_quarantine_row(bad, run_id, now) for bad in verdicts.quarantined)
        if verdicts.repeats:
            counts["repeats"] += verdicts.repeats
    papers_in = [r for r in checked if isinstance(r, PaperRecord)]
    profiles = [r for r in checked if isinstance(r, AuthorProfileRecord)]
    counts["records"] += len(records)
    counts["quarantined"] += len(quarantined)
    if papers_in:
        counts.update(_write_papers(connection, papers_in, run_id, now, deferred))
    if profiles:
        counts["author_reports"] += _write_profiles(connection, profiles, now)
    if quarantined or dropped_fields:
        writes.add_quarantine(connection, quarantined + dropped_fields)
    if dropped_fields:
        counts["fields_dropped"] += len(dropped_fields)
    return counts


def _stored_versions(connection: Connection, records: list[PaperRecord]) -> list[list[tuple[str, Row]]]:
    """For each record, the versions its source said under its key of the paper it matches:
    [(record_hash, record)]. Only conflicting repeats come here, so one query each is fine."""
    out: list[list[tuple[str, Row]]] = []
    for record in records:
        row = paper_row(record)
        stored = reads.get_papers_matching(
            connection,
            arxiv_ids={row["arxiv_id"]} - {None},
            dois={row["doi"]} - {None},
            openalex_ids={row["openalex_id"]} - {None},
            s2_ids={row["s2_id"]} - {None},
            title_keys={row["title_key"]} - {""},
            external=set(_external_ids(record)),
        )
        versions = reads.get_source_versions(connection, [p["id"] for p in stored], record.source, record.source_key)
        out.append([(v["record_hash"], v["record"]) for v in versions])
    return out


def _raw(record: PaperRecord) -> str:
    return orjson.dumps(provenance_record(record)).decode()[:2000]


def _quarantine_row(bad: Malformed, run_id: int | None, now: datetime) -> Row:
    return {
        "run_id": run_id,
        "source": bad.source,
        "position": bad.position,
        "reason": bad.reason,
        "raw": bad.raw,
        "created_at": now,
    }


def _write_papers(
    connection: Connection,
    records: list[PaperRecord],
    run_id: int | None,
    now: datetime,
    deferred: list[PaperRecord] | None,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    fresh = [paper_row(r) for r in records]
    externals = [_external_ids(r) for r in records]
    stored = reads.get_papers_matching(
        connection,
        arxiv_ids={r["arxiv_id"] for r in fresh if r["arxiv_id"]},
        dois={r["doi"] for r in fresh if r["doi"]},
        openalex_ids={r["openalex_id"] for r in fresh if r["openalex_id"]},
        s2_ids={r["s2_id"] for r in fresh if r["s2_id"]},
        title_keys={r["title_key"] for r in fresh},
        external={key for keys in externals for key in keys},
    )
    original: dict[str, Row] = {row["id"]: row for row in stored}
    matcher = _Matcher()
    if stored:
        stored_external: dict[str, list[tuple[str, str]]] = {}
        for row in reads.get_external_ids(connection, list(original)):
            stored_external.setdefault(row["paper_id"], []).append((row["scheme"], row["value"]))
        for paper_id, row in original.items():
            matcher.add(paper_id, row, stored_external.get(paper_id, []))
    state: dict[str, Row] = {pid: dict(row) for pid, row in original.items()}
    known = reads.get_known_versions(connection, list(original)) if original else set()
    said = [provenance_record(r) for r in records]
    hashes = [record_hash(s) for s in said]
    author_lists: dict[str, tuple[PaperRecord, list]] = {}
    resolved: list[str] = []
    kept: list[int] = []  # records that landed on a paper
    news: list[int] = []  # of those, the ones that said something not stored before
    orphans: list[Row] = []
    for index, (record, row, external) in enumerate(zip(records, fresh, externals, strict=True)):
        paper_id = matcher.find(row, external)
        if paper_id is None and not row["title"]:
            if deferred is not None:
                deferred.append(record)
                counts["deferred"] += 1
                continue
            orphans.append(
                _quarantine_row(
                    Malformed(
                        record.source,
                        record.source_key,
                        "missing title, and no paper in the store with its ids to enrich",
                        _raw(record),
                    ),
                    run_id,
                    now,
                )
            )
            continue
        if paper_id is None:
            paper_id = paper_id_for(row["arxiv_id"], row["doi"], row["title"], row["year"])
            state[paper_id] = {**row, "id": paper_id, "created_at": now, "updated_at": now}
            if paper_id in original:  # same id, keys changed (e.g. a title hash): merge anyway
                state[paper_id] = merge_paper(original[paper_id], row, record.source)
        elif (paper_id, record.source, record.source_key, hashes[index]) in known:
            # Said before, word for word, and merged then: no news, so re-running an ingest (in any
            # order with others) changes nothing.
            resolved.append(paper_id)
            kept.append(index)
            continue
        else:
            state[paper_id] = merge_paper(state[paper_id], row, record.source)
        known.add((paper_id, record.source, record.source_key, hashes[index]))
        matcher.add(paper_id, state[paper_id], external)
        resolved.append(paper_id)
        kept.append(index)
        news.append(index)
        listed = authors_with_owner(record)
        current = state[paper_id]
        if accepts_authors(current, record.source, record.authors_truncated, len(listed)):
            current["authors_source"] = record.source
            current["authors_truncated"] = record.authors_truncated
            current["author_count"] = (
                record.author_count
                if record.author_count is not None
                else (None if record.authors_truncated else len(record.authors))
            )
            author_lists[paper_id] = (record, listed)
        elif current.get("author_count") is None and record.author_count is not None:
            current["author_count"] = record.author_count

    to_write = [row for pid, row in state.items() if changed(original.get(pid), row)]
    for row in to_write:
        row["updated_at"] = now
    counts["papers_new"] += sum(1 for row in to_write if row["id"] not in original)
    counts["papers_updated"] += sum(1 for row in to_write if row["id"] in original)
    counts["papers_unchanged"] += len(state) - len(to_write)
    writes.upsert_papers(connection, to_write)
    _write_authorships(connection, author_lists, set(original), now)
    if orphans:
        writes.add_quarantine(connection, orphans)
        counts["quarantined"] += len(orphans)
    news_set = set(news)
    _write_side_tables(
        connection,
        [
            _Landed(records[i], fresh[i], externals[i], paper_id, said[i], hashes[i], i in news_set)
            for i, paper_id in zip(kept, resolved, strict=True)
        ],
        set(original),
        run_id,
        now,
        counts,
    )
    return counts


@dataclass(slots=True)
class _Landed:
    """A record that landed on a paper, with what it said and whether that was news."""

    record: PaperRecord
    row: Row
    external: list[tuple[str, str]]
    paper_id: str
    said: Row
    said_hash: str
    news: bool


def _author_rows(listed: list, paper_id: str, now: datetime) -> tuple[list[Row], list[Row]]:
    authors: list[Row] = []
    ships: list[Row] = []
    for author, origin in listed:
        try:
            author_id = author_id_for(author.name, author.orcid, author.openalex_id, author.s2_id)
        except InvalidId:
            continue
        name = " ".join(author.name.split())
        authors.append(
            {
                "id": author_id,
                "name": name,
                "name_key": normalise_person_name(name),
                "orcid": author.orcid,
                "openalex_id": author.openalex_id,
                "s2_id": author.s2_id,
                "created_at": now,
            }
        )
        ships.append(
            {
                "paper_id": paper_id,
                "position": len(ships),
                "author_id": author_id,
                "name": name,
                "affiliations": list(author.affiliations),
                "origin": origin,
            }
        )
    return authors, ships


def _write_authorships(
    connection: Connection, author_lists: dict[str, tuple[PaperRecord, list]], stored: set[str], now: datetime
) -> None:
    if not author_lists:
        return
    existing = reads.get_authorship_names(connection, [pid for pid in author_lists if pid in stored])
    all_authors: list[Row] = []
    all_ships: list[Row] = []
    replace: list[str] = []
    for paper_id, (record, listed) in author_lists.items():
        before = existing.get(paper_id)
        if before and record.authors_truncated:
            # Two pages can show the same truncated card; each page's owner stays an author.
            keys = {normalise_person_name(a.name) for a, _ in listed}
            listed = listed + [
                (AuthorRecord(name=s["name"]), "page_owner")
                for s in before
                if s["origin"] == "page_owner" and normalise_person_name(s["name"]) not in keys
            ]
        authors, ships = _author_rows(listed, paper_id, now)
        if before is not None and [
            (s["author_id"], s["name"], s["affiliations"], s["origin"]) for s in before
        ] == [(s["author_id"], s["name"], s["affiliations"], s["origin"]) for s in ships]:
            continue
        if before is not None:
            replace.append(paper_id)
        all_authors.extend(authors)
        all_ships.extend(ships)
    writes.upsert_authors(connection, all_authors)
    writes.replace_authorships(connection, replace, all_ships)


def _write_side_tables(
    connection: Connection,
    landed: list[_Landed],
    stored: set[str],
    run_id: int | None,
    now: datetime,
    counts: Counter[str],
) -> None:
    with_counts = {
        x.paper_id
        for x in landed
        if x.news
        and x.paper_id in stored
        and (x.record.cited_by_count is not None or x.record.upvotes is not None)
    }
    latest_obs = reads.get_latest_observations(connection, sorted(with_counts)) if with_counts else {}
    sources: list[Row] = []
    external_rows: list[Row] = []
    code_rows: list[Row] = []
    org_rows: list[Row] = []
    org_links: list[Row] = []
    edges: list[Row] = []
    yearly: list[Row] = []
    observations: list[Row] = []
    for x in landed:
        record, row, paper_id = x.record, x.row, x.paper_id
        if not x.news:
            continue
        sources.append(
            {
                "paper_id": paper_id,
                "source": record.source,
                "source_key": record.source_key,
                "record_hash": x.said_hash,
                "first_seen": now,
                "run_id": run_id,
                "record": x.said,
            }
        )
        external_rows.extend({"scheme": s, "value": v, "paper_id": paper_id} for s, v in x.external)
        text_urls = set(row["code_urls"]) - set(record.code_urls)
        code_rows.extend(
            {
                "paper_id": paper_id,
                "url": url,
                "origin": "text" if url in text_urls else f"{record.source} metadata",
            }
            for url in row["code_urls"]
        )
        for slug in row["orgs"]:
            org_rows.append({"id": slug, "name": slug})
            org_links.append({"paper_id": paper_id, "org_id": slug})
        for author in record.authors:
            for institution in author.affiliations:
                # Institutions named in affiliations, keyed by their folded name.
                key = "inst:" + normalise_person_name(institution).replace(" ", "-")
                if len(key) > 5:
                    org_rows.append({"id": key[:255], "name": institution})
                    org_links.append({"paper_id": paper_id, "org_id": key[:255]})
        edges.extend(
            {
                "citing_id": paper_id,
                "cited_scheme": scheme,
                "cited_value": value,
                "cited_id": None,
                "source": record.source,
            }
            for scheme, value in record.references
        )
        yearly.extend(
            {"paper_id": paper_id, "source": record.source, "year": int(year), "count": int(n)}
            for year, n in record.counts_by_year.items()
        )
        if record.cited_by_count is not None or record.upvotes is not None:
            last = latest_obs.get((paper_id, record.source))
            if last is None or (last["cited_by_count"], last["upvotes"]) != (
                record.cited_by_count,
                record.upvotes,
            ):
                observation = {
                    "paper_id": paper_id,
                    "source": record.source,
                    "observed_at": datetime.combine(record.observed_on, time(0, 0), tzinfo=UTC)
                    if record.observed_on else now,
                    "dated_by": "source" if record.observed_on else None,
                    "run_id": run_id,
                    "cited_by_count": record.cited_by_count,
                    "upvotes": record.upvotes,
                }
                observations.append(observation)
                latest_obs[(paper_id, record.source)] = observation
    writes.insert_paper_sources(connection, sources)
    writes.upsert_external_ids(connection, external_rows)
    writes.upsert_code_links(connection, code_rows)
    writes.upsert_organisations(connection, org_rows, org_links)
    counts["citation_edges"] += writes.upsert_citations(connection, edges)
    writes.upsert_citation_counts(connection, yearly)
    counts["observations"] += writes.insert_observations(connection, observations)


def _write_profiles(connection: Connection, profiles: list[AuthorProfileRecord], now: datetime) -> int:
    authors: list[Row] = []
    reports: list[Row] = []
    for p in profiles:
        try:
            author_id = author_id_for(p.name, p.orcid, p.openalex_id, p.s2_id)
        except InvalidId:
            continue
        authors.append(
            {
                "id": author_id,
                "name": p.name,
                "name_key": normalise_person_name(p.name),
                "orcid": p.orcid,
                "openalex_id": p.openalex_id,
                "s2_id": p.s2_id,
                "created_at": now,
            }
        )
        reports.append(
            {
                "source": p.source,
                "source_key": p.source_key,
                "author_id": author_id,
                "name": p.name,
                "field": short_tag(p.field),
                "h_index": p.h_index,
                "i10_index": p.i10_index,
                "paper_count": p.paper_count,
                "citation_count": p.citation_count,
                "novelty": p.novelty,
                "ai_score": p.ai_score,
                "counts_by_year": {str(k): v for k, v in p.counts_by_year.items()},
                "as_of": p.as_of,
                "seen_at": now,
            }
        )
    writes.upsert_authors(connection, authors)
    return writes.upsert_author_reports(connection, reports)
