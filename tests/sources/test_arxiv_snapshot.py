"""The arXiv metadata snapshot reader, replaying the 200-line head of the Kaggle file."""

from __future__ import annotations

import gc
import gzip
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources.arxiv_snapshot import (
    iter_snapshot_lines,
    parse_snapshot_line,
    parse_version_date,
    read_files,
)

SNAPSHOT = "arxiv_kaggle_snapshot/wanng-ide_arxivSpider_mnbvc/arxiv-metadata-oai-snapshot.head200.jsonl"


@pytest.fixture(scope="module")
def snapshot(fixtures_dir: Path) -> Path:
    return fixtures_dir / SNAPSHOT


def records_of(batches) -> list:
    return [record for batch in batches for record in batch.records]


def test_head200_counts(snapshot: Path) -> None:
    records = records_of(read_files(snapshot))
    assert len(records) == 200
    assert all(isinstance(r, PaperRecord) for r in records)
    assert [r.arxiv_id for r in records[:2]] == ["0704.0001", "0704.0002"]
    assert records[-1].arxiv_id == "0704.0200"
    assert sum(r.doi is not None for r in records) == 117
    assert sum(r.journal_ref is not None for r in records) == 109
    assert sum(r.license is not None for r in records) == 19
    assert sum((r.arxiv_version or 0) > 1 for r in records) == 87
    # v1 dates: the head of the file was submitted over three days.
    assert Counter(r.published for r in records) == {
        date(2007, 3, 31): 43, date(2007, 4, 1): 49, date(2007, 4, 2): 108,
    }
    assert {r.source for r in records} == {"arxiv_snapshot"}
    assert all(r.source_key == r.arxiv_id for r in records)


def test_first_record_fields(snapshot: Path) -> None:
    first = records_of(read_files(snapshot, batch_size=1))[0]
    assert first.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert first.abstract.startswith("A fully differential calculation in perturbative quantum")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.arxiv_version == 2
    assert first.published == date(2007, 4, 2)
    assert first.updated == date(2008, 11, 26)
    assert first.doi == "10.1103/physrevd.76.013009"
    assert first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert first.comments == "37 pages, 15 figures; published version"
    assert first.other_ids == {"report_no": "ANL-HEP-PR-07-12"}
    assert first.primary_category == "hep-ph" and first.categories == ["hep-ph"]
    assert first.license is None
    # authors_parsed carries the unicode name; `authors` has the LaTeX accent "Bal\'azs".
    assert [a.name for a in first.authors] == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert first.links == {
        "abs": "https://arxiv.org/abs/0704.0001",
        "pdf": "https://arxiv.org/pdf/0704.0001",
        "doi": "https://doi.org/10.1103/physrevd.76.013009",
    }


def test_categories_latex_and_suffix(snapshot: Path) -> None:
    by_id = {r.arxiv_id: r for r in records_of(read_files(snapshot))}
    second = by_id["0704.0002"]
    assert second.categories == ["math.CO", "cs.CG"] and second.primary_category == "math.CO"
    assert second.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert "$(k,\\ell)$-pebble game" in second.abstract  # LaTeX kept verbatim
    assert second.arxiv_version == 2
    assert second.published == date(2007, 3, 31) and second.updated == date(2008, 12, 13)
    assert [by_id[k].arxiv_version for k in ("0704.0064", "0704.0098", "0704.0148")] == [5, 5, 5]
    names = [a.name for a in by_id["0704.0009"].authors]
    assert "Neal J. Evans II" in names
    assert sum(a.name.endswith(" II") for r in by_id.values() for a in r.authors) == 1


def test_gzip_copy_reads_the_same(snapshot: Path, tmp_path: Path) -> None:
    # A name that says nothing: compression is detected from the magic bytes.
    packed = tmp_path / "snapshot.json"
    with open(snapshot, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    plain = records_of(read_files(snapshot))
    unpacked = records_of(read_files(packed))
    assert unpacked == plain


def test_batches_and_cursor_resume(snapshot: Path) -> None:
    batches = list(read_files(snapshot, batch_size=64))
    assert [len(b.records) for b in batches] == [64, 64, 64, 8]
    assert [b.cursor for b in batches] == [f"{snapshot}:64", f"{snapshot}:128", f"{snapshot}:192", None]
    all_ids = [r.arxiv_id for r in records_of(batches)]
    resumed = list(read_files(snapshot, batch_size=64, cursor=batches[1].cursor))
    assert [r.arxiv_id for r in records_of(resumed)] == all_ids[128:]
    assert records_of(resumed)[0].arxiv_id == "0704.0129"
    # start_line and a bare line count mean the same thing for one file.
    assert [r.arxiv_id for r in records_of(read_files(snapshot, start_line=190))] == all_ids[190:]
    assert [r.arxiv_id for r in records_of(read_files(snapshot, cursor="195"))] == all_ids[195:]


def test_cursor_moves_across_files(snapshot: Path, tmp_path: Path) -> None:
    lines = snapshot.read_bytes().splitlines(keepends=True)
    part1, part2 = tmp_path / "part1.jsonl", tmp_path / "part2.jsonl.gz"
    part1.write_bytes(b"".join(lines[:30]))
    part2.write_bytes(gzip.compress(b"".join(lines[30:50])))
    batches = list(read_files([part1, part2], batch_size=30))
    assert [(len(b.records), b.cursor) for b in batches] == [(30, f"{part2}:0"), (20, None)]
    resumed = records_of(read_files([part1, part2], cursor=f"{part2}:5"))
    assert [r.arxiv_id for r in resumed] == [f"0704.{n:04d}" for n in range(36, 51)]
    with pytest.raises(ValueError, match="names none of the files"):
        list(read_files([part1], cursor=f"{part2}:5"))


def test_malformed_lines_quarantined(snapshot: Path, tmp_path: Path) -> None:
    lines = snapshot.read_bytes().splitlines()
    bad = [
        b'{"id": "0704.9001", "title": "Broken", "versions": [',  # truncated JSON
        b'{"id": "0704.9002", "abstract": "no title here"}',
        b'{"id": "0704.9003", "title": "Bad date", "versions": [{"version": "v1", '
        b'"created": "Mon, 31 Feb 2007 10:00:00 GMT"}]}',
        b'{"id": "not-an-id", "title": "Bad id"}',
        b'["a", "list"]',
        b"",  # blank lines are skipped, not quarantined
    ]
    mixed = [*lines[:3], bad[0], lines[3], *bad[1:], *lines[4:6]]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(mixed) + b"\n")
    records = records_of(read_files(path, batch_size=4))
    good = [r for r in records if isinstance(r, PaperRecord)]
    broken = [r for r in records if isinstance(r, Malformed)]
    assert [r.arxiv_id for r in good] == ["0704.0001", "0704.0002", "0704.0003", "0704.0004", "0704.0005",
                                         "0704.0006"]
    assert [m.position for m in broken] == [f"{path}:{n}" for n in (4, 6, 7, 8, 9)]
    assert "invalid JSON" in broken[0].reason
    assert "missing title" in broken[1].reason
    assert "0704.9003" in broken[2].reason and "day is out of range" in broken[2].reason
    assert "not an arXiv id" in broken[3].reason
    assert "not a JSON object" in broken[4].reason
    assert broken[0].raw == bad[0].decode()
    assert all(m.source == "arxiv_snapshot" for m in broken)


def test_parse_line_edge_cases() -> None:
    record = parse_snapshot_line(
        '{"id": "hep-th/9901001", "title": " A\\n  title ", "doi": "10.1000/ABC 10.1000/def",'
        ' "authors_parsed": [["Smith", "", ""], ["Doe", "Jane", "Jr", ""]], "update_date": null,'
        ' "versions": [{"version": "v1", "created": "Fri, 1 Jan 1999 00:00:00 GMT"},'
        ' {"version": "v3", "created": "Sat, 2 Jan 1999 00:00:00 GMT"}]}',
        "test:1",
    )
    assert isinstance(record, PaperRecord)
    assert record.arxiv_id == "hep-th/9901001" and record.arxiv_version == 3
    assert record.title == "A title"
    assert record.doi == "10.1000/abc"  # the first of several
    assert [a.name for a in record.authors] == ["Smith", "Jane Doe Jr"]
    assert record.published == date(1999, 1, 1)
    assert record.updated == date(1999, 1, 2)  # no update_date: the last version's date
    assert record.primary_category is None and record.categories == []
    unparsed = parse_snapshot_line('{"id": "0704.0001", "title": "T", "doi": "not a doi"}', "test:2")
    assert unparsed.doi is None and unparsed.other_ids == {"doi_unparsed": "not a doi"}
    bad_update = parse_snapshot_line('{"id": "0704.0001", "title": "T", "update_date": "2007-13-01"}', "t:3")
    assert isinstance(bad_update, Malformed) and "update_date" in bad_update.reason


def test_version_date_and_lines(snapshot: Path) -> None:
    assert parse_version_date("Mon, 2 Apr 2007 19:18:42 GMT") == date(2007, 4, 2)
    with pytest.raises(ValueError):
        parse_version_date("2007-04-02")
    numbered = list(iter_snapshot_lines(snapshot, start_line=198))
    assert [n for n, _ in numbered] == [199, 200]
    assert numbered[0][1].startswith(b'{"id":"0704.0199"')


def test_read_files_is_lazy_and_restores_the_collector(snapshot: Path) -> None:
    batches = read_files(snapshot, batch_size=10)
    assert gc.isenabled()
    first = next(batches)
    assert len(first.records) == 10
    assert gc.isenabled()  # paused while parsing, running again whenever a batch is handed over
    batches.close()
    assert gc.isenabled()
