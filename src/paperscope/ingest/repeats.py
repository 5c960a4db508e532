"""Repeats inside one input: the one rule every importer follows.

A file or response page may hold the same record twice (a dump written twice over, a page that
lists a paper again). Merging the second into the first would let it replace the first's values
silently, so inside one input (`Origin.input`):

- the first occurrence of an id is the record;
- an exact repeat (everything the source said equal, abstract included) is harmless: counted as
  `repeats`, not written again;
- a repeat that says something else is quarantined, with a reason naming the id, its place and
  the fields that differ. The first stays as stored.

The same id in another input (a later file, the next page, another day's list) is a revision and
merges as usual. Records without an origin (stubs nested in another record: an S2 paper's
citations and references, an author's paper list) are not records of the input and are not
checked. The place of a record makes the check idempotent: a batch written again record by record
(after the store refused it), or a partial record retried at the end of the run, meets itself, not
a repeat.

Memory: 32 bytes per record of the current input (sorted arrays of hashes, searched once per
batch), about 90 MB for a 2.7M-line snapshot; what a first occurrence in an earlier batch said is
read back from the store (`paper_sources`, by its hash) only when a conflict needs its fields named.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import orjson

from paperscope.core.records import AuthorProfileRecord, Malformed, Origin, PaperRecord
from paperscope.ingest.normalise import provenance_record, record_hash

Row = dict[str, Any]
Checked = PaperRecord | AuthorProfileRecord
# Records whose first occurrence was written by an earlier batch -> for each, the versions its
# source said of the paper it matched under the same key, as stored: [(record_hash, record)].
Recall = Callable[[list[PaperRecord]], list[list[tuple[str, Row]]]]
# Records the guard has not met -> for each, a first occurrence another writer stored (the bulk
# load's fast path): (its place, the said hash `paper_sources` keeps, its abstract), or None.
Earlier = Callable[[list[PaperRecord]], list[tuple[int | str, str, str | None] | None]]
_PLACE_IS_TEXT = 1 << 63  # a place that is not a line number: an index into the guard's texts


def _hash64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _said(record: Checked) -> tuple[Row, str | None]:
    """(what the source said of the record, abstract aside; its abstract as stored)."""
    if isinstance(record, PaperRecord):
        abstract = " ".join(record.abstract.split()) if record.abstract else None
        return provenance_record(record), abstract or None
    out: Row = {}
    for item in fields(record):
        if item.name in ("source", "source_key", "origin"):
            continue
        value = getattr(record, item.name)
        if value not in (None, [], {}):
            out[item.name] = value
    return out, None


def _prefix(hex_hash: str) -> int:
    return int(hex_hash[:15], 16)  # 60 bits: fits the table's unsigned 64-bit cells


def _fingerprint(record: Checked, said: Row, abstract: str | None) -> tuple[int, int]:
    """(said hash, abstract hash); a paper's said hash is the one `paper_sources` stores."""
    if isinstance(record, PaperRecord):
        said_hash = record_hash(said)
    else:
        dumped = orjson.dumps(said, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
        said_hash = hashlib.blake2b(dumped, digest_size=16).hexdigest()
    return _prefix(said_hash), _hash64(abstract.encode("utf-8", "surrogatepass")) if abstract else 0


def differing_fields(first: Row, later: Row) -> list[str]:
    return sorted(name for name in set(first) | set(later) if first.get(name) != later.get(name))


@dataclass
class _Table:
    """key hash -> (place, said hash, abstract hash): sorted arrays, new ones merged in as they pile up."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    values: np.ndarray = field(default_factory=lambda: np.empty((0, 3), dtype=np.uint64))
    recent: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, values) for each hash."""
        found = np.zeros(len(hashes), dtype=bool)
        values = np.zeros((len(hashes), 3), dtype=np.uint64)
        for keys, vals in ((self.keys, self.values), *self.recent):
            if not len(keys) or not len(hashes):
                continue
            at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
            hit = (keys[at] == hashes) & ~found
            values[hit] = vals[at[hit]]
            found |= hit
        return found, values

    def add(self, hashes: np.ndarray, values: np.ndarray) -> None:
        if not len(hashes):
            return
        order = np.argsort(hashes, kind="stable")
        self.recent.append((hashes[order], values[order]))
        if sum(len(k) for k, _ in self.recent) > max(len(self.keys) // 4, 1 << 14):
            keys = np.concatenate([self.keys, *(k for k, _ in self.recent)])
            values = np.concatenate([self.values, *(v for _, v in self.recent)])
            order = np.argsort(keys, kind="stable")
            self.keys, self.values, self.recent = keys[order], values[order], []


@dataclass
class Verdicts:
    """What the guard made of one batch's records."""

    kept: list[int] = field(default_factory=list)  # indices of records to write
    repeats: int = 0  # exact repeats: counted, not written
    quarantined: list[Malformed] = field(default_factory=list)


@dataclass(slots=True)
class _Late:
    """A conflicting repeat whose first occurrence an earlier batch wrote: its fields come from the store."""

    index: int
    record: PaperRecord
    origin: Origin
    first_said_hash: int
    said: Row
    abstract_differs: bool


class RepeatGuard:
    """Tells first occurrences, exact repeats and conflicting repeats apart inside one input; one
    guard lives for one run (see the module doc)."""

    def __init__(self) -> None:
        self._input: tuple[str, str] | None = None  # (source, input) being read
        self._table = _Table()
        self._texts: list[str] = []  # places that are not line numbers
        self._profiles: dict[str, Row] = {}  # author reports are few: what the first said, kept whole

    def _enter(self, source: str, origin: Origin) -> None:
        if self._input != (source, origin.input):
            self._input = (source, origin.input)
            self._table, self._texts, self._profiles = _Table(), [], {}

    def _place_code(self, place: int | str) -> int:
        if isinstance(place, int) and 0 <= place < _PLACE_IS_TEXT:
            return place
        self._texts.append(str(place))
        return _PLACE_IS_TEXT | (len(self._texts) - 1)

    def _place(self, code: int) -> int | str:
        return self._texts[code & ~_PLACE_IS_TEXT] if code & _PLACE_IS_TEXT else code

    def check(self, records: list[Checked], recall: Recall, earlier: Earlier | None = None) -> Verdicts:
        """Sort `records` (in input order) into kept, exact repeats and quarantined conflicts;
        `recall` reads back what an earlier batch's first occurrence said, to name the fields;
        `earlier` finds first occurrences that were stored without passing the guard."""
        out = Verdicts()
        late: list[_Late] = []
        # Records of one input come together (stubs without an origin may sit between them); a
        # batch may end one input and start the next.
        group: list[int] = []
        for i, record in enumerate(records):
            if record.origin is None:
                out.kept.append(i)
                continue
            if group and _input_of(records[group[0]]) != _input_of(record):
                self._check_group(records, group, out, late, earlier)
                group = []
            group.append(i)
        if group:
            self._check_group(records, group, out, late, earlier)
        if late:
            versions = recall([x.record for x in late])
            for x, stored in zip(late, versions, strict=True):
                first = next((said for hashed, said in stored if _prefix(hashed) == x.first_said_hash), None)
                names = None
                if first is not None:
                    names = sorted(differing_fields(first, x.said) + (["abstract"] if x.abstract_differs else []))
                out.quarantined.append(_conflict(x.record, x.origin, names, x.said))
        out.kept.sort()
        return out

    def _check_group(
        self, records: list[Checked], group: list[int], out: Verdicts, late: list[_Late], earlier: Earlier | None
    ) -> None:
        """Records `group` (indices into `records`) of one input, in input order."""
        members = [records[i] for i in group]
        self._enter(members[0].source, members[0].origin)  # type: ignore[arg-type]
        said = [_said(r) for r in members]
        prints = [_fingerprint(r, s, a) for r, (s, a) in zip(members, said, strict=True)]
        key_hashes = np.array(
            [_hash64(f"{type(r).__name__}\x1f{r.origin.key}".encode()) for r in members],  # type: ignore[union-attr]
            dtype=np.uint64,
        )
        found, values = self._table.find(key_hashes)
        if earlier is not None:
            unmet = [o for o, r in enumerate(members) if not found[o] and isinstance(r, PaperRecord)]
            stored = earlier([members[o] for o in unmet]) if unmet else []  # type: ignore[misc]
            for o, first in zip(unmet, stored, strict=True):
                if first is not None:
                    place, said_hash, abstract = first
                    found[o] = True
                    abstract_hash = _hash64(abstract.encode("utf-8", "surrogatepass")) if abstract else 0
                    values[o] = (self._place_code(place), _prefix(said_hash), abstract_hash)
        # key hash -> (offset, place code, said hash, abstract hash) of first occurrences in this batch
        in_batch: dict[int, tuple[int, int, int, int]] = {}
        new_keys: list[int] = []
        new_values: list[tuple[int, int, int]] = []
        for offset, record in enumerate(members):
            origin = record.origin
            assert origin is not None
            key = int(key_hashes[offset])
            said_hash, abstract_hash = prints[offset]
            first_offset = None
            if key in in_batch:
                first_offset, place_code, first_said, first_abstract = in_batch[key]
            elif found[offset]:
                place_code, first_said, first_abstract = (int(v) for v in values[offset])
            else:
                code = self._place_code(origin.place)
                in_batch[key] = (offset, code, said_hash, abstract_hash)
                new_keys.append(key)
                new_values.append((code, said_hash, abstract_hash))
                if isinstance(record, AuthorProfileRecord):
                    self._profiles[origin.key] = said[offset][0]
                out.kept.append(group[offset])
                continue
            first_place = self._place(place_code)
            if first_place == origin.place:
                out.kept.append(group[offset])  # the same record met again (a retry), not a repeat
            elif (first_said, first_abstract) == (said_hash, abstract_hash):
                out.repeats += 1
            elif first_said == said_hash:
                out.quarantined.append(_conflict(record, origin, ["abstract"], said[offset][0]))
            elif first_offset is not None or isinstance(record, AuthorProfileRecord):
                first = said[first_offset][0] if first_offset is not None else self._profiles.get(origin.key, {})
                names = differing_fields(first, said[offset][0])
                if first_abstract != abstract_hash:
                    names.append("abstract")
                out.quarantined.append(_conflict(record, origin, sorted(names), said[offset][0]))
            else:
                late.append(
                    _Late(group[offset], record, origin, first_said, said[offset][0],
                          first_abstract != abstract_hash)
                )  # fmt: skip
        self._table.add(np.array(new_keys, dtype=np.uint64), np.array(new_values, dtype=np.uint64).reshape(-1, 3))


def _input_of(record: Checked) -> tuple[str, str] | None:
    return (record.source, record.origin.input) if record.origin is not None else None


def _conflict(record: Checked, origin: Origin, names: list[str] | None, said: Row) -> Malformed:
    # The first's place is left out: the bulk load's fast path does not keep it, and both paths
    # must quarantine alike. The id finds it.
    if names:
        what = f"different {', '.join(names)}"
    else:
        what = "different values (the first is no longer in the store to compare field by field)"
    reason = f"{origin.key}: repeated at {origin.where()} with {what}; the first occurrence is kept"
    raw = orjson.dumps(said, option=orjson.OPT_NON_STR_KEYS, default=str).decode()[:2000]
    return Malformed(record.source, origin.where(), reason, raw)
