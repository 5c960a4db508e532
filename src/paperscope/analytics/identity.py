"""Who is who: author ids of several systems and bare names resolved into identities.

Rules (docs/authors.md explains each with examples):

1. Two ids of one system (two ORCIDs, two OpenAlex `A…` ids, two S2 ids) are never put in one
   identity automatically: every union that would do so is refused.
2. Ids of different systems are linked on evidence: one author row carrying both ids (a source
   said so), two sources naming the same person at the same place on the same paper, or a
   compatible name together with shared co-authors.
3. A name-only id (`name:<slug>`, from arXiv and listings) first has its namesakes split off:
   papers that share no co-author and no field with the rest of the slug's papers are another
   person's (`name:bo-han~CR`). Each part is then matched to an identity by compatible name
   (diacritics, initials, order) together with co-author overlap and a field in common.
4. Ambiguous names stay apart: a part that two different identities would claim joins neither.
5. Hand corrections (merge, split, split papers) are applied on every run, so they survive
   re-ingest: merges are forced, splits are constraints no automatic union may break.

Pure Python over plain mappings; analytics.authors loads the inputs and writes the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from paperscope.analytics.names import candidate_pairs

SYSTEMS = ("orcid", "openalex", "s2")
_RANK = {"orcid": 0, "openalex": 1, "s2": 2, "name": 3}
# A namesake is split off a name-only id only against a main person with at least this many papers,
# and only when the part has at most 1/MAIN_SHARE of the main person's papers.
MIN_MAIN_PAPERS = 4
MAIN_SHARE = 3
COMMON_SURNAME = 10
COMMON_GIVEN = 5
ERA_GAP = 8  # years without papers that split a name-only id's papers into eras (no shared co-author)


@dataclass(frozen=True, slots=True)
class AuthorInfo:
    name: str
    name_key: str
    orcid: str | None = None
    openalex_id: str | None = None
    s2_id: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    id: int
    kind: str  # merge | split | split_papers
    a: str
    b: str | None = None
    papers: tuple[str, ...] = ()


@dataclass
class IdentityInput:
    authors: dict[str, AuthorInfo]
    authors_of: dict[str, list[str]]  # paper id -> author ids on it, in order
    tags: dict[str, str | None]  # paper id -> primary tag
    years: dict[str, int | None] = field(default_factory=dict)  # paper id -> year
    cross_tags: dict[str, set[str]] = field(default_factory=dict)  # paper id -> tags of all categories
    same_paper: list[tuple[str, str, str]] = field(default_factory=list)  # (author id, author id, paper)
    corrections: list[Correction] = field(default_factory=list)
    _surnames: Counter[str] | None = None
    _given: Counter[str] | None = None

    def is_common(self, name_key: str) -> bool:
        """A name many people may share: at least COMMON_SURNAME distinct names in the store end
        with its surname and COMMON_GIVEN begin with its first given name ("wei liu", "bo han")."""
        if self._surnames is None or self._given is None:
            keys = {info.name_key for info in self.authors.values()}
            self._surnames = Counter(k.split()[-1] for k in keys if k.split())
            self._given = Counter(k.split()[0] for k in keys if len(k.split()) > 1)
        parts = name_key.split()
        if len(parts) < 2:
            return True  # a bare surname says little
        return self._surnames[parts[-1]] >= COMMON_SURNAME and self._given[parts[0]] >= COMMON_GIVEN


@dataclass
class IdentityResult:
    links: dict[str, tuple[str, str, str]]  # author id -> (identity id, rule, evidence), only if differing
    overrides: dict[tuple[str, str], tuple[str, str, str]]  # (paper, author id) -> (identity, rule, evidence)
    refused: list[str]  # unions refused by rule 1, 4 or a split, with why (for explain / docs)

    def identity_of(self, paper_id: str, author_id: str) -> str:
        hit = self.overrides.get((paper_id, author_id))
        if hit:
            return hit[0]
        link = self.links.get(author_id)
        return link[0] if link else author_id


def system_of(node: str) -> str:
    return node.split(":", 1)[0] if ":" in node else "name"


def _systems(author_id: str, info: AuthorInfo | None) -> dict[str, str]:
    found: dict[str, str] = {}
    system = system_of(author_id)
    if system in SYSTEMS:
        found[system] = author_id.split(":", 1)[1]
    if info is not None:
        for system, value in (("orcid", info.orcid), ("openalex", info.openalex_id), ("s2", info.s2_id)):
            if value:
                found.setdefault(system, value)
    return found


class _Clusters:
    """Union-find whose components hold at most one id per system and honour cannot-links."""

    def __init__(self, systems_of: Callable[[str], dict[str, str]]) -> None:
        self.systems_of = systems_of  # a node's ids, looked up when it first takes part in a union
        self.parent: dict[str, str] = {}
        self.systems: dict[str, dict[str, str]] = {}
        self.members: dict[str, list[str]] = {}
        self.reason: dict[str, tuple[str, str]] = {}
        self.apart: dict[str, set[str]] = {}  # node -> nodes it must never join
        self.refused: list[str] = []

    def add(self, node: str, systems: dict[str, str]) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.systems[node] = dict(systems)
            self.members[node] = [node]

    def find(self, node: str) -> str:
        if node not in self.parent:
            self.add(node, self.systems_of(node))
            return node
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def conflict(self, a: str, b: str) -> str | None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        for system, value in self.systems[ra].items():
            other = self.systems[rb].get(system)
            if other is not None and other != value:
                return f"two {system} ids ({value}, {other})"
        members_b = set(self.members[rb])
        for member in self.members[ra]:
            if self.apart.get(member, set()) & members_b:
                return "kept apart by a hand split"
        return None

    def union(self, a: str, b: str, rule: str, evidence: str, force: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        why = None if force else self.conflict(a, b)
        if why:
            self.refused.append(f"{a} + {b} ({rule}: {evidence}) refused: {why}")
            return False
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
            a, b = b, a
        self.parent[rb] = ra
        for system, value in self.systems.pop(rb).items():
            self.systems[ra].setdefault(system, value)
        self.members[ra].extend(self.members.pop(rb))
        self.reason.setdefault(b, (rule, evidence))
        self.reason.setdefault(a, (rule, evidence))
        return True


def _coauthors(papers: Iterable[str], author_id: str, data: IdentityInput) -> set[str]:
    return {a for p in papers for a in data.authors_of.get(p, ()) if a != author_id}


def _era_groups(
    author_id: str, papers: list[str], data: IdentityInput, common: bool
) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Split a common name's papers at gaps of more than ERA_GAP years that no co-author bridges.
    Returns the main era's papers (the largest; papers without a year stay in it) and the others.
    Rare names are left whole: a long career with gaps in the store's coverage is likelier."""
    if not common:
        return papers, {}
    dated = sorted((y, p) for p in papers if (y := data.years.get(p)) is not None)
    if len(dated) < 3:
        return papers, {}
    eras: list[list[str]] = [[dated[0][1]]]
    for (y0, _), (y1, paper) in zip(dated, dated[1:], strict=False):
        if y1 - y0 > ERA_GAP:
            eras.append([])
        eras[-1].append(paper)
    if len(eras) < 2:
        return papers, {}
    merged: list[list[str]] = [eras[0]]
    for era in eras[1:]:  # a co-author across the gap: one career with a gap in the store
        if _coauthors(era, author_id, data) & _coauthors(merged[-1], author_id, data):
            merged[-1] = merged[-1] + era
        else:
            merged.append(era)
    if len(merged) < 2:
        return papers, {}
    main = max(merged, key=len)
    if len(main) < 2:
        return papers, {}
    years = [data.years[p] for p in main]
    out: dict[str, tuple[str, str]] = {}
    for era in merged:
        if era is main:
            continue
        era_years = [data.years[p] for p in era]
        group = f"{author_id}~{min(era_years) // 10 * 10}s"
        evidence = (f"{len(era)} paper(s) of {min(era_years)}-{max(era_years)}: more than {ERA_GAP} years "
                    f"from the "
                    f"{len(main)} of {min(years)}-{max(years)}, with no co-author in common")
        for paper in era:
            out[paper] = (group, evidence)
    kept = [p for p in papers if p not in out]
    return kept, out


def _field_groups(author_id: str, papers: list[str], data: IdentityInput) -> dict[str, tuple[str, str]]:
    """Fields (primary tags) are joined when one paper lists both (cross-listing) or when papers in
    them share a co-author; the largest joined set of fields is the main person, and a part with no
    co-author and no field in common with it is another person's."""
    if len(papers) < MIN_MAIN_PAPERS + 1:
        return {}
    field_of = {p: data.tags.get(p) for p in papers}
    known = {t for t in field_of.values() if t}
    if len(known) < 2:
        return {}
    parent = {t: t for t in known}

    def find(t: str) -> str:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for paper in papers:
        tag = field_of[paper]
        if tag and paper in data.cross_tags:
            for other in data.cross_tags[paper] & known:
                join(tag, other)
    if len({find(t) for t in known}) < 2:
        return {}  # cross-listing alone joins every field
    by_coauthor: dict[str, set[str]] = {}
    for paper in papers:
        tag = field_of[paper]
        if tag:
            for coauthor in data.authors_of.get(paper, ()):
                if coauthor != author_id:
                    by_coauthor.setdefault(coauthor, set()).add(tag)
    for tags in by_coauthor.values():
        first, *rest = sorted(tags)
        for other in rest:
            join(first, other)
    components: dict[str, list[str]] = {}
    for paper in papers:
        if field_of[paper]:
            components.setdefault(find(field_of[paper]), []).append(paper)
    if len(components) < 2:
        return {}
    main = max(components, key=lambda root: (len(components[root]), -ord(root[0])))
    if len(components[main]) < MIN_MAIN_PAPERS:
        return {}  # too few papers to tell a second person from a side interest
    tags_of_root: dict[str, set[str]] = {}
    for t in known:
        tags_of_root.setdefault(find(t), set()).add(t)
    main_tags = ", ".join(sorted(tags_of_root[main]))
    out: dict[str, tuple[str, str]] = {}
    for root, members in components.items():
        if root == main or len(members) * MAIN_SHARE > len(components[main]):
            continue
        tags = sorted(tags_of_root[root])
        group = f"{author_id}~{'+'.join(tags)}"
        evidence = (f"{len(members)} paper(s) in {', '.join(tags)} share no co-author and no field with "
                    f"the {len(components[main])} in {main_tags}")
        for paper in members:
            out[paper] = (group, evidence)
    # Papers without a field follow a co-author into a split part, else stay with the main person.
    group_coauthors: dict[str, set[str]] = {}
    for paper, (group, _) in out.items():
        group_coauthors.setdefault(group, set()).update(_coauthors([paper], author_id, data))
    for paper in papers:
        if field_of[paper] is None:
            hits = [g for g, co in group_coauthors.items() if co & _coauthors([paper], author_id, data)]
            if len(hits) == 1:
                out[paper] = (hits[0], "shares a co-author only with that part")
    return out


def _namesake_groups(author_id: str, papers: list[str], data: IdentityInput) -> dict[str, tuple[str, str]]:
    """Papers of a name-only id that belong to another person: paper -> (group id, evidence).
    First by era (a gap of years no co-author bridges), then by field within the main era."""
    kept, out = _era_groups(author_id, papers, data, data.is_common(data.authors[author_id].name_key)
                            if author_id in data.authors else False)
    out.update(_field_groups(author_id, kept, data))
    return out


def resolve_identities(data: IdentityInput) -> IdentityResult:
    clusters = _Clusters(lambda node: _systems(node, data.authors.get(node)))

    papers_of: dict[str, list[str]] = {}
    for paper, ids in data.authors_of.items():
        for author_id in ids:
            papers_of.setdefault(author_id, []).append(paper)

    # Rule 3 (first half) and hand split_papers: authorships moved to parts of their own.
    overrides: dict[tuple[str, str], tuple[str, str, str]] = {}
    for author_id, papers in papers_of.items():
        if len(papers) >= 3 and system_of(author_id) == "name":
            for paper, (group, evidence) in _namesake_groups(author_id, papers, data).items():
                overrides[(paper, author_id)] = (group, "namesake_split", evidence)
    for c in data.corrections:
        if c.kind == "split_papers":
            group = f"{c.a}~split{c.id}"
            for paper in c.papers:
                overrides[(paper, c.a)] = (group, "manual_split", f"hand correction #{c.id}")
    node_papers: dict[str, list[str]] = dict(papers_of)
    node_key: dict[str, str] = {a: info.name_key for a, info in data.authors.items()}
    moved: dict[str, set[str]] = {}
    for (paper, author_id), (group, _, _) in overrides.items():
        if author_id in data.authors_of.get(paper, ()):
            moved.setdefault(author_id, set()).add(paper)
            node_papers.setdefault(group, []).append(paper)
            clusters.add(group, {})
            node_key.setdefault(group, node_key.get(author_id, ""))
    for author_id, papers in moved.items():
        node_papers[author_id] = [p for p in papers_of[author_id] if p not in papers]

    for c in data.corrections:
        if c.kind == "split" and c.b:
            clusters.apart.setdefault(c.a, set()).add(c.b)
            clusters.apart.setdefault(c.b, set()).add(c.a)

    # Rule 2: rows that carry the same id of some system are one person.
    holders: dict[tuple[str, str], list[str]] = {}
    for author_id, info in data.authors.items():
        for system, value in _systems(author_id, info).items():
            holders.setdefault((system, value), []).append(author_id)
    for (system, value), ids in sorted(holders.items()):
        for other in ids[1:]:
            clusters.union(ids[0], other, "shared_id", f"both carry {system} {value}")

    # Rule 2: two sources name the same person on the same paper.
    direct: set[tuple[str, str]] = set()
    for a, b, paper in data.same_paper:
        na = overrides.get((paper, a), (a,))[0]
        nb = overrides.get((paper, b), (b,))[0]
        for node in (na, nb):
            clusters.add(node, _systems(node, data.authors.get(node)))
        if system_of(na) != "name" and system_of(nb) != "name":
            clusters.union(na, nb, "same_paper", f"two sources name them at one place on {paper}")
        else:
            direct.add((min(na, nb), max(na, nb)))

    _link_by_name(clusters, node_papers, node_key, data, direct)

    for c in data.corrections:
        if c.kind == "merge" and c.b:
            for node in (c.a, c.b):
                clusters.add(node, _systems(node, data.authors.get(node)))
            clusters.union(c.a, c.b, "manual_merge", f"hand correction #{c.id}", force=True)

    return _result(clusters, overrides, data)


def _coauthor_keys(node: str, node_papers: dict[str, list[str]], data: IdentityInput,
                   cache: dict[str, set[str]]) -> set[str]:
    if node not in cache:
        own = node.split("~", 1)[0]
        keys: set[str] = set()
        for paper in node_papers.get(node, ()):
            for other in data.authors_of.get(paper, ()):
                if other != own:
                    info = data.authors.get(other)
                    if info and info.name_key:
                        keys.add(info.name_key)
        cache[node] = keys
    return cache[node]


def _link_by_name(
    clusters: _Clusters,
    node_papers: dict[str, list[str]],
    node_key: dict[str, str],
    data: IdentityInput,
    direct: set[tuple[str, str]],
) -> None:
    """Rule 3 (second half) and rule 4: compatible names with co-author and field evidence."""
    cache: dict[str, set[str]] = {}
    claims: dict[str, list[tuple[str, str]]] = {}
    pairs = candidate_pairs((node, key) for node, key in node_key.items() if key)
    for a, b, how in pairs:
        if system_of(a) != "name" and system_of(b) != "name" and system_of(a) == system_of(b):
            continue  # rule 1: never by name alone
        if a.split("~", 1)[0] == b.split("~", 1)[0]:
            continue  # parts of one slug were split apart on purpose
        papers_a, papers_b = set(node_papers.get(a, ())), set(node_papers.get(b, ()))
        if papers_a & papers_b:
            continue  # two people on one paper
        if (min(a, b), max(a, b)) in direct:
            evidence = "two sources name them at one place on the same paper"
        else:
            shared = _coauthor_keys(a, node_papers, data, cache) & _coauthor_keys(b, node_papers, data, cache)
            tags_a = {data.tags.get(p) for p in papers_a} - {None}
            tags_b = {data.tags.get(p) for p in papers_b} - {None}
            fields = tags_a & tags_b
            frequent = data.is_common(node_key.get(a, "")) or data.is_common(node_key.get(b, ""))
            needed = 2 if how == "order" or frequent else 1
            if len(shared) < needed or (tags_a and tags_b and not fields):
                continue
            evidence = (f"names {how}{' (a common name)' if frequent else ''}; {len(shared)} shared "
                        f"co-author(s) ({', '.join(sorted(shared)[:3])})"
                        + (f"; field {', '.join(sorted(fields))}" if fields else ""))
        for node, other in ((a, b), (b, a)):
            claims.setdefault(node, []).append((other, evidence))
    done: set[tuple[str, str]] = set()
    for node, found in sorted(claims.items()):
        roots = {clusters.find(other) for other, _ in found}
        if system_of(node) == "name" and len(roots) > 1:
            clusters.refused.append(
                f"{node}: ambiguous between {', '.join(sorted(o for o, _ in found))}; kept apart")
            continue
        for other, evidence in found:
            pair = (min(node, other), max(node, other))
            if pair in done:
                continue
            other_claims = claims.get(other, [])
            if system_of(other) == "name" and len({clusters.find(o) for o, _ in other_claims}) > 1:
                continue
            done.add(pair)
            clusters.union(node, other, "name_evidence", evidence)


def _best(members: Iterable[str]) -> str:
    return min(members, key=lambda m: (_RANK.get(system_of(m), 3), "~" in m, m))


def _result(clusters: _Clusters, overrides: dict[tuple[str, str], tuple[str, str, str]],
            data: IdentityInput) -> IdentityResult:
    identity: dict[str, str] = {}
    for members in clusters.members.values():
        best = _best(members)
        for member in members:
            identity[member] = best
    links: dict[str, tuple[str, str, str]] = {}
    for author_id in data.authors:
        target = identity.get(author_id, author_id)
        if target != author_id:
            rule, evidence = clusters.reason.get(author_id, ("linked", ""))
            links[author_id] = (target, rule, evidence)
    resolved: dict[tuple[str, str], tuple[str, str, str]] = {}
    for key, (group, rule, evidence) in overrides.items():
        target = identity.get(group, group)
        if target != group:
            extra_rule, extra = clusters.reason.get(group, ("linked", ""))
            evidence = f"{evidence}; then {extra_rule}: {extra}"
        resolved[key] = (target, rule, evidence)
    return IdentityResult(links=links, overrides=resolved, refused=clusters.refused)


def identity_names(result: IdentityResult, names: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """The display name of each identity: its most frequent spelling, the longest on a tie.
    `names` are (paper id, author id, name as written) of authorships."""
    counts: dict[str, Counter[str]] = {}
    for paper, author_id, name in names:
        counts.setdefault(result.identity_of(paper, author_id), Counter())[name] += 1
    return {ident: max(c.items(), key=lambda kv: (kv[1], len(kv[0])))[0] for ident, c in counts.items()}


def evaluate_pairs(pairs: list[dict], identity_of: Callable[[dict], str]) -> dict:
    """Precision and recall of merges over labelled pairs ({"a", "b", "same"}): a merge is a pair
    the resolution put in one identity. `identity_of` maps a side ({"author", "paper"?}) to its identity."""
    outcome = Counter()
    wrong: list[dict] = []
    for pair in pairs:
        merged = identity_of(pair["a"]) == identity_of(pair["b"])
        kind = {(True, True): "tp", (True, False): "fp", (False, True): "fn", (False, False): "tn"}[
            (merged, bool(pair["same"]))]
        outcome[kind] += 1
        if kind in ("fp", "fn"):
            wrong.append({**pair, "outcome": kind})
    tp, fp, fn = outcome["tp"], outcome["fp"], outcome["fn"]
    return {
        "pairs": len(pairs), "tp": tp, "fp": fp, "fn": fn, "tn": outcome["tn"],
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "wrong": wrong,
    }
