"""The keyword index's related-paper query: every term of a paper's text, none dropped."""

from __future__ import annotations

from pathlib import Path

from paperscope.index.lexical import MAX_QUERY_TERMS, index_rows

RARE = [f"zq{chr(97 + i // 26)}{chr(97 + i % 26)}term" for i in range(MAX_QUERY_TERMS + 8)]


def test_related_uses_every_term_where_a_typed_abstract_keeps_its_rarest(tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "title": f"{word} study"} for i, word in enumerate(RARE)]
    rows += [{"id": f"common{i}", "title": "transformer model"} for i in range(5)]
    rows.append({"id": "other", "title": "unrelated graph coloring"})
    index = index_rows(tmp_path / "lexical", rows)
    assert index.num_docs == len(rows)
    text = " ".join(RARE) + " transformer"
    related = {pid for pid, _ in index.related(text, 100)}
    assert {f"common{i}" for i in range(5)} <= related  # shares only its most common term
    assert {f"r{i}" for i in range(len(RARE))} <= related and "other" not in related
    typed = {pid for pid, _ in index.search(text, 100)}
    assert not typed & {f"common{i}" for i in range(5)}  # the rarest MAX_QUERY_TERMS leave it out
    assert index.related("", 10) == [] and index.related("the of and", 10) == []
