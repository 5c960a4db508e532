"""Person-name comparison for author identity: when two normalised names may be one person's.

Names arrive normalised by `core.ids.normalise_person_name` (no accents, case or punctuation;
"Last, First" already reordered). Two names are *compatible* when they are equal, when one is the
other with given names shortened to initials ("a m turing" ~ "alan mathison turing"), or when they
hold the same tokens in another order ("shen li" ~ "li shen", as some sources write family names
first). Compatibility is necessary, never sufficient: identity asks for more evidence on top.
"""

from __future__ import annotations

from collections.abc import Iterable


def tokens(name_key: str) -> list[str]:
    return name_key.split()


def _given_compatible(a: list[str], b: list[str]) -> bool:
    """Given names match token by token, an initial matching any name with that first letter;
    the shorter list may stop early ("a" ~ "alan m")."""
    if not a or not b:
        return True
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if len(x) == 1 and y.startswith(x):
            continue
        if len(y) == 1 and x.startswith(y):
            continue
        return False
    return True


def compatible(a: str, b: str) -> str | None:
    """How names `a` and `b` (normalised keys) may be one person's: "same", "initials", "order"
    or None when they cannot be."""
    if a == b:
        return "same" if a else None
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return None
    if ta[-1] == tb[-1] and _given_compatible(ta[:-1], tb[:-1]):
        return "initials"
    if sorted(ta) == sorted(tb):
        return "order"
    return None


def block_keys(name_key: str) -> set[tuple[str, str]]:
    """Keys under which compatible names meet: (surname, first initial), so "a turing" meets
    "alan turing", and the sorted tokens, so "li shen" meets "shen li"."""
    ts = tokens(name_key)
    if not ts:
        return set()
    if len(ts) == 1:
        return {(ts[0], "")}
    return {(ts[-1], ts[0][0]), (" ".join(sorted(ts)), "*")}


def candidate_pairs(name_keys: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Pairs of (id, id, how) whose names are compatible, from (id, name_key) items; ids with the
    same key are paired too. Blocking keeps this near-linear in the number of names."""
    blocks: dict[tuple[str, str], dict[str, list[str]]] = {}
    for ident, key in name_keys:
        for block in block_keys(key):
            blocks.setdefault(block, {}).setdefault(key, []).append(ident)
    seen: set[tuple[str, str]] = set()
    pairs: list[tuple[str, str, str]] = []

    def add(id_a: str, id_b: str, how: str) -> None:
        pair = (id_a, id_b) if id_a < id_b else (id_b, id_a)
        if id_a != id_b and pair not in seen:
            seen.add(pair)
            pairs.append((*pair, how))

    for block, by_key in blocks.items():
        keys = list(by_key)
        for ids in by_key.values():
            for j, id_a in enumerate(ids):
                for id_b in ids[j + 1 :]:
                    add(id_a, id_b, "same")
        if len(keys) < 2:
            continue
        if block[1] == "*":  # same tokens in another order: every pair
            candidates = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]]
        else:
            # (surname, initial): two full first names must be equal, an initial meets every name
            # with its letter. Indexed by first token, so big blocks ("wang", "y") stay cheap.
            by_first: dict[str, list[str]] = {}
            for key in keys:
                by_first.setdefault(key.split()[0], []).append(key)
            candidates = []
            for first, group in by_first.items():
                candidates += [(a, b) for i, a in enumerate(group) for b in group[i + 1 :]]
                if len(first) > 1:
                    candidates += [(a, b) for a in group for b in by_first.get(first[0], ())]
        for key_a, key_b in candidates:
            how = compatible(key_a, key_b)
            if how:
                for id_a in by_key[key_a]:
                    for id_b in by_key[key_b]:
                        add(id_a, id_b, how)
    return pairs
