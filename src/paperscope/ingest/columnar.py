"""The columnar lane of the bulk snapshot load: a batch of JSON lines to the store's rows as column arrays.

The per-line lane (`bulk.fast_rows`) spends about 55 CPU µs a line in Python: field helpers,
normalisation regexes, the code-link scan and the provenance JSON, one line at a time. Here a whole
batch is decoded (orjson, about 2.5 µs a line: measured faster than pyarrow's and polars' JSON readers
on these lines, 14-17 µs) and turned at once into Arrow arrays, one per field; normalisation, checks,
title keys, author keys, dates and the provenance JSON are then Arrow compute kernels over the
batch. Python touches a line only where a kernel cannot: the 64-bit match-key hashes and the
provenance hash (one hashlib call each), and the code-link scan of the lines that name a code host.

The lane takes the common line and nothing else: every field ASCII without control characters
(tabs and line breaks aside), a plain arXiv id, a parsable DOI or none, version dates of the usual
shape, authors as [last, first, suffix] triples without commas. Any other line (non-ASCII text, a
field of an unexpected JSON type, a line that does not decode) goes through `fast_rows`, the per-line
lane, and from there to the record path when that one too declines it; so one odd line never
costs its neighbours, and every value stored is the one the record path would store (a test
compares the stores field by field).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from paperscope.core.categories import short_tag
from paperscope.core.codelinks import _HOSTS as _CODE_HOSTS_RE  # the code-link pattern, for RE2 alike
from paperscope.core.codelinks import _PATH as _CODE_PATH_RE
from paperscope.core.codelinks import extract_code_urls
from paperscope.ingest.normalise import EARLIEST_YEAR

SOURCE = "arxiv_snapshot"
_PLAIN_ID = r"^(?:[0-9]{4}\.[0-9]{4,5}|[a-z\-]+(?:\.[A-Za-z\-]+)?/[0-9]{7})$"
_PLAIN_DOI = r"^10\.[0-9]{4,9}/[!-~]*[!-+\--:<-~]$"  # no whitespace, no trailing ',' or ';'
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_VERSION_DATE = r"^\S+ (?P<day>[0-9]{1,2}) (?P<month>" + "|".join(_MONTHS) + r") (?P<year>[0-9]{4})(?: |$)"
_CODE_HOSTS = "git|hugging|bitbucket|codeberg|sourceforge|paperswithcode|colab"  # extract_code_urls' own test
_VERSIONS = pa.list_(pa.struct([("version", pa.string()), ("created", pa.string())]))
_AUTHORS_PARSED = pa.list_(pa.list_(pa.string()))
_STRING = pa.string()


class Constant(NamedTuple):
    """One value for every row of a column (no array is built or sent for it)."""

    value: Any


Column = pa.Array | Constant


@dataclass
class Rows:
    """Rows of one table: column arrays in the table's column order, plus rows that came as tuples
    (from the per-line lane), each row tagged with the batch line it came from."""

    columns: list[Column]
    lines: np.ndarray
    tuples: list[tuple[Any, ...]]
    tuple_lines: list[int]
    order: np.ndarray | None = None  # the order to write the array rows in (None: as they are)

    def __len__(self) -> int:
        return len(self.lines) + len(self.tuples)

    def without(self, aside: np.ndarray) -> Rows:
        """These rows less those of the lines marked in `aside` (a boolean per batch line)."""
        keep = ~aside[self.lines] if len(self.lines) else np.zeros(0, dtype=bool)
        if keep.all() and not any(aside[line] for line in self.tuple_lines):
            return self  # the common batch: nothing set aside, nothing copied
        mask = pa.array(keep)
        return Rows(
            [c.filter(mask) if isinstance(c, pa.Array) else c for c in self.columns],
            self.lines[keep],
            [row for row, line in zip(self.tuples, self.tuple_lines, strict=True) if not aside[line]],
            [line for line in self.tuple_lines if not aside[line]],
        )

    def sorted_by(self, column: int) -> Rows:
        """These rows to be written in the order of one column (stable; the arrays stay as they are,
        only the order is kept): rows that arrive in key order go into the key's B-tree side by side,
        which spares SQLite page reads (about 5 µs a line of the writer's CPU)."""
        key = self.columns[column]
        if isinstance(key, pa.Array) and len(key) > 1:
            self.order = pc.sort_indices(key).to_numpy()
        return self

    def iter_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every row as a tuple in the driver's types, for an executemany or a COPY."""
        n = len(self.lines)
        if n:
            rows = zip(*[c.to_pylist() if isinstance(c, pa.Array) else repeat(c.value, n)
                         for c in self.columns], strict=False)  # repeat() is endless
            yield from rows if self.order is None else map(list(rows).__getitem__, self.order.tolist())
        yield from self.tuples


@dataclass
class Lane:
    """What a batch of lines becomes: rows per table, the lines for the record path, the match keys."""

    papers: Rows
    authors: Rows
    ships: Rows
    sources: Rows
    external: Rows
    code: Rows
    declined: list[int]  # batch lines neither lane takes: the record path's (merge or quarantine)
    keys: list[str]
    owners: np.ndarray  # the batch line of each key
    columnar: int  # lines the columnar lane took


def _escape(text: pa.Array) -> pa.Array:
    """JSON string content of printable ASCII, as orjson writes it (only '\\' and '"' are escaped)."""
    return pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation; null when any part is null."""
    return pc.binary_join_element_wise(*parts, "")


def _piece(prefix: str, value: pa.Array, suffix: str = '"') -> pa.Array:
    return _join(prefix, value, suffix)


def _strings(values: list[Any], off: np.ndarray) -> pa.Array:
    """Strings as an Arrow array; a value of another JSON type marks its line off the lane."""
    try:
        return pa.array(values, type=_STRING)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        wrong = [v is not None and type(v) is not str for v in values]
        off |= np.array(wrong, dtype=bool)
        return pa.array([None if w else v for v, w in zip(values, wrong, strict=True)], type=_STRING)


def _nested(values: list[Any], kind: pa.DataType, off: np.ndarray) -> pa.Array:
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, KeyError):
        fixed = []
        for i, value in enumerate(values):
            try:
                pa.array([value], type=kind)
                fixed.append(value)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, KeyError):
                off[i] = True
                fixed.append(None)
        return pa.array(fixed, type=kind)


def _mask(values: Any) -> np.ndarray:
    """A boolean kernel result as numpy, null as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _lane_text(values: pa.Array, off: np.ndarray) -> pa.Array:
    """`arxiv_snapshot._collapse` for the lane's text: whitespace runs to one space, trimmed, '' to
    null. Marks off the lane the lines whose text is not ASCII or holds another control character.
    Most values need nothing: one scan finds those that do, and only they are rewritten."""
    off |= ~_mask(pc.fill_null(pc.string_is_ascii(values), True))
    odd = _mask(pc.match_substring_regex(values, r"[\x00-\x1f\x7f]|  |^ | $"))
    if odd.any():
        where = pa.array(odd)
        subset = values.filter(where)
        control = _mask(pc.match_substring_regex(subset, r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"))
        off[np.flatnonzero(odd)[control]] = True
        collapsed = pc.utf8_trim(pc.replace_substring_regex(subset, "[ \t\n\r]+", " "), " ")
        values = pc.replace_with_mask(values, where, collapsed)
    empty = _mask(pc.equal(values, ""))
    return pc.if_else(pa.array(empty), pa.scalar(None, _STRING), values) if empty.any() else values


def _iso_dates(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Version stamps ("Mon, 2 Apr 2007 19:18:42 GMT") as ISO dates; the mask marks the ones that
    are not of that shape or not a real day (they leave the lane)."""
    parts = pc.extract_regex(values, _VERSION_DATE)
    day = pc.utf8_lpad(pc.struct_field(parts, "day"), 2, "0")
    month_number = pc.add(pc.index_in(pc.struct_field(parts, "month"), value_set=pa.array(_MONTHS)), 1)
    month = pc.utf8_lpad(pc.cast(month_number, _STRING), 2, "0")
    iso = _join(pc.struct_field(parts, "year"), "-", month, "-", day)
    return iso, ~_real_days(iso)


def _real_days(iso: pa.Array) -> np.ndarray:
    """ISO dates that name a real day (strptime rolls 30 February over: the round trip catches it)."""
    parsed = pc.cast(pc.strptime(iso, "%Y-%m-%d", "s", error_is_null=True), pa.date32())
    return _mask(pc.equal(pc.cast(parsed, _STRING), iso))


@lru_cache(maxsize=4096)
def _categories(text: str | None) -> tuple[bool, str, str | None, str, str]:
    """(on the lane, categories JSON, short primary tag, provenance pieces for categories and the
    primary category) of one categories text: a few hundred distinct texts recur."""
    if text is None:
        return True, "[]", None, "", ""
    listed = text.split()
    if not text.isprintable():
        return False, "", None, "", ""
    if not listed:
        return True, "[]", None, "", ""
    listed_json = orjson.dumps(listed).decode()
    return (True, listed_json, short_tag(listed[0]), f',"categories":{listed_json}',
            f',"primary_category":{orjson.dumps(listed[0]).decode()}')


@lru_cache(maxsize=1024)
def _license(raw: str | None) -> tuple[bool, str | None, str]:
    """(on the lane, licence as stored, provenance piece) of one licence text."""
    text = raw.strip() or None if raw is not None else None
    if text is None:
        return True, None, ""
    if not text.isprintable():
        return False, None, ""
    return True, text, f',"license":{orjson.dumps(text).decode()}'


# The paper row's fields in the order `fast_rows` lists them: field_sources names the present ones.
_FIELDS = ("arxiv_id", "arxiv_version", "doi", "title", "title_key", "abstract", "published", "updated", "year",
           "primary_category", "categories", "comments", "journal_ref", "license", "code_urls", "has_code")


@lru_cache(maxsize=4096)
def _field_sources(present: int, with_doi: bool) -> str:
    names = [name for bit, name in enumerate(_FIELDS) if present >> bit & 1]
    names += ["links.abs", "links.pdf"] + (["links.doi"] if with_doi else [])
    return orjson.dumps(dict.fromkeys(names, SOURCE)).decode()


def _by_value(values: pa.Array, compute: Callable[[Any], tuple[Any, ...]]) -> list[list[Any]]:
    """`compute` once per distinct value; its fields as one list per field, in row order."""
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    results = [compute(v) for v in encoded.dictionary.to_pylist()]
    index = encoded.indices.to_numpy(zero_copy_only=False)
    return [[column[i] for i in index] for column in zip(*results, strict=True)] if results else []


_KEYS = ("id", "title", "abstract", "comments", "journal-ref", "report-no", "doi", "license", "categories",
         "update_date", "versions", "authors_parsed")


def _decode(lines: Sequence[bytes]) -> list[tuple[Any, ...] | None]:
    """Each line's fields (None: not a JSON object). The fields are taken while the freshly
    decoded object is still in the cache: about half the cost of one pass per field."""
    loads = orjson.loads
    try:
        return [(o.get("id"), o.get("title"), o.get("abstract"), o.get("comments"), o.get("journal-ref"),
                 o.get("report-no"), o.get("doi"), o.get("license"), o.get("categories"), o.get("update_date"),
                 o.get("versions"), o.get("authors_parsed")) for o in map(loads, lines)]
    except (orjson.JSONDecodeError, AttributeError):
        out: list[tuple[Any, ...] | None] = []
        for line in lines:
            try:
                o = loads(line)
            except orjson.JSONDecodeError:
                out.append(None)
                continue
            out.append(tuple(o.get(k) for k in _KEYS) if type(o) is dict else None)
        return out


def _fields(lines: Sequence[bytes]) -> tuple[dict[str, Any], np.ndarray]:
    """Each JSON field as an array over the batch; the mask marks lines off the lane."""
    decoded = _decode(lines)
    off = np.array([row is None for row in decoded], dtype=bool)
    if off.any():
        blank = (None,) * len(_KEYS)
        decoded = [blank if row is None else row for row in decoded]
    columns = list(zip(*decoded, strict=True)) if decoded else [() for _ in _KEYS]
    fields: dict[str, Any] = {}
    for key, values in zip(_KEYS[:-2], columns, strict=False):
        fields[key] = _strings(list(values), off)
    fields["versions"] = _nested(list(columns[-2]), _VERSIONS, off)
    fields["authors_parsed"] = _nested(list(columns[-1]), _AUTHORS_PARSED, off)
    return fields, off


class PerLine(NamedTuple):
    """The per-line lane, as the bulk load gives it: `rows(line)` is a line's rows (None: the record
    path's line) and `keys(line)` the keys the record path matches a declined line by."""

    rows: Callable[[bytes], Any]
    keys: Callable[[bytes], list[str]]


def columnar_rows(
    lines: Sequence[bytes], today: date, now: Any, run_id: int | None, per_line: PerLine, dates_as_text: bool
) -> Lane:
    """The rows of a batch of lines. `now` is the batch's clock in the driver's type; `dates_as_text`:
    the driver takes dates as ISO text (SQLite), else as dates."""
    n = len(lines)
    f, off = _fields(lines)

    # --- checks that send a line to the per-line lane ---
    raw_id = f["id"]
    off |= ~_mask(pc.match_substring_regex(raw_id, _PLAIN_ID))
    texts = {key: _lane_text(f[key], off) for key in ("title", "abstract", "comments", "journal-ref", "report-no")}
    doi_raw = f["doi"]
    off |= _mask(pc.is_valid(doi_raw)) & ~_mask(pc.match_substring_regex(doi_raw, _PLAIN_DOI))
    update = f["update_date"]
    off |= ~_real_days(update)  # a null or odd update_date is left to the per-line lane

    versions = f["versions"]
    counts = pc.fill_null(pc.list_value_length(versions), 0).to_numpy(zero_copy_only=False)
    off |= counts == 0
    offsets = versions.offsets.to_numpy()
    flat = versions.values
    first_index = np.minimum(offsets[:-1], max(len(flat) - 1, 0))
    last_index = np.maximum(offsets[1:] - 1, 0)
    if len(flat):
        created = pc.struct_field(flat, "created").take(pa.array(first_index))
        label = pc.struct_field(flat, "version").take(pa.array(last_index))
    else:
        created = label = pa.nulls(n, _STRING)
    published, bad_created = _iso_dates(created)
    off |= bad_created
    label_ok = _mask(pc.match_substring_regex(label, r"^v[0-9]{1,9}$"))
    off |= _mask(pc.is_valid(label)) & ~label_ok & _mask(pc.not_equal(label, ""))
    number = pc.cast(pc.utf8_slice_codeunits(pc.if_else(pa.array(label_ok), label, pa.scalar(None, _STRING)), 1),
                     pa.int64())
    arxiv_version = pc.if_else(pc.equal(number, 0), pa.scalar(None, pa.int64()), number)
    earliest, latest = date(EARLIEST_YEAR, 1, 1).isoformat(), date(today.year + 1, 12, 31).isoformat()
    for day in (published, update):
        off |= ~_mask(pc.and_(pc.greater_equal(day, earliest), pc.less_equal(day, latest)))
    off |= _mask(pc.less(update, published))

    cat_on, cat_json, primary, said_categories, said_primary = _by_value(f["categories"], _categories)
    off |= ~np.array(cat_on, dtype=bool)
    lic_on, license_text, said_license = _by_value(f["license"], _license)
    off |= ~np.array(lic_on, dtype=bool)

    authors_parsed = f["authors_parsed"]
    outer = pc.fill_null(pc.list_value_length(authors_parsed), 0).to_numpy(zero_copy_only=False)
    off |= outer == 0  # no authors_parsed: the free-text author list is the per-line lane's
    triples = authors_parsed.values  # one [last, first, suffix] per author
    triple_line = np.repeat(np.arange(n), outer)
    inner = pc.fill_null(pc.list_value_length(triples), 0).to_numpy(zero_copy_only=False)
    off[np.unique(triple_line[(inner != 3) & (inner != 4)])] = True  # other shapes: the per-line lane's
    parts, starts = triples.values, triples.offsets.to_numpy()[:-1]
    last, first, suffix, extra = (
        parts.take(pa.array(np.minimum(starts + k, len(parts) - 1))) if len(parts) else pa.nulls(len(starts), _STRING)
        for k in range(4)
    )
    quad = inner == 4  # [last, first, suffix, affiliation]: the parser joins all four
    part_off = np.zeros(len(triple_line), dtype=bool)
    for part in (last, first, suffix, extra):
        odd = ~_mask(pc.is_valid(part)) | _mask(pc.match_substring_regex(part, r"[^\x20-\x7e]|,"))
        part_off |= odd if part is not extra else odd & quad
    # "First Last Suffix" (arxiv_snapshot._author_name on ASCII); an empty name is no author at all.
    full = pc.if_else(pc.equal(suffix, ""), _join(first, " ", last), _join(first, " ", last, " ", suffix))
    name = pc.utf8_trim(full, " ")
    doubled = _mask(pc.match_substring(name, "  "))
    if doubled.any():
        where = pa.array(doubled)
        name = pc.replace_with_mask(name, where, pc.replace_substring_regex(name.filter(where), " +", " "))
    if quad.any():
        # Four parts: each stripped, the empty ones left out, joined by one space (no collapse inside
        # a part: a part with a double space goes to the per-line lane, whose stored name differs).
        where = pa.array(quad)
        pieces = [pc.utf8_trim(part.filter(where), " ") for part in (first, last, suffix, extra)]
        for piece in pieces:
            part_off[quad] |= _mask(pc.match_substring(piece, "  "))
        # Joined by spaces, then the runs an empty part leaves closed up (the parts have none of their own).
        joined = pc.utf8_trim(pc.replace_substring_regex(pc.binary_join_element_wise(*pieces, " "), " +", " "), " ")
        name = pc.replace_with_mask(name, where, joined)
    if part_off.any():
        off[np.unique(triple_line[part_off])] = True
    named = _mask(pc.not_equal(name, ""))
    name, author_line = name.filter(pa.array(named)), triple_line[named]
    listed_all = np.bincount(author_line, minlength=n)
    off |= listed_all == 0  # nobody named: the per-line lane's

    title = texts["title"]
    off |= ~_mask(pc.is_valid(title))

    lane = ~off
    if not lane.any():
        return _add_per_line(_empty_lane(), lines, off, per_line, run_id)

    take = pa.array(np.flatnonzero(lane))
    lane_lines = np.flatnonzero(lane)
    m = len(lane_lines)

    everything = m == n  # the common batch: no copies

    def pick(values: Any) -> Any:
        if everything:
            return values if isinstance(values, pa.Array) else list(values)
        return values.take(take) if isinstance(values, pa.Array) else [values[i] for i in lane_lines]

    arxiv_id = pick(raw_id)
    title = pick(title)
    abstract, comments = pick(texts["abstract"]), pick(texts["comments"])
    journal_ref, report_no = pick(texts["journal-ref"]), pick(texts["report-no"])
    doi = pc.ascii_lower(pick(doi_raw))
    published, updated, arxiv_version = pick(published), pick(update), pick(arxiv_version)
    cat_json, primary = pick(cat_json), pick(primary)
    said_categories, said_primary = pick(said_categories), pick(said_primary)
    license_text, said_license = pick(license_text), pick(said_license)
    paper_id = _join("arXiv:", arxiv_id)

    # Title key (core.ids.normalise_title on ASCII): LaTeX out, every run of non-alphanumerics one space.
    key = pc.replace_substring_regex(title, r"\\[a-zA-Z]+|[{}$\\]", " ")
    title_key = pc.utf8_trim(pc.ascii_lower(pc.replace_substring_regex(key, "[^0-9a-zA-Z]+", " ")), " ")

    # Authors of the lane's lines: the name key and the id slug (core.ids.author_id_for on ASCII).
    on_lane = lane[author_line]
    name, author_line = name.filter(pa.array(on_lane)), author_line[on_lane]
    listed = listed_all[lane_lines]
    name_key = pc.utf8_trim(pc.ascii_lower(pc.replace_substring_regex(name, "[^0-9a-zA-Z]+", " ")), " ")
    has_key = _mask(pc.not_equal(name_key, ""))  # a name without letters is listed but gets no author row
    said_authors = _said_authors(name, listed)

    code_urls = _code_links(abstract, comments)
    has_code = np.array([bool(urls) for urls in code_urls], dtype=bool)

    has_doi = _mask(pc.is_valid(doi))
    present = (1 << 0) | (1 << 3) | (1 << 6) | (1 << 7) | (1 << 8)  # id, title, published, updated, year
    bits = np.full(m, present, dtype=np.int64)
    for bit, values in ((1, arxiv_version), (2, doi), (5, abstract), (11, comments), (12, journal_ref),
                        (13, license_text)):
        bits |= _mask(pc.is_valid(pa.array(values) if isinstance(values, list) else values)).astype(np.int64) << bit
    bits |= _mask(pc.not_equal(title_key, "")).astype(np.int64) << 4
    bits |= np.array([bool(p) for p in primary], dtype=np.int64) << 9
    bits |= np.array([c != "[]" for c in cat_json], dtype=np.int64) << 10
    bits |= has_code.astype(np.int64) << 14 | has_code.astype(np.int64) << 15
    field_sources = [_field_sources(int(b), bool(d)) for b, d in zip(bits, has_doi, strict=True)]

    e_id, e_doi = _escape(arxiv_id), _escape(doi)
    abs_link, pdf_link = _join("https://arxiv.org/abs/", e_id), _join("https://arxiv.org/pdf/", e_id)
    doi_link = _join("https://doi.org/", e_doi)
    links = pc.coalesce(
        _join('{"abs":"', abs_link, '","pdf":"', pdf_link, '","doi":"', doi_link, '"}'),
        _join('{"abs":"', abs_link, '","pdf":"', pdf_link, '"}'),
    )
    said_links = pc.coalesce(
        _join(',"links":{"abs":"', abs_link, '","doi":"', doi_link, '","pdf":"', pdf_link, '"}'),
        _join(',"links":{"abs":"', abs_link, '","pdf":"', pdf_link, '"}'),
    )
    said = pc.binary_join_element_wise(
        _piece('{"arxiv_id":"', e_id),
        _join(',"arxiv_version":', pc.cast(arxiv_version, _STRING)),
        said_authors,
        pa.array(said_categories, _STRING),
        _piece(',"comments":"', _escape(comments)),
        _piece(',"doi":"', e_doi),
        _piece(',"journal_ref":"', _escape(journal_ref)),
        pa.array(said_license, _STRING),
        said_links,
        _piece(',"other_ids":{"report_no":"', _escape(report_no), '"}'),
        pa.array(said_primary, _STRING),
        _piece(',"published":"', published),
        _piece(',"title":"', _escape(title)),
        _piece(',"updated":"', updated),
        "}",
        "",
        null_handling="replace",
        null_replacement="",
    )
    digest = pa.array([hashlib.blake2b(s, digest_size=16).hexdigest()
                       for s in pc.cast(said, pa.binary()).to_pylist()], _STRING)
    code_json = pa.array([orjson.dumps(urls).decode() if urls else "[]" for urls in code_urls], _STRING)

    dates = (published, updated) if dates_as_text else (pc.cast(published, pa.date32()), pc.cast(updated, pa.date32()))
    year = pc.cast(pc.utf8_slice_codeunits(published, 0, 4), pa.int64())
    papers = Rows(
        [paper_id, arxiv_id, arxiv_version, doi, Constant(None), Constant(None), title, title_key, abstract,
         dates[0], dates[1], year, pa.array(primary, _STRING), pa.array(cat_json, _STRING), comments,
         journal_ref, pa.array(license_text, _STRING), Constant(None), links, pa.array(listed, pa.int64()),
         Constant(False), Constant(SOURCE), Constant("[]"), code_json, Constant(None), pa.array(has_code),
         Constant(None), Constant(None), Constant(None), Constant(None), Constant("[]"), Constant(None),
         pa.array(field_sources, _STRING), Constant(now), Constant(now)],
        lane_lines, [], [],
    )  # fmt: skip
    sources = Rows([paper_id, Constant(SOURCE), arxiv_id, digest, Constant(now), Constant(run_id), said],
                   lane_lines, [], [])

    # Authorships: positions count only the authors that got an id, in order, per paper.
    keyed = pa.array(has_key)
    ship_line = author_line[has_key]
    ship_name, ship_key = name.filter(keyed), name_key.filter(keyed)
    author_id = _join("name:", pc.replace_substring(ship_key, " ", "-"))
    starts = np.searchsorted(ship_line, ship_line, side="left")
    position = np.arange(len(ship_line)) - starts
    line_to_lane = np.full(n, -1, dtype=np.int64)
    line_to_lane[lane_lines] = np.arange(m)
    ship_paper = paper_id.take(pa.array(line_to_lane[ship_line]))
    ships = Rows([ship_paper, pa.array(position, pa.int64()), author_id, ship_name, Constant("[]"),
                  Constant("source")], ship_line, [], [])
    authors = Rows([author_id, ship_name, ship_key, Constant(None), Constant(None), Constant(None),
                    Constant(now)], ship_line, [], [])

    with_report = pa.array(_mask(pc.is_valid(report_no)))
    external = Rows([Constant("report_no"), report_no.filter(with_report), paper_id.filter(with_report)],
                    lane_lines[_mask(with_report)], [], [])
    url_count = np.array([len(urls) for urls in code_urls], dtype=np.int64)
    code = Rows([paper_id.take(pa.array(np.repeat(np.arange(m), url_count))),
                 pa.array([u for urls in code_urls for u in urls], _STRING), Constant("text")],
                np.repeat(lane_lines, url_count), [], [])

    key_parts = [(_join("arxiv_id\x1f", arxiv_id), lane_lines), (_join("doi\x1f", doi), lane_lines),
                 (pc.if_else(pc.equal(title_key, ""), pa.scalar(None, _STRING), _join("title\x1f", title_key)),
                  lane_lines),
                 (_join("report_no\x1f", report_no), lane_lines)]
    keys: list[str] = []
    owners: list[np.ndarray] = []
    for values, owner in key_parts:
        valid = _mask(pc.is_valid(values))
        keys.extend(values.filter(pa.array(valid)).to_pylist())
        owners.append(owner[valid])
    lane_out = Lane(papers, authors, ships, sources, external, code, [], keys,
                    np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64), m)
    return _add_per_line(lane_out, lines, off, per_line, run_id)


_CODE_URL = _CODE_HOSTS_RE + _CODE_PATH_RE


def _code_links(abstract: pa.Array, comments: pa.Array) -> list[list[str]]:
    """`extract_code_urls(abstract, comments)` of every line. The common case (one link in all, no
    LaTeX escapes) is cut out by kernels; lines with more links or a backslash near one get the
    function itself. Matching runs on lower-cased text as in extract_code_urls; the link is cut
    from the original, whose offsets are the same in ASCII."""
    m = len(abstract)
    code_urls: list[list[str]] = [[] for _ in range(m)]
    counts, hosts = [], np.zeros(m, dtype=bool)
    for text in (abstract, comments):
        # Case-insensitive on ASCII is the function's match on lower-cased text.
        named = _mask(pc.match_substring_regex(text, _CODE_HOSTS, ignore_case=True))  # its own first test
        count = np.zeros(m, dtype=np.int64)
        if named.any():
            where = pa.array(named)
            count[named] = pc.fill_null(pc.count_substring_regex(text.filter(where), _CODE_URL, ignore_case=True),
                                        0).to_numpy(zero_copy_only=False)
        counts.append(count)
        hosts |= named
    total = counts[0] + counts[1]
    escaped = np.zeros(m, dtype=bool)
    if hosts.any():
        near = pa.array(np.flatnonzero(hosts))
        escaped[hosts] = _mask(pc.match_substring(abstract.take(near), "\\")) | _mask(
            pc.match_substring(comments.take(near), "\\"))
    by_function = (total > 1) | escaped
    for text, count in zip((abstract, comments), counts, strict=True):
        single = (count == 1) & ~by_function
        if not single.any():
            continue
        rows = np.flatnonzero(single)
        found = pc.struct_field(pc.extract_regex(text.take(pa.array(rows)), f"(?i)(?P<url>{_CODE_URL})"), "url")
        found = pc.utf8_rtrim(found, ".:!?'\"/")
        split = pc.extract_regex(found, r"^(?P<host>[^/]*)(?P<path>/.*)$")
        url = _join("https://", pc.ascii_lower(pc.struct_field(split, "host")), pc.struct_field(split, "path"))
        kept = _mask(pc.greater_equal(pc.count_substring(url, "/"), 3))  # a bare host is no link to code
        for i, link in zip(rows[kept].tolist(), url.filter(pa.array(kept)).to_pylist(), strict=True):
            code_urls[i] = [link]
    for i in np.flatnonzero(by_function).tolist():
        code_urls[i] = extract_code_urls(abstract[i].as_py(), comments[i].as_py())
    return code_urls


def _said_authors(name: pa.Array, listed: np.ndarray) -> pa.Array:
    """',"authors":[{"name":...},...]' per lane line (null for a line without authors)."""
    wrapped = _join('{"name":"', _escape(name), '"}')
    offsets = np.concatenate([[0], np.cumsum(listed)]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), wrapped), ",")
    return pc.if_else(pa.array(listed > 0), _join(',"authors":[', joined, "]"), pa.scalar(None, _STRING))


def _empty_rows(width: int) -> Rows:
    return Rows([Constant(None)] * width, np.zeros(0, dtype=np.int64), [], [])


def _empty_lane() -> Lane:
    return Lane(_empty_rows(35), _empty_rows(7), _empty_rows(6), _empty_rows(7), _empty_rows(3), _empty_rows(3),
                [], [], np.zeros(0, dtype=np.int64), 0)


def _add_per_line(
    lane: Lane, lines: Sequence[bytes], off: np.ndarray, per_line: PerLine, run_id: int | None
) -> Lane:
    """The off-lane lines through the per-line lane; those it declines are left for the record path."""
    owners = [lane.owners]
    for i in np.flatnonzero(off).tolist():
        rows = per_line.rows(lines[i])
        if rows is None:
            lane.declined.append(i)
            mine = per_line.keys(lines[i])
        else:
            lane.papers.tuples.append(rows.paper)
            lane.papers.tuple_lines.append(i)
            lane.sources.tuples.append((*rows.source_row[:5], run_id, rows.source_row[6]))
            lane.sources.tuple_lines.append(i)
            for table, got in ((lane.authors, rows.authors), (lane.ships, rows.ships),
                               (lane.external, rows.external), (lane.code, rows.code)):
                table.tuples.extend(got)
                table.tuple_lines.extend([i] * len(got))
            mine = rows.keys
        lane.keys.extend(mine)
        owners.append(np.full(len(mine), i, dtype=np.int64))
    lane.owners = np.concatenate(owners)
    lane.declined.sort()
    return lane


def last_spelling(authors: Rows) -> Rows:
    """One row per author id: the last in line order (a later line's spelling wins, as in the
    per-line lane); rows of both lanes merged into arrays."""
    n = len(authors.lines)
    ids = authors.columns[0].to_pylist() if n else []
    names = authors.columns[1].to_pylist() if n else []
    name_keys = authors.columns[2].to_pylist() if n else []
    lines = list(authors.lines.tolist())
    now = authors.columns[6].value if n else None
    for row, line in zip(authors.tuples, authors.tuple_lines, strict=True):
        ids.append(row[0])
        names.append(row[1])
        name_keys.append(row[2])
        lines.append(line)
        now = row[6]
    if not ids:
        return _empty_rows(7)
    order = np.argsort(np.asarray(lines, dtype=np.int64), kind="stable")
    chosen: dict[str, int] = {}
    for i in order.tolist():
        chosen.pop(ids[i], None)
        chosen[ids[i]] = i
    picked = list(chosen.values())
    return Rows(
        [pa.array([ids[i] for i in picked], _STRING), pa.array([names[i] for i in picked], _STRING),
         pa.array([name_keys[i] for i in picked], _STRING), Constant(None), Constant(None), Constant(None),
         Constant(now)],
        np.asarray([lines[i] for i in picked], dtype=np.int64), [], [],
    )
