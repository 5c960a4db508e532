"""Text no backend may refuse, and records one backend does refuse, never cost a batch.

NUL and other control characters are cleaned at normalisation, so SQLite and PostgreSQL store the
same values; a record the database still refuses is quarantined with the reason, and the rest of
its batch goes in. Links from sources are kept only when they are http(s).
"""

from __future__ import annotations

import orjson
from sqlalchemy import select

from paperscope.core.cleaning import clean_text, unsafe_link_reason
from paperscope.core.records import AuthorRecord, Batch, PaperRecord
from paperscope.ingest.pipeline import run_ingest
from paperscope.services.papers import export_papers
from paperscope.sources.arxiv_snapshot import parse_snapshot_line
from paperscope.store import schema
from tests.conftest import BACKENDS


def _line(arxiv_id: str, title: str, abstract: str = "An abstract.") -> bytes:
    return orjson.dumps({
        "id": arxiv_id, "title": title, "abstract": abstract, "authors_parsed": [["Doe", "Jane", ""]],
        "categories": "cs.LG", "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
    })


def _ingest(engine, records, source="arxiv_snapshot"):
    return run_ingest(engine, source, "test", lambda cursor: iter([Batch(records, None, "test batch")]))


def _stored(engine):
    with engine.connect() as connection:
        papers = {r.arxiv_id: r for r in connection.execute(select(schema.papers))}
        quarantine = connection.execute(select(schema.quarantine)).mappings().all()
    return papers, quarantine


def test_clean_text_removes_controls_keeps_layout_and_repairs_surrogates():
    assert clean_text("a\x00b\x07c\x1bd\x7fe\x85f") == "abcdef"
    assert clean_text("line\tone\nline two\r") == "line\tone\nline two\r"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("ordinary text, ünïcödé — 数学") == "ordinary text, ünïcödé — 数学"


@BACKENDS
def test_nul_in_title_and_abstract_is_stored_cleaned_on_both_backends(engine):
    lines = [_line(f"0704.{n:04d}", f"Paper {n}") for n in range(1, 5)]
    lines.append(_line("0704.0099", "Null\u0000 title \u0007here", "Abstract with a NUL \u0000 inside"))
    records = [parse_snapshot_line(line, f"f:{i}") for i, line in enumerate(lines, 1)]
    summary = _ingest(engine, records)
    assert summary.status == "done"
    papers, quarantine = _stored(engine)
    assert len(papers) == 5 and quarantine == []
    assert papers["0704.0099"].title == "Null title here"
    assert papers["0704.0099"].abstract == "Abstract with a NUL inside"
    with engine.connect() as connection:
        said = connection.execute(select(schema.paper_sources.c.record)).scalars().all()
    assert all("\x00" not in orjson.dumps(s).decode() for s in said)


@BACKENDS
def test_nul_in_author_names_and_quarantined_raw_text(engine):
    good = PaperRecord("s2", "k1", "A title", authors=[AuthorRecord("Ja\u0000ne Doe", ["Uni\u0000 of X"])])
    broken = parse_snapshot_line(b'{"id": "0704.0001", "title": "broken \\u0000', "f:2")
    summary = _ingest(engine, [good, broken])
    assert summary.status == "done"
    with engine.connect() as connection:
        names = connection.execute(select(schema.authorships.c.name)).scalars().all()
        raw = connection.execute(select(schema.quarantine.c.raw)).scalars().all()
    assert names == ["Jane Doe"]
    assert len(raw) == 1 and "\x00" not in raw[0]


@BACKENDS
def test_a_record_the_store_refuses_is_quarantined_and_the_batch_goes_in(engine, database_url):
    # An ORCID longer than its column: PostgreSQL refuses the record, SQLite stores it.
    records = [PaperRecord("s2", f"k{n}", f"Good paper {n}", doi=f"10.1234/{n}") for n in range(6)]
    records.insert(3, PaperRecord("s2", "too-long", "Refused paper", doi="10.1234/x",
                                  authors=[AuthorRecord("Jane Doe", orcid="0" * 300)]))
    summary = _ingest(engine, records, source="s2")
    assert summary.status == "done"
    with engine.connect() as connection:
        dois = set(connection.execute(select(schema.papers.c.doi)).scalars())
        quarantine = connection.execute(select(schema.quarantine)).mappings().all()
    assert {f"10.1234/{n}" for n in range(6)} <= dois
    if database_url.startswith("postgresql"):
        assert "10.1234/x" not in dois
        assert [(q["position"], q["reason"].split(":")[0]) for q in quarantine] == [
            ("too-long", "the store refused the record")
        ]
        assert summary.counts["refused_by_store"] == 1
    else:
        assert "10.1234/x" in dois and quarantine == []
    # A second run finds nothing left to do: the refused record does not block the cursor.
    assert _ingest(engine, records, source="s2").status == "done"


def test_unsafe_link_reasons():
    assert unsafe_link_reason("https://github.com/a/b") is None
    assert unsafe_link_reason("HTTP://example.org/x") is None
    assert "javascript:" in unsafe_link_reason("javascript:alert(1)")
    assert "data:" in unsafe_link_reason("data:text/html,<script>alert(1)</script>")
    assert unsafe_link_reason("  JaVaScRiPt:alert(1)") is not None
    assert unsafe_link_reason("//evil.example/x") is not None
    assert unsafe_link_reason("https://") == "no host"


@BACKENDS
def test_only_http_links_are_stored_and_exported(engine):
    record = PaperRecord(
        "hf", "2306.00001", "A paper with links", arxiv_id="2306.00001",
        links={"project": "javascript:alert(document.cookie)", "landing": "https://example.org/p"},
        code_urls=["data:text/html,<script>alert(1)</script>", "https://github.com/a/b"],
    )
    summary = _ingest(engine, [record], source="hf")
    assert summary.status == "done" and summary.counts["fields_dropped"] == 2
    papers, quarantine = _stored(engine)
    paper = papers["2306.00001"]
    assert "project" not in paper.links and paper.links["landing"] == "https://example.org/p"
    assert paper.code_urls == ["https://github.com/a/b"]
    assert sorted(q["position"] for q in quarantine) == ["2306.00001#code_urls[0]", "2306.00001#links.project"]
    assert all(q["reason"].startswith("dropped ") and "not http(s)" in q["reason"] for q in quarantine)
    import io
    out = io.StringIO()
    export_papers(engine, "jsonl", out)
    assert "javascript:" not in out.getvalue() and "data:text" not in out.getvalue()
