"""The ACL Anthology Network reader, replaying the recorded release (18,041 papers, 94,973 edges)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from paperscope.core.records import Malformed, PaperRecord
from paperscope.sources.aan import (
    AanSummary,
    author_name,
    decode_line,
    read_citation_edges,
    read_files,
    read_folder,
)

FOLDER = "citation_graph/aan_acl_anthology_network"


@pytest.fixture(scope="module")
def release(fixtures_dir: Path) -> tuple[dict[str, PaperRecord], list[Malformed], AanSummary]:
    summary = AanSummary()
    records = [r for batch in read_folder(fixtures_dir / FOLDER, summary=summary) for r in batch.records]
    papers = {r.source_key: r for r in records if isinstance(r, PaperRecord)}
    malformed = [r for r in records if isinstance(r, Malformed)]
    return papers, malformed, summary


def test_record_count_and_first_record(release) -> None:
    papers, _, summary = release
    assert len(papers) == 18041 and summary.records == 18041 and summary.malformed_records == 0
    first = papers["D10-1001"]
    assert first.title == (
        "On Dual Decomposition and Linear Programming Relaxations for Natural Language Processing"
    )
    assert [a.name for a in first.authors] == ["Alexander M. Rush", "David Sontag", "Michael John Collins",
                                              "Tommi Jaakkola"]
    assert (first.venue, first.year, first.published) == ("EMNLP", 2010, None)
    assert first.other_ids == {"aan": "D10-1001"} and first.source == "aan" and first.abstract is None
    assert first.references == [("aan", "D07-1101"), ("aan", "J03-4003"), ("aan", "P08-1068"),
                                ("aan", "P09-1039"), ("aan", "W02-1001"), ("aan", "W08-2102")]
    years = Counter(p.year for p in papers.values())
    assert min(years) == 1965 and max(years) == 2011 and years[2010] == 1832


def test_mixed_encodings_decoded(release) -> None:
    papers, _, _ = release
    assert papers["L08-1068"].title == "Latest Developments in ELRA\u2019s Services"  # cp1252 byte 0x92
    assert papers["L08-1021"].title.startswith("Annotating \u201ctense")  # cp1252 byte 0x93
    assert papers["I05-1073"].title.startswith("Integrating Punctuation Rules and Na\u00efve")  # 0xEF
    # A line that is valid UTF-8 stays UTF-8; HTML entities are unescaped.
    assert [a.name for a in papers["W10-4218"].authors] == ["Maximiliano Cristi\u00e0", "Brian Pl\u00fcss"]
    assert papers["W08-0202"].title.endswith("Master\u2019s Program in Computational Linguistics")
    assert [a.name for a in papers["W11-2705"].authors] == ["S\u00e9rgio Curto", "Ana Cristina Mendes",
                                                            "Lu\u00edsa Coheur"]
    assert not any("\u00e2\u20ac" in p.title for p in papers.values())  # no UTF-8-read-as-cp1252 mojibake
    assert papers["W10-4238"].authors == []  # "author = {}"


def test_every_edge_accounted_for(release) -> None:
    papers, malformed, summary = release
    assert summary.edges == 94973 and summary.malformed_edges == 0
    assert summary.edges_attached == 82905
    assert summary.self_citations == 39 and summary.duplicate_edges == 0
    assert summary.dangling_citing_papers == 1215 and summary.dangling_edges == 12029
    assert summary.edges_attached + summary.self_citations + summary.dangling_edges == summary.edges
    assert summary.cited_without_metadata == 7
    assert sum(len(p.references) for p in papers.values()) == 82905
    assert sum(1 for p in papers.values() for _, cited in p.references if cited == p.source_key) == 0
    # One Malformed per citing id without metadata, its edges verbatim in raw.
    assert len(malformed) == 1215
    d12 = next(m for m in malformed if "D12-1027" in m.reason)
    assert d12.position.endswith("acl-citations.txt:3")
    assert "15 citation edge(s)" in d12.reason
    assert d12.raw.splitlines()[:2] == ["D12-1027 , A00-1002", "D12-1027 , C98-2233"]
    assert sum(len(m.raw.splitlines()) for m in malformed) == 12029


def test_read_citation_edges(fixtures_dir: Path) -> None:
    edges = list(read_citation_edges(fixtures_dir / FOLDER / "acl-citations.txt"))
    assert len(edges) == 94973
    assert edges[0] == ("C08-3004", "A00-1002")
    assert len({node for edge in edges for node in edge}) == 16589
    assert sum(citing == cited for citing, cited in edges) == 42


def test_batches_are_streamed_without_cursor(fixtures_dir: Path) -> None:
    batches = read_files(fixtures_dir / FOLDER / "acl-metadata.txt", batch_size=1000)
    first = next(batches)
    assert len(first.records) == 1000 and first.cursor is None
    assert first.records[0].source_key == "D10-1001" and first.records[0].references == []  # no edge file
    batches.close()


def test_hand_written_release(tmp_path: Path) -> None:
    metadata = tmp_path / "acl-metadata.txt"
    metadata.write_bytes(
        b"id = {X00-0001}\nauthor = {Doe, Jane; The PLUM Research Group}\ntitle = {Caf\xe9 \x93Talk\x94}\n"
        b"venue = {ACL}\nyear = {2000}\n\n"
        b"id = {X00-0002}\nauthor = {Roe, Richard}\ntitle = {}\nvenue = {ACL}\nyear = {2000}\n\n"
        b"id = {X00-0003}\nauthor = {Roe, Richard}\ntitle = {Bad year}\nvenue = {ACL}\nyear = {20x0}\n\n"
        b"id = {X00-0001}\nauthor = {Doe, Jane}\ntitle = {Again}\nvenue = {ACL}\nyear = {2001}\n\n"
        b"id = {X00-0004}\nabstract = {not a field of this format}\n"
    )
    citations = tmp_path / "acl-citations.txt"
    citations.write_bytes(
        b"X00-0001 , X00-0009\nX00-0001 , X00-0001\nX00-0001 , X00-0009\nno comma here\n"
        b"X00-0002 , X00-0001\n"
    )
    summary = AanSummary()
    records = [r for b in read_files(metadata, citations, batch_size=2, summary=summary) for r in b.records]
    good = [r for r in records if isinstance(r, PaperRecord)]
    bad = [r for r in records if isinstance(r, Malformed)]
    # The repeated X00-0001 is left to ingest's repeat rule (tests/ingest/test_repeats.py), with its edges.
    assert [(r.source_key, r.title, r.references) for r in good] == [
        ("X00-0001", "Caf\u00e9 \u201cTalk\u201d", [("aan", "X00-0009")]),
        ("X00-0001", "Again", [("aan", "X00-0009")]),
    ]
    assert [r.origin.where() for r in good] == [f"{metadata}:1", f"{metadata}:19"]
    assert [a.name for a in good[0].authors] == ["Jane Doe", "The PLUM Research Group"]
    reasons = [m.reason for m in bad]
    assert reasons[0] == "not a 'citing , cited' edge" and bad[0].position == f"{citations}:4"
    assert "X00-0002: missing title" in reasons[1] and bad[1].position == f"{metadata}:7"
    assert "impossible year '20x0'" in reasons[2]
    assert "is not 'field = {value}'" in reasons[3]
    # X00-0002 has no usable record, so its edge is quarantined rather than dropped.
    assert "citing paper X00-0002" in reasons[4] and bad[4].raw == "X00-0002 , X00-0001"
    assert (summary.self_citations, summary.duplicate_edges, summary.malformed_edges) == (1, 1, 1)
    assert summary.repeated_records == 1 and summary.edges_attached == 1
    assert summary.dangling_ids == ["X00-0002"] and summary.cited_without_metadata == 1
    with pytest.raises(ValueError, match="acl-citations.txt:4"):
        list(read_citation_edges(citations))


def test_decode_and_names() -> None:
    assert decode_line(b"Children\x92s") == "Children\u2019s"
    assert decode_line("Cristi\u00e0".encode()) == "Cristi\u00e0"
    assert decode_line(b"It\xe2\x80\x99s \xe2\x80?no") == "It\u2019s \ufffd?no"  # damaged UTF-8
    assert decode_line(b"Q&A and Pl&uuml;ss &#x10D; &amp;") == "Q&A and Pl\u00fcss \u010d &"
    assert decode_line(b"\x81") == "\x81"  # undefined in cp1252: latin-1
    assert author_name("Rush, Alexander M.") == "Alexander M. Rush"
    assert author_name("IsoQuest Inc.") == "IsoQuest Inc."


def test_read_folder_needs_metadata(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="acl-metadata.txt"):
        list(read_folder(tmp_path))


def test_a_bom_or_utf16_release_reads_alike_and_a_huge_line_costs_only_its_record(tmp_path: Path) -> None:
    blocks = [
        b"id = {X00-0001}\nauthor = {Doe, Jane}\ntitle = {First}\nvenue = {ACL}\nyear = {2000}\n",
        b"id = {X00-0002}\nauthor = {Roe, Richard}\ntitle = {" + b"x" * 5000 + b"}\nvenue = {ACL}\nyear = {2000}\n",
        b"id = {X00-0003}\nauthor = {Poe, Ed}\ntitle = {Third}\nvenue = {ACL}\nyear = {2001}\n",
    ]
    plain = b"\n".join(blocks)
    variants = {"plain": plain, "bom": b"\xef\xbb\xbf" + plain, "utf16": plain.decode().encode("utf-16")}
    for name, data in variants.items():
        path = tmp_path / f"{name}.txt"
        path.write_bytes(data)
        records = [r for b in read_files(path, max_line_bytes=4096) for r in b.records]
        assert [(r.source_key, r.title) for r in records if isinstance(r, PaperRecord)] == [
            ("X00-0001", "First"), ("X00-0003", "Third")
        ], name
        (huge,) = [r for r in records if isinstance(r, Malformed)]
        assert huge.position == f"{path}:7"
        assert huge.reason == "line 9: line of 5,011 bytes is longer than the limit of 4,096 bytes (max_line_bytes)"
