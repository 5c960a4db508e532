"""One rule for a record repeated inside one input, for every importer (ingest/repeats.py): an exact
repeat is counted and harmless; a repeat that says something else is quarantined with its id, its
place and the fields that differ, and the first occurrence stays as stored.

Each case builds an input from a recorded real response (../shared) with one entry repeated twice
after it: once word for word, once with one field changed. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from paperscope.core.ids import normalise_title
from paperscope.ingest.bulk import bulk_load
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import files_plan
from paperscope.store import schema
from tests.conftest import BACKENDS


@dataclass(frozen=True)
class Case:
    """An input with a repeated entry; what identifies it and what the conflicting copy changed."""

    source: str  # the importer's name for files_plan
    paths: list[Path]
    key: str  # the repeated entry's id, as the reason names it
    position: str  # where the conflicting copy is
    fields: str  # the differing fields, as the reason names them
    check: Callable[[Engine], None]  # the first occurrence's value is what the store keeps


def _title_is(expected: str, **where: str) -> Callable[[Engine], None]:
    def check(engine: Engine) -> None:
        p = schema.papers
        column, value = next(iter(where.items()))
        with engine.connect() as connection:
            titles = connection.execute(select(p.c.title).where(p.c[column] == value)).scalars().all()
        assert titles == [expected]

    return check


def _xml_repeat(data: bytes, tag: bytes, title_tag: bytes) -> tuple[bytes, str]:
    """The document with its first <tag> element repeated twice after the last one: as it is, then
    with its title changed. Returns (document, the original title)."""
    element = re.search(rb"<" + tag + rb"[ >].*?</" + tag + rb">", data, re.S)
    assert element is not None
    first = element.group(0)
    title = re.search(rb"<" + title_tag + rb">(.*?)</" + title_tag + rb">", first, re.S)
    assert title is not None
    changed = first.replace(title.group(0), b"<" + title_tag + b">A conflicting title</" + title_tag + b">", 1)
    at = data.rindex(b"</" + tag + b">") + len(tag) + 3
    return data[:at] + first + b"\n" + changed + b"\n" + data[at:], " ".join(title.group(1).decode().split())


def snapshot_case(fx: Path, tmp: Path) -> Case:
    lines = next((fx / "arxiv_kaggle_snapshot").rglob("*.jsonl")).read_bytes().splitlines()[:3]
    first = orjson.loads(lines[0])
    changed = orjson.dumps({**first, "title": "A conflicting title"})
    path = tmp / "snapshot.jsonl"
    path.write_bytes(b"\n".join([*lines, lines[0], changed]) + b"\n")
    return Case("snapshot", [path], first["id"], f"{path}:5", "title",
                _title_is(" ".join(first["title"].split()), arxiv_id=first["id"]))


def openalex_case(fx: Path, tmp: Path) -> Case:
    page = orjson.loads((fx / "openalex/anapaulagomes_peneira/works_list_page1_per200.json").read_bytes())
    results = page["results"][:3]
    first = results[0]
    changed = {**first, "title": "A conflicting title", "display_name": "A conflicting title"}
    page["results"] = [*results, first, changed]
    path = tmp / "works.json"
    path.write_bytes(orjson.dumps(page))
    key = first["id"].rsplit("/", 1)[-1]
    return Case("openalex", [path], key, f"{path}:results[4]", "title", _title_is(first["title"], openalex_id=key))


def s2_case(fx: Path, tmp: Path) -> Case:
    page = orjson.loads((fx / "semantic_scholar/lucas-m-lopes_sotawhat/semantic_scholar_transformer.json").read_bytes())
    data = page["data"][:3]
    first, second = data[0], data[1]
    # Stubs nested in other records are not records of the file: the second paper appears again as
    # a reference of the first and as a citation of the third, with fewer fields. No quarantine.
    stub = {"paperId": second["paperId"], "title": second["title"]}
    data[0] = {**first, "references": [stub]}
    data[2] = {**data[2], "citations": [stub, {**stub, "title": second["title"] + " (preprint)"}]}
    page["data"] = [*data, data[0], {**data[0], "year": first["year"] - 1}]
    path = tmp / "s2.json"
    path.write_bytes(orjson.dumps(page))
    return Case("s2", [path], first["paperId"], f"{path}:data[4]", "year",
                _title_is(first["title"], s2_id=first["paperId"]))


def hf_case(fx: Path, tmp: Path) -> Case:
    source = next(p for p in sorted((fx / "hf_daily_papers").rglob("*.json")) if p.stat().st_size > 20_000)
    entries = orjson.loads(source.read_bytes())[:3]
    first = entries[0]
    changed = {**first, "paper": {**first["paper"], "upvotes": first["paper"]["upvotes"] + 7}}
    path = tmp / "daily.json"
    path.write_bytes(orjson.dumps([*entries, first, changed]))
    return Case("hf", [path], first["paper"]["id"], f"{path}#4", "upvotes",
                _title_is(" ".join(first["paper"]["title"].split()), arxiv_id=first["paper"]["id"]))


def aan_case(fx: Path, tmp: Path) -> Case:
    release = fx / "citation_graph/aan_acl_anthology_network"
    blocks = release.joinpath("acl-metadata.txt").read_bytes().split(b"\n\n")[:3]
    first = blocks[0].strip(b"\n")
    title = re.search(rb"title = \{(.*)\}", first)
    assert title is not None
    changed = first.replace(title.group(0), b"title = {A conflicting title}")
    folder = tmp / "aan"
    folder.mkdir()
    metadata = folder / "acl-metadata.txt"
    metadata.write_bytes(b"\n\n".join([b.strip(b"\n") for b in blocks] + [first, changed]) + b"\n")
    ids = [re.search(rb"id = \{(.*?)\}", b).group(1) for b in blocks]  # type: ignore[union-attr]
    edges = [e for e in release.joinpath("acl-citations.txt").read_bytes().splitlines()
             if e.split(b" , ")[0] in ids]
    folder.joinpath("acl-citations.txt").write_bytes(b"\n".join(edges) + b"\n")
    lines = metadata.read_bytes().split(b"\n")
    line = len(lines) - lines[::-1].index(first.split(b"\n", 1)[0])  # 1-based: the conflicting copy's id line
    key = ids[0].decode()
    original = title.group(1).decode()
    return Case("aan", [folder], key, f"{metadata}:{line}", "title", _title_is(original, title=original))


def arxiv_api_case(fx: Path, tmp: Path) -> Case:
    data = (fx / "arxiv_api/atom_xml/q_testing_s0_m100_cfe7536492ca.xml").read_bytes()
    doc, title = _xml_repeat(data, b"entry", b"title")
    path = tmp / "feed.xml"
    path.write_bytes(doc)
    n = data.count(b"<entry>")
    entry_id = re.search(rb"<id>http://arxiv.org/abs/(.*?)</id>", data).group(1).decode()  # type: ignore[union-attr]
    return Case("arxiv", [path], entry_id, f"{path}#entry{n + 1}", "title",
                _title_is(title, arxiv_id=entry_id.rsplit("v", 1)[0]))


def oai_case(fx: Path, tmp: Path) -> Case:
    data = (fx / "arxiv_oai/inspirehep_hepcrawl/sample_arxiv_record.xml").read_bytes()
    doc, title = _xml_repeat(data, b"record", b"title")
    path = tmp / "oai.xml"
    path.write_bytes(doc)
    n = len(re.findall(rb"<record>", data))
    identifier = re.search(rb"<identifier>(.*?)</identifier>", data).group(1).decode()  # type: ignore[union-attr]
    return Case("oai", [path], identifier, f"{path}#record{n + 1}", "title",
                _title_is(title, arxiv_id=identifier.rsplit(":", 1)[-1]))


def listing_case(listings: Path, tmp: Path) -> Case:
    text = (listings / "hf-papers-search.txt").read_text(encoding="utf-8")
    entry = re.search(r"\n\n(ERASE:.*?\n·\n[^\n]+\n)", text, re.S)
    assert entry is not None
    block = entry.group(1)
    changed = block.replace("• 8 authors", "• 9 authors")
    assert changed != block
    page = text.rstrip("\n") + "\n\n" + block + "\n" + changed
    path = tmp / "papers.txt"
    path.write_text(page, encoding="utf-8")
    lines = page.split("\n")
    title = block.split("\n", 1)[0]
    line = len(lines) - lines[::-1].index(title)  # 1-based: the conflicting copy's title line
    key = "title " + normalise_title(title)
    return Case("listing", [path], key, f"{path}:{line}", "author_count",
                lambda engine: _author_count_is(engine, title, 8))


def _author_count_is(engine: Engine, title: str, expected: int) -> None:
    p = schema.papers
    with engine.connect() as connection:
        assert connection.execute(select(p.c.author_count).where(p.c.title == title)).scalars().all() == [expected]


CASES = {
    "snapshot": snapshot_case,
    "openalex": openalex_case,
    "s2": s2_case,
    "hf": hf_case,
    "aan": aan_case,
    "arxiv": arxiv_api_case,
    "oai": oai_case,
}


def _repeat_rows(engine: Engine) -> list[dict]:
    q = schema.quarantine
    with engine.connect() as connection:
        rows = connection.execute(select(q.c.source, q.c.position, q.c.reason)).mappings().all()
    return [dict(r) for r in rows if "repeated at" in r["reason"]]


def _assert_rule(engine: Engine, case: Case, counts: dict) -> None:
    assert counts.get("repeats") == 1, counts
    rows = _repeat_rows(engine)
    assert len(rows) == 1, rows
    reason = rows[0]["reason"]
    assert rows[0]["position"] == case.position
    assert reason == (
        f"{case.key}: repeated at {case.position} with different {case.fields}; the first occurrence is kept"
    )
    case.check(engine)
    with engine.connect() as connection:
        p = schema.papers
        assert connection.execute(select(p.c.id).where(p.c.title == "A conflicting title")).all() == []


@BACKENDS
@pytest.mark.parametrize("importer", sorted(CASES))
def test_a_repeat_inside_one_file_keeps_the_first(engine, fixtures_dir, tmp_path, importer) -> None:
    case = CASES[importer](fixtures_dir, tmp_path)
    plan = files_plan(case.source, case.paths)
    summary = run_ingest(engine, plan.source, plan.target, plan.batches)
    _assert_rule(engine, case, summary.counts)
    # Reading the file again changes nothing and quarantines nothing new.
    again = run_ingest(engine, plan.source, plan.target, plan.batches)
    assert again.counts.get("repeats") == 1 and len(_repeat_rows(engine)) == 1
    assert again.counts.get("papers_new", 0) == again.counts.get("papers_updated", 0) == 0


@BACKENDS
def test_a_repeated_listing_card_keeps_the_first(engine, listings_dir, tmp_path) -> None:
    case = listing_case(listings_dir, tmp_path)
    plan = files_plan("listing", case.paths, as_of=date(2025, 11, 12))
    summary = run_ingest(engine, plan.source, plan.target, plan.batches)
    _assert_rule(engine, case, summary.counts)


@BACKENDS
def test_a_repeat_batches_after_the_first_is_compared_with_what_the_store_kept(engine, fixtures_dir, tmp_path):
    case = snapshot_case(fixtures_dir, tmp_path)
    plan = files_plan("snapshot", case.paths, batch_size=2)  # the first in batch 1, its repeats in 2 and 3
    summary = run_ingest(engine, plan.source, plan.target, plan.batches)
    _assert_rule(engine, case, summary.counts)


@BACKENDS
def test_the_bulk_load_follows_the_same_rule(engine, fixtures_dir, tmp_path) -> None:
    case = snapshot_case(fixtures_dir, tmp_path)
    summary = bulk_load(engine, case.paths, batch_size=2)
    _assert_rule(engine, case, summary.counts)


@BACKENDS
def test_the_same_id_in_another_file_is_a_revision(engine, fixtures_dir, tmp_path) -> None:
    # Two days of one daily list: the same paper with new upvotes is news, not a conflict.
    case = hf_case(fixtures_dir, tmp_path)
    entries = orjson.loads(case.paths[0].read_bytes())[:1]
    later = tmp_path / "next-day.json"
    paper = entries[0]["paper"]
    later.write_bytes(orjson.dumps([{**entries[0], "paper": {**paper, "upvotes": paper["upvotes"] + 100}}]))
    plan = files_plan("hf", [case.paths[0], later])
    summary = run_ingest(engine, plan.source, plan.target, plan.batches)
    assert summary.counts.get("repeats") == 1 and len(_repeat_rows(engine)) == 1
    p = schema.papers
    with engine.connect() as connection:
        upvotes = connection.execute(select(p.c.upvotes).where(p.c.arxiv_id == paper["id"])).scalar_one()
    assert upvotes == paper["upvotes"] + 100
