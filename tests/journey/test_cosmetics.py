"""Numbers read as a person writes them: `1 paper`, `LG 2023`, no `· None`, no `0 authors · — · ▲ —`."""

from __future__ import annotations

from typing import Any

from paperscope.services.display import counted, group
from paperscope.web.templating import make_templates


def test_counts_agree_with_their_noun_and_groups_read_as_words() -> None:
    assert counted(1, "paper") == "1 paper" and counted(12_000, "paper") == "12,000 papers"
    assert counted(0, "author") == "0 authors" and counted(None, "citation") == "— citations"
    assert group(["LG", 2023]) == "LG 2023" and group(None) == "—" and group("CV") == "CV"


class _NoMarks:
    def of(self, paper_id: str) -> dict[str, Any]:
        return {"saved": False, "upvoted": False, "local_upvotes": 0, "signed_in": False}


def _card(**fields: Any) -> str:
    env = make_templates().env
    paper = {"id": "arXiv:2401.00001", "title": "A paper", "ai_score": None,
             "citations": 0, "trending_label": None, "tag": "LG", "date": None,
             "published": None, "year": None, "code": False, "authors": [], "et_al": False, "orgs": [],
             "abstract": None, "author_count": None, "upvotes": None} | fields
    macro = env.from_string('{% from "_cards.html" import entry with context %}{{ entry(p) }}')
    return macro.render(p=paper, marks=_NoMarks(), csrf_token="t", here="/")


def test_cards_show_only_what_is_known() -> None:
    bare = _card(author_count=0)
    assert "0 authors" not in bare and "▲ —" not in bare and 'class="meta"' not in bare
    one = _card(author_count=1, date="Mar 1, 2023", upvotes=118)
    assert '<span class="author-count">1 author</span> · <span class="date">Mar 1, 2023</span> · ' in one
    assert "▲ 118" in one
