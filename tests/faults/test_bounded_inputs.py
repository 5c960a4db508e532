"""Encodings told once per file, BOMs accepted, and lines too long to hold quarantined unread."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources import arxiv_snapshot, hf_daily, openalex, semantic_scholar
from paperscope.sources.recovery import detect_encoding, salvage_json_array


def _line(n: int) -> bytes:
    return orjson.dumps({
        "id": f"0704.{n:04d}", "title": f"Paper {n}", "abstract": "Text.", "authors_parsed": [["Doe", "J", ""]],
        "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}], "categories": "cs.LG",
    }) + b"\n"


def _snapshot_records(path: Path, **options) -> list:
    return [r for batch in arxiv_snapshot.read_files(path, **options) for r in batch.records]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_snapshot_in_any_unicode_encoding_keeps_every_line(tmp_path: Path, encoding: str):
    text = b"".join(_line(n) for n in range(1, 6)).decode()
    path = tmp_path / "snap.jsonl"
    path.write_bytes(text.encode(encoding))
    records = _snapshot_records(path)
    assert [r.arxiv_id for r in records if isinstance(r, PaperRecord)] == [f"0704.{n:04d}" for n in range(1, 6)]


def test_encoding_detection():
    assert detect_encoding(b'{"a') == ("utf-8", 0)
    assert detect_encoding(b"\xef\xbb\xbf{") == ("utf-8", 3)
    assert detect_encoding('{"'.encode("utf-16-le")) == ("utf-16-le", 0)
    assert detect_encoding('{"'.encode("utf-16-be")) == ("utf-16-be", 0)
    assert detect_encoding("{".encode("utf-32-le")) == ("utf-32-le", 0)


def test_oversized_gzip_line_is_quarantined_and_the_lines_around_it_kept(tmp_path: Path):
    path = tmp_path / "snap.jsonl.gz"
    huge = b'{"id": "0704.0099", "title": "' + b"x" * 3_000_000 + b'"}\n'
    with gzip.open(path, "wb") as out:
        out.write(_line(1) + _line(2) + huge + _line(3))
    records = _snapshot_records(path, max_line_bytes=1_000_000)
    assert [r.arxiv_id for r in records if isinstance(r, PaperRecord)] == ["0704.0001", "0704.0002", "0704.0003"]
    (bad,) = [r for r in records if isinstance(r, Malformed)]
    assert bad.position == f"{path}:3"
    assert bad.reason == (
        f"line of {len(huge):,} bytes is longer than the limit of 1,000,000 bytes (max_line_bytes)"
    )
    # The same limit holds for an OpenAlex snapshot part.
    part = tmp_path / "part.jsonl"
    part.write_bytes(b'{"id": "https://openalex.org/W1", "title": "' + b"y" * 2000 + b'"}\n')
    (batch,) = list(openalex.read_files([part], max_line_bytes=1000))
    assert "longer than the limit" in batch.records[0].reason


def test_json_responses_with_a_bom_or_in_utf16_are_read(tmp_path: Path, fixtures_dir: Path):
    source = next((fixtures_dir / "hf_daily_papers").rglob("*.json"))
    body = source.read_bytes()
    expected = [r.source_key for r in hf_daily.parse_daily_papers(body, "x")]
    for name, data in (("bom.json", b"\xef\xbb\xbf" + body), ("utf16.json", body.decode().encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        (batch,) = list(hf_daily.read_files([path]))
        assert [r.source_key for r in batch.records] == expected, name
    page = b'\xef\xbb\xbf{"data": [{"paperId": "' + b"a" * 40 + b'", "title": "T"}]}'
    assert [r.title for r in semantic_scholar.parse_response(page, "p")] == ["T"]


def test_salvage_splits_entries_respecting_strings_and_escapes():
    data = b'{"results": [{"a": "x,]}\\"["}, {"b": [1, 2]}, {"c": BROKEN}, {"d": "cut'
    items = salvage_json_array(data, "results")
    assert items[0] == {"a": 'x,]}"['} and items[1] == {"b": [1, 2]}
    assert items[2].index == 2 and items[2].reason.startswith("invalid JSON")
    assert items[3].reason == "response cut short inside this entry"
    assert salvage_json_array(b'{"meta": 1}', "results") is None
