"""The bulk snapshot load stores exactly what the record path stores, field by field.

Both paths load the same lines into fresh stores on the same backend; every table they write is
read back and compared, leaving out only the clocks (created_at, first_seen) and run ids. The bulk
load's columnar lane takes the common lines, its per-line lane the odd ones, the record path the
rest: the lines below reach each of them, and the counts say the columnar lane took the bulk.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from paperscope.ingest.bulk import bulk_load, can_bulk_load, load_snapshot, snapshot_target
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.sources.synthetic import iter_snapshot_lines
from paperscope.store import bulk as store_bulk
from paperscope.store import schema
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from tests.conftest import fresh_database

CLOCKS = {"created_at", "updated_at", "first_seen", "run_id", "id_quarantine", "observed_at"}
TABLES = (
    schema.papers, schema.authors, schema.authorships, schema.paper_sources, schema.paper_external_ids,
    schema.code_links, schema.organisations, schema.paper_organisations, schema.citations, schema.quarantine,
)  # fmt: skip


def _value(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def stored(engine: Engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as connection:
        for table in TABLES:
            skip = CLOCKS | ({"id"} if table is schema.quarantine else set())
            columns = [c for c in table.columns if c.name not in skip]
            rows = connection.execute(select(*columns)).all()
            out[table.name] = sorted((tuple(_value(v) for v in row) for row in rows), key=repr)
    return out


def tricky_lines(base: list[dict]) -> list[bytes]:
    """Lines that must leave the fast lane: a repeated id, a repeated title, broken JSON, a control
    character, an impossible date, a missing title; and ordinary ones (non-ASCII, no authors)."""
    a, b, c = base[0], base[1], base[2]
    lines = [
        orjson.dumps({**a, "abstract": "A revised abstract."}),  # same arXiv id as an earlier line
        orjson.dumps({**b, "id": "2401.99001"}),  # same title and year, another id: the record path merges
        b'{"id": "2401.99002", "title": broken',
        orjson.dumps({**c, "id": "2401.99003", "title": "Control \x07character title"}),
        orjson.dumps({**c, "id": "2401.99004", "title": "Dated wrong", "update_date": "1500-01-01"}),
        orjson.dumps({**c, "id": "2401.99005", "title": "   "}),
        orjson.dumps({**c, "id": "2401.99006", "title": "Über Schrödinger’s équations, naïvely",
                      "authors_parsed": [["Müller", "Jürgen", ""], ["O'Neil", "Ann", "Jr"]]}),
        orjson.dumps({**c, "id": "2401.99007", "title": "Nobody wrote this", "authors_parsed": [],
                      "authors": ""}),
        orjson.dumps({**c, "id": "2401.99008", "title": "A report numbered twice", "report-no": "REP-1"}),
        orjson.dumps({**c, "id": "2401.99009", "title": "Another report numbered twice", "report-no": "REP-1"}),
        b"",
        orjson.dumps([1, 2, 3]),
    ]
    return lines + lane_edges(c)


def lane_edges(c: dict) -> list[bytes]:
    """Lines at the edges of the columnar lane: some it takes (escapes, LaTeX, whitespace, code
    links, odd author names), some it leaves to the per-line lane (a field of another JSON type,
    non-ASCII text, a pair instead of a triple, an odd DOI or date); all must store the same values."""
    def line(n: int, **fields: object) -> bytes:
        return orjson.dumps({**c, "id": f"2402.{88000 + n}", "title": f"Edge case {n}", **fields})

    return [
        line(1, title='A "quoted" \\emph{LaTeX} title with $x^2$ and {braces}', comments='see "this" \\ that'),
        line(2, abstract="  Broken\nacross   lines\twith\r\n tabs  ", journal_ref="J. Phys.\n  12 (2020)"),
        line(3, abstract="Code at https://GitHub.com/Org/Repo. and https://huggingface.co/org/model too.",
             comments="Mirror: https://gitlab.com/x/y/ and https://github.com/Org/Repo"),
        line(4, comments="Code: https://github.com/solo/repo"),
        line(5, abstract="A digit, a legitimate colab-free text, github.com alone."),
        line(6, authors_parsed=[["Smith", "J.", ""], ["Doe", "", "Jr."], ["", "", ""], ["--", "", ""],
                                ["Lee", "Ann  Marie", ""], ["  Wu ", "  Li", " "]]),
        line(7, authors_parsed=[["Smith", "J"], ["Doe", "Jane", ""]]),  # a pair: the per-line lane
        line(8, title=5),  # another JSON type: the per-line lane, then the record path
        line(9, doi="10.1234/ABC.def,"),
        line(10, doi="not a doi"),
        line(11, doi="https://doi.org/10.5555/xyz"),
        line(12, versions=[{"version": "v1", "created": "Mon, 30 Feb 2015 12:00:00 GMT"}], update_date="2016-01-01"),
        line(13, versions=[{"version": "v0", "created": "Mon, 2 Feb 2015 12:00:00 GMT"}], update_date="2016-01-01"),
        line(14, versions=[], update_date="2015-03-01"),
        line(15, update_date=None),
        line(16, categories="", license="  "),
        line(17, categories="math.GT  cs.LG", license=" http://arxiv.org/licenses/nonexclusive-distrib/1.0/ "),
        line(18, **{"report-no": "  CERN-TH-2015-001  "}),
        line(19, authors_parsed=[["Ölçer", "Ümit", ""]], abstract="Ünïcödé abstract"),
        line(20, authors_parsed=[["Smith, J", "", ""]]),
        line(21, authors_parsed=[]),
        line(22, id="2402.88022v3"),
        line(23, versions=[{"version": "v2", "created": "Tue, 3 Feb 2015 12:00:00 GMT"}, "not an object"]),
        line(24, versions=[{"version": "v1", "created": "Mon, 2 Feb 2015 12:00:00 GMT"},
                           {"version": "v7", "created": "Mon, 2 Mar 2015 12:00:00 GMT"}], update_date="2016-01-01"),
        line(25, title="x\x0bvertical tab"),
        line(26, title="$$ {} \\\\"),  # a title whose key is empty
        line(27, authors_parsed=[["Smith", "John", ""]], submitter="J"),
        line(28, authors_parsed=[["Smith", "John.", ""]]),  # same author id, another spelling
        line(29, abstract="See \\url{https://github.com/a/b\\_c} for code."),
        line(30, authors_parsed=[["Mishchenko", "A. S.", "", "1 and 2"], ["Doe", "Jane", "", "  "],
                                 ["Roe", "", "", " Oxford "], ["", "", "", ""]]),  # affiliations as a 4th part
        line(31, authors_parsed=[["Biryukov", "V. M.", "", "Serpukhov, IHEP"]]),  # a comma: the per-line lane
        line(32, authors_parsed=[["Cowley", "S. C.", "", "Culham  Lab"]]),  # a double space: the per-line lane
    ]


def load_both(backend: str, tmp: Path, snapshot: Path, batch: int) -> tuple[dict, dict, object]:
    with fresh_database(backend, tmp / "record") as record_url, fresh_database(backend, tmp / "bulk") as bulk_url:
        (tmp / "record").mkdir(exist_ok=True)
        (tmp / "bulk").mkdir(exist_ok=True)
        record_engine, bulk_engine = open_engine(record_url), open_engine(bulk_url)
        upgrade(record_engine)
        upgrade(bulk_engine)
        plan = files_plan("snapshot", [snapshot], batch_size=batch)
        run_ingest(record_engine, plan.source, plan.target, plan.batches)
        summary = bulk_load(bulk_engine, [snapshot], batch_size=batch)
        with bulk_engine.connect() as connection:
            assert store_bulk.missing_secondary_indexes(connection) == []
            assert store_bulk.take_deferred(connection, "arxiv_snapshot", snapshot_target([snapshot]), 10) == []
        expected, got = stored(record_engine), stored(bulk_engine)
        record_engine.dispose()
        bulk_engine.dispose()
    return expected, got, summary


def assert_same(expected: dict, got: dict) -> None:
    for table, rows in expected.items():
        assert len(got[table]) == len(rows), f"{table}: {len(got[table])} rows, the record path stored {len(rows)}"
        for want, have in zip(rows, got[table], strict=True):
            assert have == want, f"{table} differs"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_fixture_snapshot_same_as_record_path(backend: str, fixtures_dir: Path, tmp_path: Path):
    source = next((fixtures_dir / "arxiv_kaggle_snapshot").rglob("*.jsonl"))
    raw = source.read_bytes().splitlines()
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_bytes(b"\n".join(raw + tricky_lines([orjson.loads(x) for x in raw[:3]])) + b"\n")
    expected, got, summary = load_both(backend, tmp_path, snapshot, batch=64)
    assert len(expected["papers"]) > 190
    assert len(expected["quarantine"]) >= 4  # broken JSON, not an object, impossible date, blank title
    assert_same(expected, got)
    assert summary.counts["set_aside"] >= 8  # every tricky line left the fast lane
    assert summary.counts["columnar"] >= 180  # the columnar lane took 9 in 10 of the real lines


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_ten_thousand_synthetic_lines_same_as_record_path(backend: str, tmp_path: Path):
    lines = list(iter_snapshot_lines(10_000, seed=11))
    base = [orjson.loads(x) for x in lines[:3]]
    # Tricky lines in the middle, so lines after them are checked against their keys too.
    lines[5000:5000] = tricky_lines(base)
    snapshot = tmp_path / "snapshot.jsonl"
    snapshot.write_bytes(b"\n".join(lines) + b"\n")
    expected, got, summary = load_both(backend, tmp_path, snapshot, batch=1000)
    assert len(expected["papers"]) > 9_990
    assert_same(expected, got)
    assert summary.counts["papers_new"] > 9_900  # the fast lane took nearly all
    assert summary.counts["columnar"] > 9_900  # and its columnar lane


def test_bulk_only_on_an_empty_store(engine: Engine, tmp_path: Path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    lines = list(iter_snapshot_lines(300, seed=5))
    first.write_bytes(b"\n".join(lines[:200]) + b"\n")
    second.write_bytes(b"\n".join(lines[150:]) + b"\n")
    assert can_bulk_load(engine, snapshot_target([first]))
    assert load_snapshot(engine, [first], batch_size=64).counts["bulk_load"] == 1
    # The store has papers now: a second file goes the record path, which merges the overlap.
    assert not can_bulk_load(engine, snapshot_target([second]))
    summary = load_snapshot(engine, [second], record_batch_size=64)
    assert "bulk_load" not in summary.counts
    assert summary.counts["papers_new"] == 100
    with pytest.raises(ValueError, match="store without papers"):
        bulk_load(engine, [second])
