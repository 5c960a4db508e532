"""Search, similar papers, feeds and trending on a store of the listings and the Hugging Face daily
papers fixture, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from paperscope.index.lexical import is_pasted_text
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services import search
from paperscope.services.cards import build_cards
from paperscope.services.demo import listing_plans
from paperscope.services.search import Searcher, SearchFilter
from paperscope.store import schema
from paperscope.store.scores_schema import paper_scores
from tests.conftest import BACKENDS

ERASE = "title:1be212fcf127"  # ERASE: Error-Resilient Representation Learning on Graphs for Label Noise ...
DEEPINCEPTION = "title:67f939ca2797"  # DeepInception: Hypnotize Large Language Model to Be Jailbreaker
ERASE_ABSTRACT_START = (
    "Deep learning has achieved remarkable success in graph-related tasks, yet this accomplishment heavily "
    "relies on large-scale high-quality annotated datasets. However, acquiring such datasets can be "
    "cost-prohibitive, leading to the practical use of labels obtained from economically efficient sources "
    "such as web searches and user tags."
)


def _fill(engine: Engine, shared_dir: Path) -> None:
    plans = listing_plans(shared_dir) + [files_plan("hf", [shared_dir / "fixtures" / "hf_daily_papers"])]
    for plan in plans:
        run_ingest(engine, plan.source, plan.target, plan.batches)


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(schema.papers)).scalar_one()


@BACKENDS
def test_search_modes_filters_sorts_similar_and_incremental_indexes(
    engine: Engine, shared_dir: Path, tmp_path: Path
) -> None:
    _fill(engine, shared_dir)
    papers = _count(engine)
    assert papers == 203
    built = search.build_indexes(engine, tmp_path, "tfidf")
    assert built.lexical.docs == papers and built.lexical.indexed == papers
    assert built.vectors is not None and built.vectors.count == papers and built.vectors.added == papers
    assert (tmp_path / "index" / "lexical" / "state.json").is_file()
    assert (tmp_path / "index" / "vectors" / "hnsw.bin").is_file()
    s = Searcher(engine, tmp_path)

    # Keyword: BM25, field queries, phrases; every hit says which terms matched where.
    hits = s.search("jailbreak", "keyword").hits
    assert hits[0].paper_id == DEEPINCEPTION
    assert any("jailbreak" in reason for reason in hits[0].why)
    assert s.search('title:"label noise tolerance"', "keyword").hits[0].paper_id == ERASE
    assert s.search("title:ERASE", "keyword").hits[0].paper_id == ERASE
    assert s.search('"hypnotize large language model"', "keyword").hits[0].paper_id == DEEPINCEPTION
    assert s.search("title:zzzunknownword", "keyword").hits == []

    # Semantic: a pasted abstract finds its paper; hybrid fuses both with both ranks shown.
    semantic = s.search(ERASE_ABSTRACT_START, "semantic").hits
    assert semantic[0].paper_id == ERASE and semantic[0].similarity > 0.5
    hybrid = s.search(ERASE_ABSTRACT_START).hits
    assert hybrid[0].paper_id == ERASE
    assert hybrid[0].keyword_rank is not None and hybrid[0].semantic_rank is not None
    assert [h.rank for h in hybrid] == list(range(1, len(hybrid) + 1))
    # With TF-IDF vectors a pasted abstract keeps the keyword-led fusion (MiniLM's: test_generations.py).
    assert is_pasted_text(ERASE_ABSTRACT_START) and not s.dense_leads()
    assert s.related_weights() == search.RRF_WEIGHTS
    for h in hybrid:
        expected = sum(search.RRF_WEIGHTS[name] / (search.RRF_K + rank) for name, rank in
                       (("semantic", h.semantic_rank), ("keyword", h.keyword_rank)) if rank is not None)
        assert h.score == pytest.approx(expected, abs=1e-6)
    typed = s.search("noisy labels", limit=3).hits[0]  # typed keywords keep the judged set's weights
    assert typed.score == pytest.approx(sum(search.RRF_WEIGHTS[name] / (search.RRF_K + rank) for name, rank in
                                            (("semantic", typed.semantic_rank), ("keyword", typed.keyword_rank))
                                            if rank is not None), abs=1e-6)
    assert s.search("noisy labels", limit=3, offset=3).hits[0].rank == 4

    # Filters apply in every mode, checked against the store's own values.
    with engine.connect() as connection:
        p = schema.papers
        facts = {r.id: r for r in connection.execute(select(p.c.id, p.c.primary_category, p.c.published,
                                                            p.c.has_code))}
    topic = "robust training of language models with noisy labels"
    for mode in search.MODES:
        lg = s.search(topic, mode, SearchFilter(category="cs.LG"), limit=20).hits
        assert lg and all(facts[h.paper_id].primary_category == "LG" for h in lg), mode
        window = SearchFilter(since=date(2024, 1, 1), until=date(2024, 12, 31))
        dated = s.search(topic, mode, window, limit=20).hits
        assert dated and all(date(2024, 1, 1) <= _d(facts[h.paper_id].published) <= date(2024, 12, 31)
                             for h in dated), mode
        code = s.search(topic, mode, SearchFilter(has_code=True), limit=20).hits
        assert code and all(facts[h.paper_id].has_code for h in code), mode
        nocode = s.search(topic, mode, SearchFilter(has_code=False), limit=20).hits
        assert nocode and not any(facts[h.paper_id].has_code for h in nocode), mode

    # Author filter: a name matched on its normalised key, in the store.
    with engine.connect() as connection:
        s_ = schema.authorships
        name, paper_id = connection.execute(
            select(s_.c.name, s_.c.paper_id).where(s_.c.origin == "source").order_by(s_.c.paper_id).limit(1)
        ).one()
    for mode in search.MODES:
        result = s.search(topic, mode, SearchFilter(author=name.upper()), limit=50)
        by_author = result.hits
        if mode == "semantic" and not by_author:  # the author's papers are all unrelated to the topic
            assert any(f"below similarity {search.MIN_SIMILARITY:g} left out" in n for n in result.notes)
            continue
        with engine.connect() as connection:
            listed = {(pid, n.upper()) for pid, n in connection.execute(select(s_.c.paper_id, s_.c.name).where(
                s_.c.paper_id.in_([h.paper_id for h in by_author])))}
        assert by_author and all((h.paper_id, name.upper()) in listed for h in by_author), mode

    # Minimum AI Score: scores written for two papers only.
    with engine.begin() as connection:
        connection.execute(insert(paper_scores), [
            {"paper_id": ERASE, "ai_score": 80.0, "computed_at": datetime.now(UTC)},
            {"paper_id": DEEPINCEPTION, "ai_score": 20.0, "computed_at": datetime.now(UTC)},
        ])
    for mode in search.MODES:
        scored = s.search("learning language graphs labels", mode, SearchFilter(min_score=50), limit=10).hits
        assert [h.paper_id for h in scored] == [ERASE], mode
        assert build_cards(engine, [scored[0].paper_id])[0].ai_score == 80.0

    # Sorts reorder the relevant matches by date, AI Score, citations.
    by_date = s.search(topic, "keyword", sort="date", limit=30).hits
    days = [facts[h.paper_id].published for h in by_date if facts[h.paper_id].published]
    assert days == sorted(days, reverse=True) and len(days) >= 20
    by_score = s.search("learning language graphs labels", "hybrid", sort="score", limit=3).hits
    assert [h.paper_id for h in by_score[:2]] == [ERASE, DEEPINCEPTION]
    with pytest.raises(ValueError):
        s.search("x", "fuzzy")

    # Similar papers: nearest by embedding fused with BM25 over all the paper's terms, each with its
    # similarity, its ranks and the terms it shares.
    paper, similar = s.similar(ERASE, limit=5)
    assert paper["id"] == ERASE and len(similar) == 5
    assert ERASE not in [h.paper_id for h in similar]
    assert all(h.why[0].startswith("cosine similarity") and h.similarity is not None for h in similar)
    fused = [h.score for h in similar]
    assert fused == sorted(fused, reverse=True) and [h.rank for h in similar] == [1, 2, 3, 4, 5]
    for h in similar:  # each fused score is the weighted reciprocal ranks it came with
        expected = sum(s.related_weights()[name] / (search.RRF_K + rank) for name, rank in
                       (("semantic", h.semantic_rank), ("keyword", h.keyword_rank)) if rank is not None)
        assert h.score == pytest.approx(expected, abs=1e-6)
    assert any(h.keyword_rank is not None for h in similar)
    first_dense = min((h for h in similar if h.semantic_rank is not None), key=lambda h: h.semantic_rank)
    assert first_dense.similarity == max(h.similarity for h in similar if h.semantic_rank is not None)
    assert any("shared terms:" in " ".join(h.why) and "noisy" in " ".join(h.why) for h in similar)
    with pytest.raises(LookupError):
        s.similar("arXiv:0000.00000")

    # A server's parent opens the semantic index once; its workers' searchers use that copy while
    # the index is unchanged, and open the new one after an update.
    preloaded = search.preload_vectors(tmp_path)
    assert preloaded is not None and Searcher(engine, tmp_path).vectors is preloaded
    assert search.preload_vectors(tmp_path / "nothing-here") is None
    assert "tantivy" in search.preload_libraries()

    # Incremental: nothing changed, nothing re-indexed; a changed title is re-indexed alone.
    again = search.build_indexes(engine, tmp_path, "tfidf")
    assert again.lexical.indexed == 0 and not again.lexical.rebuilt
    assert again.vectors is not None and again.vectors.added == 0 and again.vectors.replaced == 0
    assert again.embedded == 0
    with engine.begin() as connection:
        connection.execute(
            update(schema.papers).where(schema.papers.c.id == DEEPINCEPTION).values(
                title="DeepInception: Hypnotize Large Language Model to Be Quixotically Jailbroken",
                updated_at=datetime.now(UTC) + timedelta(seconds=1),
            )
        )
    third = search.build_indexes(engine, tmp_path, "tfidf")
    assert third.lexical.indexed == 1 and third.lexical.docs == papers
    assert third.embedded == 1
    assert third.vectors is not None and third.vectors.replaced == 1 and third.vectors.count == papers
    fresh = Searcher(engine, tmp_path)
    assert fresh.vectors is not preloaded and len(fresh.vectors) == papers
    assert [h.paper_id for h in fresh.search("quixotically", "keyword").hits] == [DEEPINCEPTION]

    # A rebuild from scratch gives the same results.
    rebuilt = search.build_indexes(engine, tmp_path, "tfidf", rebuild=True)
    assert rebuilt.lexical.rebuilt and rebuilt.lexical.docs == papers
    assert Searcher(engine, tmp_path).search("jailbreak", "keyword").hits[0].paper_id == DEEPINCEPTION


def _d(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@BACKENDS
def test_feeds_by_featured_day_and_trending(engine: Engine, shared_dir: Path) -> None:
    _fill(engine, shared_dir)
    # The HF daily list featured 30 papers on 2026-06-12: that day's feed, most upvoted first.
    day = search.feed(engine, "day", date(2026, 6, 12), sort="upvotes", limit=50)
    assert day.start == day.end == "2026-06-12"
    assert len(day.items) == 30 and all(i.feed_day == "2026-06-12" for i in day.items)
    top = build_cards(engine, [day.items[0].paper_id])[0]
    assert top.title.startswith("EvoArena") and top.upvotes == 118
    # The ISO week of 2026-06-10 (Mon 8 - Sun 14): the featured papers and those published that week.
    week = search.feed(engine, "week", date(2026, 6, 10), limit=500)
    assert (week.start, week.end) == ("2026-06-08", "2026-06-14")
    assert all("2026-06-08" <= i.feed_day <= "2026-06-14" for i in week.items)
    assert {i.paper_id for i in day.items} <= {i.paper_id for i in week.items}
    days = [i.feed_day for i in week.items]
    assert days == sorted(days, reverse=True)  # newest first
    month = search.feed(engine, "month", date(2026, 6, 20), limit=1000)
    assert (month.start, month.end) == ("2026-06-01", "2026-06-30") and len(month.items) >= len(week.items)
    # Default day: the latest feed day in the store.
    latest = search.feed(engine, "day")
    assert latest.start == "2026-08-03" and len(latest.items) == 3
    lg = search.feed(engine, "month", date(2026, 6, 1), category="LG", limit=1000)
    with engine.connect() as connection:
        cats = dict(connection.execute(select(schema.papers.c.id, schema.papers.c.primary_category)).all())
    assert all(cats[i.paper_id] == "LG" for i in lg.items)

    # Trending: gains with a 3-day half-life. The list's upvotes are dated by the list's day, so a
    # day after it EvoArena's 118 upvotes weigh 118 * 0.5**(1/3); MiniMax then gains 200 more
    # upvotes in a later observation the source dated, and leads.
    as_of = datetime(2026, 6, 13, tzinfo=UTC)
    a_day_later = search.feed(engine, "trending", as_of=as_of + timedelta(days=1), window="day")
    assert a_day_later.items == []  # nothing gained in the day before that moment
    with engine.begin() as connection:
        o = schema.observations
        connection.execute(update(o).values(observed_at=datetime(2026, 6, 12, 12, tzinfo=UTC)))
        connection.execute(insert(o).values(
            paper_id="arXiv:2606.13392", source="hf", observed_at=datetime(2026, 6, 12, 18, tzinfo=UTC),
            upvotes=303, dated_by="source",
        ))
    trending = search.feed(engine, "trending", as_of=as_of, limit=5)
    first = trending.items[0]
    assert first.paper_id == "arXiv:2606.13392"
    expected = 103 * 0.5 ** (1 / 3) + 200 * 0.5 ** (0.25 / 3)
    assert first.trending == pytest.approx(expected, rel=1e-6)
    second = trending.items[1]
    assert build_cards(engine, [second.paper_id])[0].title.startswith("EvoArena")
    assert second.trending == pytest.approx(118 * 0.5 ** (1 / 3))
    assert "half-life 3 days" in first.why[0]
    # The day's feed sorted by trending agrees.
    by_trend = search.feed(engine, "day", date(2026, 6, 12), sort="trending", as_of=as_of, limit=3)
    assert [i.paper_id for i in by_trend.items[:2]] == [first.paper_id, second.paper_id]


def test_trending_formula() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)

    def obs(pid: str, source: str, when: datetime, upvotes=None, cites=None, featured=None, published=None,
            dated_by="source"):
        return {"paper_id": pid, "source": source, "observed_at": when, "upvotes": upvotes,
                "cited_by_count": cites, "featured_on": featured, "published": published, "dated_by": dated_by}

    rows = [
        # Featured three days ago with 40 upvotes: half of them count.
        obs("a", "hf", now - timedelta(days=1), upvotes=40, featured=date(2026, 1, 7)),
        # Old paper: 1,000 citations at first sight (published long ago: ~0), 6 new ones today.
        obs("b", "s2", now - timedelta(days=6), cites=1000, published=date(2020, 1, 1)),
        obs("b", "s2", now, cites=1006, published=date(2020, 1, 1)),
        # Two sources reporting the same counter: counted once (the larger).
        obs("c", "hf", now, upvotes=10, featured=date(2026, 1, 10)),
        obs("c", "listing", now, upvotes=12, featured=date(2026, 1, 10)),
        # No day known: the first sighting's count is not a recent gain.
        obs("d", "s2", now, cites=50),
        # A drop (a source correcting itself) is no negative gain.
        obs("e", "s2", now - timedelta(days=3), cites=10, published=date(2026, 1, 7)),
        obs("e", "s2", now, cites=7, published=date(2026, 1, 7)),
        # A count dated only by its ingest: a baseline, never a gain (when it grew is unknown).
        obs("f", "s2", now - timedelta(days=6), cites=1000, published=date(1950, 1, 1), dated_by=None),
        obs("f", "s2", now, cites=1400, published=date(1950, 1, 1), dated_by=None),
        # Two sources disagreeing on a count: each series alone, no gain between them.
        obs("g", "openalex", now - timedelta(days=1), cites=900, published=date(1950, 1, 1)),
        obs("g", "s2", now, cites=1300, published=date(1950, 1, 1)),
    ]
    scores = search.trending_scores(rows, now)
    assert scores["a"]["trending"] == pytest.approx(20.0)
    assert scores["b"]["citations"] == pytest.approx(6.0, rel=1e-3)
    assert scores["b"]["trending"] == pytest.approx(search.CITATION_WEIGHT * 6.0, rel=1e-3)
    assert scores["c"]["trending"] == pytest.approx(12.0)
    assert scores["d"]["trending"] == 0.0
    assert scores["e"]["trending"] == pytest.approx(search.CITATION_WEIGHT * 10 * 0.5)
    assert scores["f"]["trending"] == 0.0
    assert scores["g"]["trending"] < 1e-100
    # A window counts only the gains dated inside it, and says how many there were.
    week = search.trending_scores(rows, now, window_days=7)
    assert week["b"]["citations_gained"] == 6 and week["a"]["upvotes_gained"] == 40
    day = search.trending_scores(rows, now, window_days=1)
    assert day["a"]["trending"] == 0.0 and day["b"]["citations_gained"] == 6
    # As of a moment before the later observations, only what was seen by then counts.
    early = search.trending_scores(rows, now - timedelta(days=2))
    assert early["b"]["citations"] < 1e-100  # its 1,000 citations date from 2020
    assert "c" not in early or early["c"]["trending"] == 0.0


def test_period_windows() -> None:
    assert search.period_window("day", date(2026, 2, 28)) == (date(2026, 2, 28), date(2026, 2, 28))
    assert search.period_window("week", date(2026, 3, 1)) == (date(2026, 2, 23), date(2026, 3, 1))
    assert search.period_window("month", date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert search.period_window("month", date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))


def test_ndcg() -> None:
    rel = {"a": 2, "b": 1}
    assert search.ndcg_at_k(["a", "b", "c"], rel) == pytest.approx(1.0)
    assert search.ndcg_at_k(["c", "d"], rel) == 0.0
    swapped = search.ndcg_at_k(["b", "a"], rel)
    assert swapped == pytest.approx((1 + 3 / 1.5849625) / (3 + 1 / 1.5849625))


def test_query_encoder_matches_the_embedder() -> None:
    from paperscope.analytics.embedders import TfidfSvdEmbedder

    texts = [f"paper {i} about graph neural networks and noisy labels topic{i % 7}" for i in range(60)]
    embedder = TfidfSvdEmbedder(dim=16).fit(texts)
    encode = search.query_encoder(embedder)
    for query in ("graph networks", "noisy labels topic3", "nothing known here"):
        expected = embedder.embed([query])[0]
        assert encode(query) == pytest.approx(expected, abs=1e-5)
