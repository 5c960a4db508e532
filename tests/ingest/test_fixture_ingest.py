"""Ingesting every listing and recorded fixture: one paper per work, cards reproduced, idempotent.

Runs on SQLite and PostgreSQL (the `loaded` fixture is parametrised over both backends).
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import orjson
from sqlalchemy import func, select

from paperscope.core.ids import normalise_person_name, normalise_title
from paperscope.services.demo import LISTING_SAVED_ON
from paperscope.services.papers import export_papers
from paperscope.sources import listing
from paperscope.store import queries, schema
from tests.ingest.conftest import ingest_everything

DUPLICATED_ON_BOTH_AUTHOR_PAGES = [
    "Understanding Robust Overfitting of Adversarial Training and Beyond",
    "Harnessing Out-Of-Distribution Examples via Augmenting Content and Style",
    "Robust Generalization against Photon-Limited Corruptions via Worst-Case Sharpness Minimization",
    "Robust Weight Perturbation for Adversarial Training",
]


def _export(engine) -> list[dict]:
    out = io.StringIO()
    export_papers(engine, "jsonl", out)
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_every_source_ran_to_completion(loaded):
    engine, summaries = loaded
    assert [s.status for s in summaries] == ["done"] * len(summaries)
    by_source = Counter()
    for s in summaries:
        by_source[s.source] += s.counts["papers_new"]
    # Every source contributed papers of its own.
    for source in ("listing", "arxiv_api", "arxiv_oai", "arxiv_snapshot", "openalex", "s2", "hf", "aan"):
        assert by_source[source] > 0, source
    with engine.connect() as connection:
        counts = queries.table_counts(connection)
    assert counts["papers"] > 25_000
    assert counts["authorships"] > counts["papers"]
    assert counts["author_reports"] >= 3  # the listing header, OpenAlex and S2 authors


def test_one_paper_per_distinct_work(loaded):
    engine, _ = loaded
    p = schema.papers
    with engine.connect() as connection:
        for column in (p.c.arxiv_id, p.c.doi, p.c.openalex_id, p.c.s2_id):
            duplicated = connection.execute(
                select(column, func.count())
                .where(column.is_not(None))
                .group_by(column)
                .having(func.count() > 1)
            ).all()
            assert duplicated == [], f"{column.name} shared by several papers: {duplicated[:5]}"
        rows = connection.execute(select(p.c.id, p.c.title_key, p.c.year)).all()
    years_by_title: dict[str, list[int | None]] = {}
    for _id, key, year in rows:
        years_by_title.setdefault(key, []).append(year)
    for key, years in years_by_title.items():
        known = sorted(y for y in years if y is not None)
        if len(years) > 1:
            # Same title twice is only allowed for works years apart (e.g. a workshop and a journal).
            assert None not in years and all(b - a > 1 for a, b in zip(known, known[1:], strict=False)), key


def test_cards_on_two_author_pages_are_one_paper_with_both_owners(loaded):
    engine, _ = loaded
    for title in DUPLICATED_ON_BOTH_AUTHOR_PAGES:
        with engine.connect() as connection:
            ids = (
                connection.execute(
                    select(schema.papers.c.id).where(schema.papers.c.title_key == normalise_title(title))
                )
                .scalars()
                .all()
            )
            assert len(ids) == 1, title
            names = (
                connection.execute(
                    select(schema.authorships.c.name).where(schema.authorships.c.paper_id == ids[0])
                )
                .scalars()
                .all()
            )
        keys = {normalise_person_name(n) for n in names}
        assert {"bo han", "li shen"} <= keys, (title, names)


def test_export_reproduces_every_listing_card(loaded, listings_dir):
    engine, _ = loaded
    exported = {normalise_title(p["title"]): p for p in _export(engine)}
    checked = 0
    for page_file in sorted(listings_dir.glob("*.txt")):
        page = listing.parse_listing(
            page_file.read_text(encoding="utf-8"),
            source_name=page_file.name,
            as_of=LISTING_SAVED_ON[page_file.name],
        )
        for card in page.records:
            paper = exported[normalise_title(card.title)]
            where = f"{page_file.name}: {card.title}"
            assert paper["title"] == " ".join(card.title.split()), where
            assert paper["abstract"] == (" ".join(card.abstract.split()) if card.abstract else None), where
            assert paper["published"] == (card.published.isoformat() if card.published else None), where
            if card.primary_category:
                assert paper["primary_category"] == card.primary_category, where
            shown = [a.name for a in card.authors]
            assert paper["authors"][: len(shown)] == shown, where
            if card.authors_truncated:
                assert paper["authors_truncated"], where
            if card.author_count is not None:
                assert paper["author_count"] == card.author_count, where
            if card.code_badge:
                assert paper["code_badge"] is True and paper["has_code"] is True, where
            if card.listing_score is not None:
                assert paper["listing_score"] == card.listing_score, where
            assert set(card.orgs) <= set(paper["orgs"]), where
            if card.upvotes is not None:
                assert paper["upvotes"] == card.upvotes, where
            checked += 1
    assert checked == 50 + 50 + 74


def test_listing_header_is_kept_as_reported_values(loaded):
    engine, _ = loaded
    r = schema.author_reports
    with engine.connect() as connection:
        row = connection.execute(select(r).where(r.c.source == "listing")).mappings().one()
    assert (row["name"], row["field"], row["h_index"], row["paper_count"], row["citation_count"]) == (
        "Bo Han",
        "LG",
        87,
        263,
        12368,
    )
    assert (row["novelty"], row["ai_score"]) == (54, 64)


def test_bad_records_are_quarantined_with_source_position_and_reason(loaded):
    engine, _ = loaded
    with engine.connect() as connection:
        rows = queries.list_quarantine(connection, limit=10_000)
    reasons = {(r["source"], r["reason"]) for r in rows}
    # The recorded arXiv error feed (id_list=abc) is kept as a quarantined record with its message.
    assert any(s == "arxiv_api" and "incorrect id format for abc" in reason for s, reason in reasons)
    assert all(r["position"] and r["reason"] for r in rows)


def test_citation_edges_resolve_to_papers(loaded):
    engine, _ = loaded
    c = schema.citations
    with engine.connect() as connection:
        aan_resolved = connection.execute(
            select(func.count()).select_from(c).where(c.c.cited_scheme == "aan", c.c.cited_id.is_not(None))
        ).scalar_one()
        s2_edges = connection.execute(
            select(func.count()).select_from(c).where(c.c.cited_scheme == "s2")
        ).scalar_one()
    # 82,905 AAN edges have a citing paper with metadata; most cited ids are in the metadata too.
    assert aan_resolved > 75_000
    assert s2_edges >= 1000  # the 1,000 papers citing the S2 paper fixture


def test_reingesting_everything_changes_nothing(loaded, shared_dir):
    engine, _ = loaded
    before = _export(engine)
    with engine.connect() as connection:
        counts_before = queries.table_counts(connection)
    again = ingest_everything(engine, shared_dir)
    assert sum(s.counts["papers_new"] + s.counts["papers_updated"] for s in again) == 0
    assert sum(s.counts["observations"] for s in again) == 0
    with engine.connect() as connection:
        counts_after = queries.table_counts(connection)
    counts_before.pop("ingest_runs")
    counts_after.pop("ingest_runs")
    assert counts_after == counts_before
    assert _export(engine) == before


def test_dates_resolve_against_the_day_the_page_was_saved():
    assert listing.resolve_date("May", 30, None, date(2026, 11, 30)) == date(2026, 5, 30)
    assert listing.resolve_date("Dec", 13, None, date(2026, 11, 30)) == date(2025, 12, 13)
