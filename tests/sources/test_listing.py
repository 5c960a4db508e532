"""Saved listing pages: the two author pages and the papers list in ../shared/listings, and small
hand-written pages (tests/data/listing) for the shapes those three do not show.

Every expected value below was read off the page text by eye, not produced by the parser.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from paperscope.core.records import AuthorProfileRecord, Batch, Malformed, PaperRecord
from paperscope.sources.listing import ListingFormatError, parse_listing, read_files, resolve_date

DATA = Path(__file__).resolve().parents[1] / "data" / "listing"
AUTHOR_AS_OF = date(2026, 11, 25)  # the author pages were saved in November 2026
PAPERS_AS_OF = date(2025, 11, 12)  # the papers list was saved on 2025-11-12

# Titles shown on both author pages: the same paper, which ingest must merge.
SHARED_TITLES = {
    "Understanding Robust Overfitting of Adversarial Training and Beyond",
    "Harnessing Out-Of-Distribution Examples via Augmenting Content and Style",
    "Robust Generalization against Photon-Limited Corruptions via Worst-Case Sharpness Minimization",
    "Robust Weight Perturbation for Adversarial Training",
}


def _page(listings_dir: Path, name: str, as_of: date, author: str | None = None):
    text = (listings_dir / name).read_text(encoding="utf-8")
    return parse_listing(text, source_name=name, as_of=as_of, author=author)


def _cards(page) -> dict[str, PaperRecord]:
    assert all(isinstance(r, PaperRecord) for r in page.records), [
        r for r in page.records if isinstance(r, Malformed)
    ]
    return {r.title: r for r in page.records}


def _names(record: PaperRecord) -> list[str]:
    return [a.name for a in record.authors]


# A shown author name is two or three capitalised words ("Fa-Ting Hong", "Wan Chaoqun"); anything
# longer or lower-case would be a piece of a title that leaked into the author list.
NAME_SHAPE = re.compile(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)?(?: [A-Z][a-z]+(?:-[A-Z][a-z]+)?){1,2}")


# --------------------------------------------------------------------------- author-bo-han.txt


@pytest.fixture(scope="module")
def bo_han(listings_dir: Path):
    return _page(listings_dir, "author-bo-han.txt", AUTHOR_AS_OF)


def test_bo_han_header_keeps_reported_metrics(bo_han) -> None:
    h = bo_han.header
    assert isinstance(h, AuthorProfileRecord)
    assert (h.source, h.source_key, h.name, h.field) == ("listing", "author-bo-han.txt", "Bo Han", "LG")
    assert (h.h_index, h.paper_count, h.citation_count) == (87, 263, 12368)
    assert (h.novelty, h.ai_score, h.as_of) == (54.0, 64.0, AUTHOR_AS_OF)


def test_bo_han_card_count(bo_han) -> None:
    # 50 = the number of card lines in the file (grep -cE '^([0-9.]+)?[A-Z]{2}[A-Z][a-z]{2} [0-9]'),
    # each line followed by a title, a blank, the author line, a blank and the abstract.
    assert bo_han.kind == "author"
    assert len(bo_han.records) == 50
    assert [r.source_key for r in bo_han.records] == [f"author-bo-han.txt#{i}" for i in range(1, 51)]
    cards = _cards(bo_han)
    assert len(cards) == 50  # fifty distinct titles
    # 17 card lines end in "Code" (grep -cE '^([0-9.]+)?[A-Z]{2}[A-Z][a-z]{2} .*Code$').
    assert sum(c.code_badge for c in cards.values()) == 17
    assert all(c.code_badge in (True, False) for c in cards.values())
    assert {c.owner_author for c in cards.values()} == {"Bo Han"}
    assert all(c.upvotes is None and c.author_count is None and c.code_urls == [] for c in cards.values())


def test_bo_han_first_and_last_card(bo_han) -> None:
    first, last = bo_han.records[0], bo_han.records[-1]
    assert first.title == "Combating Exacerbated Heterogeneity for Robust Models in Federated Learning"
    assert (first.primary_category, first.published, first.code_badge) == ("LG", date(2023, 3, 1), True)
    assert _names(first) == ["Jianing Zhu", "Jiangchao Yao", "Tongliang Liu"]
    assert first.authors_truncated is True and first.orgs == ["tsinghua"]
    assert first.listing_score is None and first.source == "listing"
    assert first.abstract.startswith("Privacy and security concerns in real-world applications")
    assert first.abstract.endswith("The code is publicly available at https://github.com/ZFancy/SFAT.")

    assert last.title == "Pluralistic Image Completion with Probabilistic Mixture-of-Experts"
    assert (last.primary_category, last.published, last.code_badge) == ("CV", date(2022, 5, 18), False)
    assert _names(last) == ["Xiaobo Xia", "Wenhao Yang", "Jie Ren"]
    assert last.authors_truncated is True and last.orgs == []
    assert last.abstract.endswith("demonstrate it with comprehensive experiments.")


def test_bo_han_scored_cards_and_year_less_dates(bo_han) -> None:
    snowball = bo_han.records[4]  # "95.6CVMay 30": score, category and a year-less date glued
    assert snowball.title.startswith("MM-Snowball: Evaluating and Mitigating Hallucination Snowballing")
    assert (snowball.listing_score, snowball.primary_category) == (95.6, "CV")
    assert (snowball.published, snowball.code_badge) == (date(2026, 5, 30), False)
    assert _names(snowball) == ["Yue Jiang", "Xue Jiang", "Lihua Zhang"]

    deliberate = bo_han.records[21]  # "78.6CLJun 3"
    assert deliberate.title == (
        "Deliberate Evolution: Agentic Reasoning for Sample-Efficient Symbolic Regression with LLMs"
    )
    assert (deliberate.listing_score, deliberate.primary_category) == (78.6, "CL")
    assert deliberate.published == date(2026, 6, 3)

    alive = bo_han.records[47]  # "CVFeb 9Code"
    assert alive.title == "ALIVE: Animate Your World with Lifelike Audio-Video Generation"
    assert (alive.published, alive.code_badge, alive.listing_score) == (date(2026, 2, 9), True, None)
    scored = [c.title for c in bo_han.records if c.listing_score is not None]
    assert scored == [snowball.title, deliberate.title]


def test_year_less_dates_follow_as_of_across_a_year_boundary(listings_dir: Path) -> None:
    early = _page(listings_dir, "author-bo-han.txt", date(2026, 1, 15))
    assert early.records[47].published == date(2025, 2, 9)  # Feb 9 not yet reached in 2026
    assert early.records[4].published == date(2025, 5, 30)
    on_the_day = _page(listings_dir, "author-bo-han.txt", date(2026, 5, 30))
    assert on_the_day.records[4].published == date(2026, 5, 30)
    day_before = _page(listings_dir, "author-bo-han.txt", date(2026, 5, 29))
    assert day_before.records[4].published == date(2025, 5, 30)
    assert day_before.records[0].published == date(2023, 3, 1)  # a shown year never moves


def test_bo_han_org_slugs_and_short_author_lists(bo_han) -> None:
    cards = _cards(bo_han)
    tensor = cards["Low-rank Tensor Learning with Nonconvex Overlapped Nuclear Norm Regularization"]
    assert tensor.orgs == ["baidu", "tsinghua"]
    assert _names(tensor) == ["Quanming Yao", "Yaqing Wang", "Bo Han"] and tensor.authors_truncated
    fednoil = cards["FedNoiL: A Simple Two-Level Sampling Method for Federated Learning with Noisy Labels"]
    assert fednoil.orgs == ["uw"] and _names(fednoil) == ["Zhuowei Wang", "Tianyi Zhou", "Guodong Long"]
    assert sum(1 for c in cards.values() if c.orgs) == 5  # five author lines carry " · "

    zero_trust = cards["Towards Zero-trust Security for the Metaverse"]  # no "et al.": all authors shown
    assert _names(zero_trust) == ["Ruizhi Cheng", "Songqing Chen", "Bo Han"]
    assert zero_trust.authors_truncated is False
    assert (zero_trust.primary_category, zero_trust.published) == ("CR", date(2023, 2, 17))
    assert [c.title for c in cards.values() if not c.authors_truncated] == [zero_trust.title]

    lightweight = cards["Towards Lightweight Black-Box Attacks against Deep Neural Networks"]
    assert _names(lightweight) == ["Chenghao Sun", "Yonggang Zhang", "Wan Chaoqun"]
    assert cards["Device-Cloud Collaborative Recommendation via Meta Controller"].primary_category == "AI"


def test_owner_can_be_named_explicitly(listings_dir: Path) -> None:
    page = _page(listings_dir, "author-bo-han.txt", AUTHOR_AS_OF, author="Bo Han (TMLR)")
    assert {c.owner_author for c in page.records} == {"Bo Han (TMLR)"}
    assert page.header.name == "Bo Han"


# --------------------------------------------------------------------------- author-li-shen.txt


@pytest.fixture(scope="module")
def li_shen(listings_dir: Path):
    return _page(listings_dir, "author-li-shen.txt", AUTHOR_AS_OF, author="Li Shen")


def test_li_shen_has_no_header_and_fifty_glued_cards(li_shen, listings_dir: Path) -> None:
    # 50 = 150 lines / 3 (card line, title glued to authors, abstract), and 50 card lines by grep.
    assert li_shen.kind == "author" and li_shen.header is None
    assert len(li_shen.records) == 50
    assert len(_cards(li_shen)) == 50
    # 34 card lines end in "Code".
    assert sum(c.code_badge for c in li_shen.records) == 34
    assert {c.owner_author for c in li_shen.records} == {"Li Shen"}
    headerless = _page(listings_dir, "author-li-shen.txt", AUTHOR_AS_OF)
    assert {c.owner_author for c in headerless.records} == {None}  # no header, no owner given


def test_li_shen_split_reassembles_every_glued_line(li_shen, listings_dir: Path) -> None:
    lines = (listings_dir / "author-li-shen.txt").read_text(encoding="utf-8").splitlines()
    for i, card in enumerate(li_shen.records):
        shown = card.title + ", ".join(_names(card)) + (" et al." if card.authors_truncated else "")
        if card.orgs:
            shown += " · " + ", ".join(card.orgs)
        assert shown == lines[3 * i + 1], card.source_key
        assert card.abstract == lines[3 * i + 2]
        assert card.title and card.title == card.title.strip()
        assert len(card.authors) == 3 and card.authors_truncated  # every card shows three and et al.
        for name in _names(card):
            assert NAME_SHAPE.fullmatch(name), (card.source_key, name)


def test_li_shen_first_last_and_tricky_cards(li_shen) -> None:
    first, last = li_shen.records[0], li_shen.records[-1]
    assert first.source_key == "author-li-shen.txt#1"
    assert first.title == "Make Sharpness-Aware Minimization Stronger: A Sparsified Perturbation Approach"
    assert _names(first) == ["Peng Mi", "Li Shen", "Tianhe Ren"]
    assert (first.primary_category, first.published, first.code_badge) == ("LG", date(2022, 10, 11), True)
    assert first.abstract.startswith("Deep neural networks often suffer from poor generalization")

    assert last.source_key == "author-li-shen.txt#50"
    assert last.title == (
        "Interpretable Graph Convolutional Network of Multi-Modality Brain Imaging "
        "for Alzheimer's Disease Diagnosis"
    )
    assert _names(last) == ["Houliang Zhou", "Lifang He", "Yu Zhang"]
    assert (last.primary_category, last.published, last.code_badge) == ("LG", date(2022, 4, 27), False)

    cards = _cards(li_shen)
    # Title ending in a capitalised unit: "...to 1 MBLingzhi Li".
    assert _names(cards["Compressing Volumetric Radiance Fields to 1 MB"]) == [
        "Lingzhi Li",
        "Zhen Shen",
        "Zhongshu Wang",
    ]
    # Title ending in an acronym: "...on SuperGLUEQihuang Zhong".
    superglue = cards[
        "Toward Efficient Language Model Pretraining and Downstream Adaptation via Self-Evolution: "
        "A Case Study on SuperGLUE"
    ]
    assert _names(superglue) == ["Qihuang Zhong", "Liang Ding", "Yibing Zhan"]
    assert (superglue.primary_category, superglue.code_badge) == ("CL", False)
    # Title ending in "?".
    linguistic = cards[
        "Can Linguistic Knowledge Improve Multimodal Alignment in Vision-Language Pretraining?"
    ]
    assert _names(linguistic) == ["Fei Wang", "Liang Ding", "Jun Rao"]
    assert linguistic.primary_category == "MM"
    # Hyphenated given names, first and second.
    depth = cards["Depth-Aware Generative Adversarial Network for Talking Head Video Generation"]
    assert _names(depth) == ["Fa-Ting Hong", "Longhao Zhang", "Li Shen"]
    assert _names(
        cards["Merging Experts into One: Improving Computational Efficiency of Mixture of Experts"]
    ) == ["Shwai He", "Run-Ze Fan", "Liang Ding"]
    # Commas inside the title.
    merging = cards[
        "Model Merging in LLMs, MLLMs, and Beyond: Methods, Theories, Applications and Opportunities"
    ]
    assert _names(merging) == ["Enneng Yang", "Li Shen", "Guibing Guo"]
    assert merging.published == date(2024, 8, 14)
    # The one card with an organisation slug and no Code badge.
    adatask = cards["AdaTask: A Task-aware Adaptive Learning Rate Approach to Multi-task Learning"]
    assert adatask.orgs == ["tencent-ai"] and adatask.code_badge is False
    assert _names(adatask) == ["Enneng Yang", "Junwei Pan", "Ximei Wang"]
    # The owner leading the list.
    fdnet = cards[
        "FDNet: Focal Decomposed Network for Efficient, Robust and Practical Time Series Forecasting"
    ]
    assert _names(fdnet) == ["Li Shen", "Yuning Wei", "Yangzhu Wang"]


def test_papers_shown_on_both_author_pages(bo_han, li_shen) -> None:
    bo, li = _cards(bo_han), _cards(li_shen)
    assert set(bo) & set(li) == SHARED_TITLES
    for title in SHARED_TITLES:
        a, b = bo[title], li[title]
        assert (a.published, a.primary_category, a.code_badge) == (
            b.published,
            b.primary_category,
            b.code_badge,
        )
        assert _names(a) == _names(b)
        assert a.abstract == b.abstract


# --------------------------------------------------------------------------- hf-papers-search.txt


@pytest.fixture(scope="module")
def papers(listings_dir: Path):
    return _page(listings_dir, "hf-papers-search.txt", PAPERS_AS_OF)


def test_papers_list_count_and_header(papers) -> None:
    # 74 = 73 "·" separator lines (one per entry with its "• N authors" and date lines) plus the
    # ConceptMaster entry (line 69), which shows a title and an abstract but no metadata; check:
    # after the header there are 148 lines that are neither metadata nor blank = 74 titles + 74 abstracts.
    assert papers.kind == "papers" and papers.header is None
    assert papers.listed_on == date(2025, 11, 12)  # "Nov 12" under "Daily Papers"
    assert len(papers.records) == 74
    cards = _cards(papers)
    assert len(cards) == 74
    assert all(c.abstract and c.code_badge is None and c.authors == [] for c in cards.values())
    assert all(c.primary_category is None and c.listing_score is None for c in cards.values())
    assert all(c.owner_author is None and c.orgs == [] for c in cards.values())
    assert "Get trending papers in your email inbox!" not in cards and "Subscribe" not in cards


def test_papers_list_first_last_and_metadata_less_entry(papers) -> None:
    first, last = papers.records[0], papers.records[-1]
    assert first.source_key == "hf-papers-search.txt#1"
    assert first.title == "ERASE: Error-Resilient Representation Learning on Graphs for Label Noise Tolerance"
    assert (first.author_count, first.published, first.upvotes) == (8, date(2023, 12, 13), 0)
    assert first.abstract.startswith("Deep learning has achieved remarkable success in graph-related tasks")

    assert last.source_key == "hf-papers-search.txt#74"
    assert last.title == "Active Generalized Category Discovery"
    assert (last.author_count, last.published, last.upvotes) == (5, date(2024, 3, 7), 0)

    concept = papers.records[7]
    assert concept.title == (
        "ConceptMaster: Multi-Concept Video Customization on Diffusion Transformer Models "
        "Without Test-Time Tuning"
    )
    assert concept.abstract.startswith("Text-to-video generation has made remarkable advancements")
    assert (concept.author_count, concept.published, concept.upvotes) == (None, None, None)
    nxt = papers.records[8]
    assert (
        nxt.title
        == "Learning from Label Proportions: Bootstrapping Supervised Learners via Belief Propagation"
    )
    assert (nxt.author_count, nxt.published) == (5, date(2023, 10, 12))


def test_papers_list_upvotes_follow_the_date(papers) -> None:
    cards = _cards(papers)
    voted = {t: (c.published, c.upvotes) for t, c in cards.items() if c.upvotes}
    assert voted == {
        "DDT: Decoupled Diffusion Transformer": (date(2025, 4, 8), 3),  # "Apr 8 3"
        "Heavy Labels Out! Dataset Distillation with Label Space Lightening": (date(2024, 8, 15), 2),
        "Decoupled Contrastive Learning": (date(2021, 10, 13), 1),
        "Simple Semi-supervised Knowledge Distillation from Vision-Language Models via "
        "texttt{D}ual-texttt{H}ead texttt{O}ptimization": (date(2025, 5, 12), 3),  # LaTeX lost its "\"
        "PanGu-Draw: Advancing Resource-Efficient Text-to-Image Synthesis with Time-Decoupled Training "
        "and Reusable Coop-Diffusion": (date(2023, 12, 27), 1),
        "SPARSE Data, Rich Results: Few-Shot Semi-Supervised Learning via Class-Conditioned Image "
        "Translation": (date(2025, 8, 8), 2),
    }
    assert (
        cards[
            "PanGu-Draw: Advancing Resource-Efficient Text-to-Image Synthesis with Time-Decoupled "
            "Training and Reusable Coop-Diffusion"
        ].author_count
        == 10
    )
    assert cards["CLOOB: Modern Hopfield Networks with InfoLOOB Outperform CLIP"].author_count == 11


def test_papers_list_year_less_dates(papers, listings_dir: Path) -> None:
    cards = _cards(papers)
    stydeco = "StyDeco: Unsupervised Style Transfer with Distilling Priors and Semantic Decoupling"
    assert cards[stydeco].published == date(2025, 8, 2)  # "Aug 2"
    assert cards[
        "Decoupling Contrastive Decoding: Robust Hallucination Mitigation in Multimodal Large Language Models"
    ].published == date(2025, 4, 8)  # "Apr 8", no upvotes
    # 10 entries show a year-less date alone ("Aug 2" ... "May 15") and 3 followed by upvotes
    # ("Apr 8 3", "May 12 3", "Aug 8 2"); none shows ", 2025". All 13 are of 2025 when saved 2025-11-12.
    assert sum(1 for c in cards.values() if c.published and c.published.year == 2025) == 13
    earlier = _page(listings_dir, "hf-papers-search.txt", date(2025, 8, 1))
    assert _cards(earlier)[stydeco].published == date(2024, 8, 2)
    assert earlier.listed_on == date(2024, 11, 12)


def test_read_files_yields_one_batch_per_file(listings_dir: Path) -> None:
    names = ["author-bo-han.txt", "author-li-shen.txt", "hf-papers-search.txt"]
    batches = list(read_files([listings_dir / n for n in names], as_of=AUTHOR_AS_OF))
    assert [b.label for b in batches] == names
    assert all(isinstance(b, Batch) and b.cursor is None for b in batches)
    assert [len(b.records) for b in batches] == [51, 50, 74]
    assert isinstance(batches[0].records[0], AuthorProfileRecord)
    assert batches[0].records[0].h_index == 87
    assert not any(isinstance(r, (AuthorProfileRecord, Malformed)) for b in batches[1:] for r in b.records)


# --------------------------------------------------------------------------- hand-written pages


def test_author_page_edge_cases() -> None:
    batch = next(read_files([DATA / "author-edge.txt"], as_of=AUTHOR_AS_OF))
    header, *cards = batch.records
    assert (header.name, header.field, header.h_index, header.paper_count) == ("Ada Example", "CV", 12, 5)
    assert (header.citation_count, header.novelty, header.ai_score) == (1024, 61.5, 70.0)
    assert len(cards) == 7

    probes = cards[0]  # "88.1Jun 3Code": a score but no category tag; one author, three orgs
    assert (probes.title, probes.listing_score, probes.primary_category) == (
        "Sparse Probes for Dense Scenes",
        88.1,
        None,
    )
    assert (probes.published, probes.code_badge) == (date(2026, 6, 3), True)
    assert _names(probes) == ["Mia Chen"] and not probes.authors_truncated
    assert probes.orgs == ["mit", "cmu", "eth-zurich"]

    assert cards[1] == Malformed(
        "listing",
        "author-edge.txt:19",
        "impossible date in 'LGFeb 30, 2023'",
        "LGFeb 30, 2023\nA Card With an Impossible Date\nAda Example, Bo Li\nIts date does not exist.",
    )
    assert isinstance(cards[2], Malformed) and cards[2].position == "author-edge.txt:26"
    assert "without a title" in cards[2].reason

    month_only = cards[3]  # "CLMar 2021Code", no abstract
    assert (month_only.title, month_only.published, month_only.year) == ("Month and Year Only", None, 2021)
    assert month_only.abstract is None and _names(month_only) == ["Ada Example", "Bo Li"]

    leap = cards[4]  # "Feb 29" alone: the latest 29 February before the page was saved
    assert (leap.published, leap.primary_category, leap.code_badge) == (date(2024, 2, 29), None, False)

    no_authors = cards[5]
    assert (no_authors.title, no_authors.authors) == ("ResNet Strikes Back", [])
    assert no_authors.abstract.startswith("Nobody listed the authors")
    assert cards[6] == Malformed("listing", "author-edge.txt:49", "card without a title", "LGJul 4, 2022")
    assert [c.source_key for c in cards if isinstance(c, PaperRecord)] == [
        f"author-edge.txt#{i}" for i in (1, 4, 5, 6)
    ]


def test_glued_page_edge_cases() -> None:
    page = parse_listing(
        (DATA / "glued-edge.txt").read_text(),
        source_name="glued-edge.txt",
        as_of=AUTHOR_AS_OF,
        author="J. R. R. Tolkien",
    )
    r = page.records
    assert page.header is None and len(r) == 7
    assert (r[0].title, _names(r[0]), r[0].authors_truncated) == ("Learning in the Dark", ["Li Shen"], False)
    assert (r[1].title, _names(r[1]), r[1].orgs) == (
        "Compressing Radiance Fields to 1 MB",
        ["Mei Ling Zhou", "Li Shen"],
        ["mit", "tencent-ai"],
    )
    assert (r[2].title, _names(r[2])) == ("Is SuperGLUE Solved?", ["Fa-Ting Hong", "Run-Ze Fan", "Li Shen"])
    assert (r[3].title, _names(r[3])) == ("Faster Training with FedAvg", ["Wei Zhang", "Li Shen", "Hao Li"])
    assert isinstance(r[4], Malformed) and r[4].position == "glued-edge.txt:13"
    assert "without a title" in r[4].reason
    # Only the owner's name shows where the unusual "J. R. R." list begins.
    assert (r[5].title, _names(r[5])) == ("The Hobbit Returns", ["J. R. R. Tolkien", "Christopher Tolkien"])
    assert (r[6].title, r[6].authors) == ("ResNet Strikes Back", [])
    assert {c.owner_author for c in r if isinstance(c, PaperRecord)} == {"J. R. R. Tolkien"}


def test_glued_line_nobody_can_split_is_quarantined_not_guessed() -> None:
    page = parse_listing(
        (DATA / "glued-edge.txt").read_text(), source_name="glued-edge.txt", as_of=AUTHOR_AS_OF
    )
    hobbit = page.records[5]
    assert isinstance(hobbit, Malformed) and hobbit.position == "glued-edge.txt:16"
    assert "cannot tell the title from the author list" in hobbit.reason
    assert page.records[0].owner_author is None


def test_papers_list_edge_cases() -> None:
    page = parse_listing(
        (DATA / "papers-edge.txt").read_text(), source_name="papers-edge.txt", as_of=date(2026, 1, 5)
    )
    assert page.listed_on == date(2026, 1, 5)
    r = page.records
    assert len(r) == 5
    assert (r[0].title, r[0].published, r[0].upvotes, r[0].author_count) == (
        "Winter Papers Across the Year Boundary",
        date(2025, 12, 30),
        12,
        3,
    )  # "Dec 30 12"
    assert (r[1].published, r[1].upvotes, r[1].author_count) == (
        date(2024, 1, 2),
        7,
        2,
    )  # count on its own line
    assert r[2] == Malformed(
        "listing", "papers-edge.txt:28", "entry without a title", "• 4 authors\n·\nJan 3, 2024"
    )
    assert (r[3].title, r[3].abstract, r[3].author_count, r[3].published, r[3].upvotes) == (
        "No Abstract Shown",
        None,
        1,
        date(2026, 1, 4),
        5,
    )
    assert isinstance(r[4], Malformed) and r[4].reason == "impossible date 'Feb 30, 2023'"
    assert r[4].position == "papers-edge.txt:37"


def test_unrecognised_and_unreadable_files_become_one_malformed(tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("Just some notes\n\nnothing like a listing\n")
    binary = tmp_path / "broken.txt"
    binary.write_bytes(b"\xff\xfe\x00broken")
    with pytest.raises(ListingFormatError, match="notes.txt"):
        parse_listing(stray.read_text(), source_name="notes.txt", as_of=AUTHOR_AS_OF)
    batches = list(
        read_files([stray, tmp_path / "missing.txt", binary, DATA / "glued-edge.txt"], as_of=AUTHOR_AS_OF)
    )
    assert [b.label for b in batches] == ["notes.txt", "missing.txt", "broken.txt", "glued-edge.txt"]
    for b in batches[:3]:
        assert len(b.records) == 1 and isinstance(b.records[0], Malformed)
        assert b.records[0].position == f"{b.label}:1"
    assert len(batches[3].records) == 7  # the pages after a bad one still load


def _read(path: Path) -> list:
    return [r for b in read_files([path], as_of=PAPERS_AS_OF) for r in b.records]


def test_a_page_in_utf16_or_with_a_bom_reads_like_the_page(listings_dir: Path, tmp_path: Path) -> None:
    data = (listings_dir / "hf-papers-search.txt").read_bytes()
    expected = _read(listings_dir / "hf-papers-search.txt")
    (tmp_path / "utf16.txt").write_bytes(data.decode().encode("utf-16"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + data)
    for name in ("utf16.txt", "bom.txt"):
        got = _read(tmp_path / name)
        assert [r.title for r in got] == [r.title for r in expected]
        assert [replace(r, source_key="") for r in got] == [replace(r, source_key="") for r in expected]


def test_a_bad_byte_costs_only_its_entry(listings_dir: Path, tmp_path: Path) -> None:
    data = (listings_dir / "hf-papers-search.txt").read_bytes()
    title = b"Towards Deeper Graph Neural Networks"
    at = data.index(b"neighborhood aggregation", data.index(title))
    path = tmp_path / "bad-byte.txt"
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    expected = [r.title for r in _read(listings_dir / "hf-papers-search.txt")]
    got = _read(path)
    assert [r.title for r in got if isinstance(r, PaperRecord)] == [t for t in expected if t != title.decode()]
    (bad,) = [r for r in got if isinstance(r, Malformed)]
    line = data[:data.index(title)].count(b"\n") + 1
    assert bad.position == f"bad-byte.txt:{line}"
    assert bad.reason == "bytes that are not valid text in the page's encoding"


def test_a_page_cut_inside_its_last_entry_quarantines_that_entry(listings_dir: Path, tmp_path: Path) -> None:
    data = (listings_dir / "hf-papers-search.txt").read_bytes()
    last_title = data.rstrip().rsplit(b"\n\n", 3)[-3].strip()  # title, abstract, authors + date
    cut = data.index(last_title) + len(last_title) + 40  # inside its abstract
    path = tmp_path / "cut.txt"
    path.write_bytes(data[:cut])
    got = _read(path)
    expected = _read(listings_dir / "hf-papers-search.txt")
    assert [r.title for r in got[:-1]] == [r.title for r in expected[:-1]]
    assert isinstance(got[-1], Malformed)
    assert got[-1].reason == "the page ends inside this entry (no author count or date)"
    line = data[:data.index(last_title)].count(b"\n") + 1
    assert got[-1].position == f"cut.txt:{line}"


def test_resolve_date() -> None:
    assert resolve_date("Dec", 31, None, date(2026, 1, 1)) == date(2025, 12, 31)
    assert resolve_date("Jan", 1, None, date(2026, 1, 1)) == date(2026, 1, 1)
    assert resolve_date("Feb", 29, None, date(2027, 3, 1)) == date(2024, 2, 29)
    assert resolve_date("Mar", 1, 2019, date(2026, 1, 1)) == date(2019, 3, 1)
    with pytest.raises(ValueError):
        resolve_date("Feb", 30, None, date(2026, 1, 1))


def test_an_author_page_cut_inside_its_last_card_quarantines_that_card(listings_dir: Path, tmp_path: Path) -> None:
    data = (listings_dir / "author-li-shen.txt").read_bytes()
    title = b"DiffCPS: Diffusion Model based Constrained Policy Search for Offline Reinforcement Learning"
    path = tmp_path / "cut.txt"
    path.write_bytes(data[:data.index(title) + len(title) + 9])  # the glued author list cut after a name
    got = [r for b in read_files([path], as_of=AUTHOR_AS_OF, author="Li Shen") for r in b.records]
    assert title.decode() not in [r.title for r in got if isinstance(r, PaperRecord)]
    assert all(r.title and not r.title.startswith(title.decode()) for r in got if isinstance(r, PaperRecord))
    assert isinstance(got[-1], Malformed)
    assert got[-1].reason == "the page ends inside this card (nothing after its title)"
