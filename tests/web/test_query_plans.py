"""Every list page reads its rows through indexes: no page scans a table that grows with the store.

Each page is requested through the app; the SQL it actually ran is captured from the engine
(SQLAlchemy's `before_cursor_execute`), so the check follows the code rather than a copy of its
queries. Each captured SELECT is then explained with its own parameters: on SQLite by `EXPLAIN
QUERY PLAN` (a `SCAN t` or a `SEARCH t` without an index is a full read of t), on PostgreSQL by
`EXPLAIN` with `enable_seqscan = off`, so a `Seq Scan` left in the plan is one no index could serve.
Small bookkeeping tables (migrations, runs, generations) do not grow with the store and may be scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, event, text

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.services import accounts
from paperscope.services.authors import recompute
from paperscope.services.runtime import Runtime
from paperscope.services.scores import run_scores
from paperscope.services.search import build_indexes
from paperscope.sources.synthetic import write_snapshot
from paperscope.store import users as users_store
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from paperscope.web.app import create_app
from paperscope.web.routes_accounts import SESSION_COOKIE
from tests.conftest import fresh_database
from tests.web.test_http_caching import confirmed_reader

# Tables whose size does not follow the number of papers, authors or users.
BOUNDED = {"alembic_version", "author_runs", "builds", "build_stages", "embedding_generations", "ingest_runs",
           "model_runs"}
PAPERS = 1500


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A synthetic store with scores, author profiles, both search indexes and a user with a library."""
    folder = tmp_path_factory.mktemp(f"plans-{request.param}")
    with fresh_database(request.param, folder) as url:
        engine = open_engine(url)
        upgrade(engine)
        plan = files_plan("snapshot", [write_snapshot(folder / "snapshot.jsonl", PAPERS, seed=11)])
        run_ingest(engine, plan.source, plan.target, plan.batches)
        recompute(engine)
        run_scores(engine, "tfidf", data_dir=folder, min_labelled=20)
        build_indexes(engine, folder, embed=False)
        with engine.connect() as connection:
            papers = [pid for (pid,) in connection.execute(text("SELECT id FROM papers ORDER BY id LIMIT 5"))]
            prolific = connection.execute(text(
                "SELECT identity_id FROM author_metrics ORDER BY papers DESC, identity_id LIMIT 1")).scalar_one()
            word = connection.execute(text("SELECT title FROM papers ORDER BY id LIMIT 1")).scalar_one().split()[-1]
            category = connection.execute(text("SELECT primary_category FROM papers "
                                               "WHERE primary_category IS NOT NULL ORDER BY id LIMIT 1")).scalar_one()
        user = confirmed_reader(engine)
        for pid in papers[:3]:
            accounts.save(engine, user["id"], pid)
        with engine.begin() as connection:  # a citation graph: each paper cites the five before it
            ids = [pid for (pid,) in connection.execute(text("SELECT id FROM papers ORDER BY id"))]
            for pid in ids[::2]:  # upvotes enough that an index on them pays on PostgreSQL too
                users_store.toggle_upvote(connection, user["id"], pid, datetime.now(UTC))
            connection.execute(text(
                "INSERT INTO citations (citing_id, cited_scheme, cited_value, cited_id, source) "
                "VALUES (:citing, 'arxiv', :cited, :cited, 'openalex')"),
                [{"citing": a, "cited": b} for i, a in enumerate(ids) for b in ids[max(0, i - 5):i]])
        if request.param == "postgres":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))  # the planner's statistics, as autovacuum keeps them
        settings = load_settings({"PAPERSCOPE_DATA_DIR": str(folder)})
        app = create_app(Runtime(settings, engine), secret_key="test-secret")
        yield {"engine": engine, "app": app, "paper": papers[-1], "author": prolific, "word": word,
               "category": category, "cookie": accounts.start_session(engine, user), "backend": request.param}
        engine.dispose()


def list_pages(s: dict[str, Any]) -> dict[str, str]:
    author = quote(s["author"], safe=":~")
    return {
        "daily feed": "/",
        "daily feed, trending": "/?sort=trending",
        "weekly feed": "/?period=week",
        "monthly feed (JSON)": "/api/v1/papers?period=month",
        "trending (Atom)": "/feeds/trending.atom",
        "paper page with similar papers": f"/papers/{s['paper']}",
        "most prolific author's cards": f"/authors/{author}",
        "author's cards by citations (JSON)": f"/api/v1/authors/{author}?sort=citations",
        "author lookup": f"/authors?q={quote(s['author'].split(':')[-1][:4])}",
        "keyword search": f"/search?q={quote(s['word'])}",
        "hybrid search (JSON)": f"/api/v1/search?q={quote(s['word'])}&mode=hybrid",
        "library": "/library",
        "recommendations": "/recommended",
        "category page": f"/categories/{s['category']}",
        "category page (JSON), page 2": f"/api/v1/categories/{s['category']}?page=2",
    }


def executed_selects(engine: Engine, client: Any, path: str, cookie: str) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.cookies.set(SESSION_COOKIE, cookie)
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert response.status_code == 200, (path, response.text[:500])
    return seen


def full_reads(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The parts of `statement`'s plan that read a growing table whole."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [row[3] for row in cursor.fetchall()]
            # An index walked in order under a LIMIT stops early, unless a sort must see every row first
            # (a sort of the "RIGHT PART" only orders ties of the index key, group by group).
            stops = " LIMIT " in statement and not any("TEMP B-TREE FOR ORDER BY" in line for line in lines)
            return [line for line in lines
                    if (m := SQLITE_FULL_READ.search(line)) and (m.group(1) or m.group(2)) not in BOUNDED
                    and not (stops and " USING " in line)]
        cursor.execute("SET enable_seqscan = off")
        # On an empty table every index costs the same: which one the planner walks says nothing.
        cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples <= 0")
        empty = {name for (name,) in cursor.fetchall()}
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        found = postgres_full_reads(cursor.fetchone()[0][0]["Plan"], empty)
        if found:  # the whole plan, as text, to read beside the finding
            cursor.execute("EXPLAIN " + statement, parameters)
            found.append("\n".join(row[0] for row in cursor.fetchall()))
        return found
    finally:
        raw.rollback()
        raw.close()


# SCAN t [USING INDEX i] reads every row (or index entry) of t; SEARCH t without USING does the same.
SQLITE_FULL_READ = re.compile(r"^(?:SCAN (\w+)|SEARCH (\w+)(?!\w| USING))")


WALKS = ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")


def postgres_full_reads(node: dict[str, Any], empty: set[str], limited: bool = False) -> list[str]:
    """Scans of a growing table without an index condition: a sequential scan (left although
    enable_seqscan is off: no index serves it), or a whole index of a table with rows walked, unless
    a Limit stops the walk."""
    kind = node["Node Type"]
    found = []
    relation = node.get("Relation Name")
    if relation and relation not in BOUNDED:
        bounded_by_index = "Index Cond" in node or "Recheck Cond" in node
        if kind == "Seq Scan" or (kind in WALKS and not bounded_by_index and not limited
                                  and relation not in empty):
            found.append(f"{kind} on {relation}")
    # A Limit stops what runs under it, except below a node that must read all its input first.
    limited = kind == "Limit" or (limited and kind not in ("Sort", "Aggregate", "Hash", "Materialize"))
    for child in node.get("Plans", []):
        found.extend(postgres_full_reads(child, empty, limited))
    return found


def test_no_list_page_scans_a_growing_table(store: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    engine = store["engine"]
    problems = []
    with TestClient(store["app"], follow_redirects=False) as client:
        for name, path in list_pages(store).items():
            selects = executed_selects(engine, client, path, store["cookie"])
            assert selects, f"{name}: no query captured"
            for statement, parameters in selects:
                for line in full_reads(engine, statement, parameters):
                    problems.append(f"{name} ({path}): {line}\n    {' '.join(statement.split())[:400]}")
    assert not problems, f"{store['backend']}: pages read whole tables:\n" + "\n".join(problems)


def test_the_plan_check_sees_a_full_read(store: dict[str, Any]) -> None:
    """The detector itself: a filter on an unindexed column is reported, an indexed lookup is not."""
    engine = store["engine"]
    placeholder = "?" if engine.dialect.name == "sqlite" else "%(v)s"
    value: Any = ("x",) if engine.dialect.name == "sqlite" else {"v": "x"}
    assert full_reads(engine, f"SELECT id FROM papers WHERE comments = {placeholder}", value)
    assert full_reads(engine, "SELECT paper_id FROM paper_upvotes ORDER BY paper_id", ())
    assert not full_reads(engine, f"SELECT id FROM papers WHERE id = {placeholder}", value)
    assert not full_reads(engine, f"SELECT id FROM papers WHERE title_key = {placeholder}", value)
    assert not full_reads(engine, "SELECT id FROM papers ORDER BY published DESC LIMIT 5", ())
