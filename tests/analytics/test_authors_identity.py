"""Identity rules (analytics.identity) on small hand-built inputs: one rule per test."""

from __future__ import annotations

from paperscope.analytics.identity import AuthorInfo, Correction, IdentityInput, resolve_identities
from paperscope.analytics.names import candidate_pairs, compatible
from paperscope.core.ids import normalise_person_name


def _info(name: str, **ids: str) -> AuthorInfo:
    return AuthorInfo(name, normalise_person_name(name), ids.get("orcid"), ids.get("openalex"), ids.get("s2"))


def test_name_compatibility() -> None:
    assert compatible("alan turing", "alan turing") == "same"
    assert compatible("a turing", "alan turing") == "initials"
    assert compatible("a m turing", "alan mathison turing") == "initials"
    assert compatible("shen li", "li shen") == "order"
    assert compatible("alan turing", "alice turing") is None
    assert compatible("a turing", "a touring") is None
    assert normalise_person_name("Daumé III, Hal") == "hal daume iii"  # diacritics and "Last, First"
    names = [("x", "a turing"), ("y", "alan turing"), ("z", "alan smith"), ("w", "turing alan")]
    pairs = candidate_pairs(names)
    # order and initials together are not enough ("turing alan" vs "a turing")
    assert {(a, b) for a, b, _ in pairs} == {("x", "y"), ("w", "y")}


def test_same_system_ids_are_never_merged_even_with_strong_evidence() -> None:
    authors = {
        "s2:1": _info("Alan Turing", s2="1"), "s2:2": _info("Alan Turing", s2="2"),
        "name:max-newman": _info("Max Newman"), "name:alonzo-church": _info("Alonzo Church"),
    }
    papers = {f"p{i}": [f"s2:{1 + i % 2}", "name:max-newman", "name:alonzo-church"] for i in range(4)}
    result = resolve_identities(IdentityInput(authors, papers, {p: "LO" for p in papers}))
    assert "s2:1" not in result.links and "s2:2" not in result.links


def test_shared_ids_link_across_systems() -> None:
    authors = {
        "orcid:0000-0001-6187-6610": _info("Jason Priem", orcid="0000-0001-6187-6610",
                                           openalex="A5023888391"),
        "openalex:A5023888391": _info("J. Priem", openalex="A5023888391"),
    }
    result = resolve_identities(IdentityInput(authors, {"w1": ["openalex:A5023888391"]}, {}))
    assert result.links["openalex:A5023888391"][:2] == ("orcid:0000-0001-6187-6610", "shared_id")


def test_name_only_joins_the_identity_with_shared_coauthors_and_field() -> None:
    authors = {
        "s2:9": _info("Chengqing Zong", s2="9"), "name:chengqing-zong": _info("Chengqing Zong"),
        "name:jiajun-zhang": _info("Jiajun Zhang"), "name:other": _info("Someone Else"),
    }
    authors_of = {"a": ["s2:9", "name:jiajun-zhang"], "b": ["name:chengqing-zong", "name:jiajun-zhang"],
                  "c": ["name:chengqing-zong", "name:other"]}
    result = resolve_identities(IdentityInput(authors, authors_of, {"a": "CL", "b": "CL", "c": "CL"}))
    target, rule, evidence = result.links["name:chengqing-zong"]
    assert (target, rule) == ("s2:9", "name_evidence") and "jiajun zhang" in evidence
    # Without the shared co-author the same names stay apart.
    authors_of["a"] = ["s2:9"]
    assert "name:chengqing-zong" not in resolve_identities(
        IdentityInput(authors, authors_of, {"a": "CL", "b": "CL", "c": "CL"})).links


def test_ambiguous_name_stays_apart() -> None:
    # "A. Smith" shares a co-author with two different ORCID holders named Alan and Adam Smith.
    authors = {
        "orcid:1": _info("Alan Smith", orcid="1"), "orcid:2": _info("Adam Smith", orcid="2"),
        "name:a-smith": _info("A. Smith"), "name:bob-jones": _info("Bob Jones"),
    }
    authors_of = {"p1": ["orcid:1", "name:bob-jones"], "p2": ["orcid:2", "name:bob-jones"],
                  "p3": ["name:a-smith", "name:bob-jones"]}
    result = resolve_identities(IdentityInput(authors, authors_of, {}))
    assert "name:a-smith" not in result.links
    assert any("ambiguous" in line for line in result.refused)


def _namesake_input() -> IdentityInput:
    authors = {f"name:{n}": _info(n.replace("-", " ").title()) for n in
               ("bo-han", "jianing-zhu", "jiangchao-yao", "ruizhi-cheng", "songqing-chen")}
    authors_of = {f"ml{i}": ["name:jianing-zhu", "name:jiangchao-yao", "name:bo-han"] for i in range(5)}
    authors_of["sec"] = ["name:ruizhi-cheng", "name:songqing-chen", "name:bo-han"]
    tags = {p: "LG" for p in authors_of} | {"ml4": "CV", "sec": "CR"}
    return IdentityInput(authors, authors_of, tags, years={p: 2023 for p in authors_of})


def test_namesake_split_off_a_name_only_id() -> None:
    result = resolve_identities(_namesake_input())
    group, rule, evidence = result.overrides[("sec", "name:bo-han")]
    assert (group, rule) == ("name:bo-han~CR", "namesake_split")
    assert "no co-author and no field" in evidence
    # The CV paper shares co-authors with the LG ones: the same person.
    assert ("ml4", "name:bo-han") not in result.overrides
    assert result.identity_of("ml0", "name:bo-han") == "name:bo-han"


def test_corrections_merge_split_and_split_papers() -> None:
    data = _namesake_input()
    data.authors["s2:77"] = _info("Bo Han", s2="77")
    data.corrections = [
        Correction(1, "merge", "name:bo-han", "s2:77"),
        Correction(2, "split_papers", "name:bo-han", papers=("ml3",)),
        Correction(3, "split", "name:jianing-zhu", "name:jiangchao-yao"),
        Correction(4, "merge", "name:jianing-zhu", "name:ruizhi-cheng"),
    ]
    result = resolve_identities(data)
    assert result.identity_of("ml0", "name:bo-han") == "s2:77"  # the stronger id names the identity
    assert result.overrides[("ml3", "name:bo-han")][:2] == ("name:bo-han~split2", "manual_split")
    assert result.links["name:ruizhi-cheng"][1] == "manual_merge"
    assert result.identity_of("ml0", "name:jianing-zhu") != result.identity_of("ml0", "name:jiangchao-yao")
