"""Saved listing pages: author profile pages and paper lists, as text copied out of a browser.

Two shapes are understood:

* an **author page**: an optional header (name, field tag, ``h-index87``, ``263papers``,
  ``12,368citations``, ``Novelty54%``, ``AI Score64``, ``263 Papers``) and then cards. A card starts
  with a meta line such as ``95.6CVMay 30`` or ``LGMar 1, 2023Code`` (score, category tag, date and
  the ``Code`` badge glued together, each optional), then the title, the author line
  ``A, B, C et al. · tsinghua, uw`` and the abstract. Some saved pages lose the line break between
  the title and the author line (``...ApproachPeng Mi, Li Shen et al.``); those are split where
  a list of name-shaped names begins, glued to the title.
* a **papers list**: a header ("Daily Papers", the day), then entries of title, abstract,
  ``• N authors``, ``·`` and a date optionally followed by the upvote count (``Apr 8 3``).

Dates shown without a year are of the latest such day not after the day the page was saved
(``as_of``). Values the page reports are kept as reported: the header's metrics go into an
AuthorProfileRecord, never into computed fields. The page owner is not added to a card's authors;
ingest does that with ``owner_author``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from paperscope.core.ids import normalise_title
from paperscope.core.records import (
    AuthorProfileRecord,
    AuthorRecord,
    Batch,
    Malformed,
    PaperRecord,
    Record,
    set_input,
    set_origin,
)
from paperscope.sources.recovery import detect_encoding

SOURCE = "listing"
_UNDECODED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape kept

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_MON = "|".join(MONTHS)

# Score, category tag, date and Code badge, each optional and glued together: "95.6CVMay 30",
# "LGMar 1, 2023Code". The category is 2-4 capitals; backtracking stops it eating a month's capital.
_CARD_META = re.compile(
    rf"(?:(?P<score>\d{{1,3}}(?:\.\d+)?)\s*)?"
    rf"(?P<cat>[A-Z]{{2,4}})?\s*"
    rf"(?:(?P<mon>{_MON})\s*(?:(?P<day>\d{{1,2}})(?!\d))?(?:,?\s*(?P<year>\d{{4}}))?)?\s*"
    rf"(?P<code>Code)?"
)
_LIST_DATE = re.compile(rf"(?P<mon>{_MON})\s+(?P<day>\d{{1,2}})(?:,\s*(?P<year>\d{{4}}))?(?:\s+(?P<up>\d+))?")
_AUTHOR_COUNT = re.compile(r"[•·]?\s*(\d+)\s+authors?")
_INT = re.compile(r"\d+")
_INITIAL = re.compile(r"[A-Z]\.")
_ET_AL = re.compile(r",?\s*et\s+al\.?$")

_H_INDEX = re.compile(r"h-index\s*(\d[\d,]*)", re.I)
_PAPERS = re.compile(r"(\d[\d,]*)\s*papers", re.I)
_CITATIONS = re.compile(r"(\d[\d,]*)\s*citations", re.I)
_NOVELTY = re.compile(r"Novelty\s*(\d+(?:\.\d+)?)\s*%?", re.I)
_AI_SCORE = re.compile(r"AI\s*Score\s*(\d+(?:\.\d+)?)", re.I)
_FIELD = re.compile(r"[A-Z]{2,4}")

_LIST_HEADER_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "daily papers",
        "weekly papers",
        "monthly papers",
        "trending",
        "newest",
    }
)
_LIST_BYLINE = re.compile(r"by\s*\S.*community", re.I)

# Lower-case parts that may sit inside a name ("Vincent van Gogh"), and capitalised words that
# never do: they stop a title's tail ("ResNet Strikes Back") from passing for an author name.
_PARTICLES = frozenset("van von de der den del della da di du dos das le la bin ibn al el ter ten".split())
_NOT_NAMES = frozenset(
    """The A Of For With Without And Or In On To Via From By At As Is Are Be Not Do Does Can All Any Our
    We Your You It Its Into Over Under Using Based Beyond Back Towards Toward Learning Learn Network Networks
    Neural Deep Model Models Data Large Language Vision Image Images Video Graph Graphs Training Generation
    Detection Transformer Transformers Attention Approach Method Methods Analysis Benchmark Dataset Robust
    Efficient Adversarial Survey Study Task Tasks Multi Self Need Needs Matters Meets Made Make Made Easy
    Better Fast Faster Scalable Unified General Simple Free Zero Few Shot Text Speech Agents Agent""".split()
)
_MAX_TITLE = 300  # a longer first line is an abstract whose title was lost
_SURNAME_PREFIXES = ("Mc", "Mac", "Le", "La", "De", "Di", "Da", "Du", "Van", "Von", "O'", "D'")


class ListingFormatError(ValueError):
    """The text is neither an author page nor a papers list."""


@dataclass(slots=True)
class ListingPage:
    kind: Literal["author", "papers"]
    header: AuthorProfileRecord | None
    records: list[PaperRecord | Malformed] = field(default_factory=list)
    listed_on: date | None = None  # the day a papers list shows in its header ("Nov 12")


def resolve_date(mon: str, day: int, year: int | None, as_of: date) -> date:
    """The date a listing shows; without a year, the latest such day not after `as_of`.

    Raises ValueError for an impossible day ("Feb 30", or "Feb 29" of a common year).
    """
    month = MONTHS[mon]
    if year is not None:
        return date(year, month, day)
    for y in range(as_of.year, as_of.year - 9, -1):  # nine years always include a 29 February
        try:
            candidate = date(y, month, day)
        except ValueError:
            continue
        if candidate <= as_of:
            return candidate
    raise ValueError(f"no day {mon} {day}")


def _match_date(m: re.Match[str], as_of: date) -> date:
    return resolve_date(m["mon"], int(m["day"]), int(m["year"]) if m["year"] else None, as_of)


# --------------------------------------------------------------------------- names and author lines


def _name_part_ok(part: str, *, first_token: bool) -> bool:
    if not part:
        return False
    if not first_token:
        for prefix in _SURNAME_PREFIXES:  # "McDonald", "LeCun", "O'Brien"
            if part.startswith(prefix) and len(part) > len(prefix) + 1 and part[len(prefix)].isupper():
                part = part[len(prefix) :]
                break
    head, tail = part[0], part[1:]
    return head.isalpha() and head.isupper() and (not tail or (tail.isalpha() and tail.islower()))


def _token_ok(token: str, *, first_token: bool) -> bool:
    if token in _NOT_NAMES:
        return False
    if not first_token and (token in _PARTICLES or _INITIAL.fullmatch(token)):
        return True  # "van", "J."
    parts = token.split("-")  # "Fa-Ting", "Run-Ze", "Zhi-hua"
    if not _name_part_ok(parts[0], first_token=first_token):
        return False
    return all(p.isalpha() and (p.islower() or _name_part_ok(p, first_token=False)) for p in parts[1:])


def _is_name(name: str, *, glued: bool, owner: str | None) -> bool:
    """Whether `name` has a person's name shape; `glued` asks more of a name glued to a title."""
    if owner is not None and name == owner:
        return True
    tokens = name.split(" ")
    if not 1 <= len(tokens) <= 5 or (glued and len(tokens) < 2) or (glued and len(tokens[0]) < 2):
        return False
    return all(_token_ok(tok, first_token=i == 0) for i, tok in enumerate(tokens))


def _split_orgs(line: str) -> tuple[str, list[str]]:
    main, sep, orgs = line.partition("·")
    if not sep:
        return line.strip(), []
    return main.strip(), [o.strip() for o in orgs.split(",") if o.strip()]


def _split_et_al(main: str) -> tuple[str, bool]:
    m = _ET_AL.search(main)
    return (main[: m.start()].rstrip(), True) if m else (main, False)


def _names(main: str, *, glued: bool, owner: str | None) -> list[str] | None:
    """The comma-separated names of `main` when each has a name shape, else None."""
    names = [n.strip() for n in main.split(",")]
    if not all(names):
        return None
    for i, n in enumerate(names):
        if not _is_name(n, glued=glued and i == 0, owner=owner):
            return None
    return names


@dataclass(slots=True)
class _Authors:
    names: list[str]
    truncated: bool
    orgs: list[str]


def _parse_author_line(line: str, *, owner: str | None, strict: bool) -> _Authors | None:
    main, orgs = _split_orgs(line)
    main, truncated = _split_et_al(main)
    names = _names(main, glued=False, owner=owner)
    if names is None:
        # A line the page marks as an author line ("et al.", "· org") is one even with odd names.
        if strict or not (truncated or orgs) or len(line) > 300:
            return None
        names = [n.strip() for n in main.split(",") if n.strip()]
    return _Authors(names, truncated, orgs)


def _looks_like_author_line(line: str) -> bool:
    main, orgs = _split_orgs(line)
    main, truncated = _split_et_al(main)
    marked = truncated or orgs or "," in main
    return bool(marked) and _names(main, glued=False, owner=None) is not None


def _ends_like_author_list(line: str) -> bool:
    """A line that no split explains but that ends like an author list: quarantine, don't guess."""
    main, orgs = _split_orgs(line)
    main, truncated = _split_et_al(main)
    last = main.rpartition(",")[2].strip()
    return bool(truncated or orgs) or ("," in main and _is_name(last, glued=False, owner=None))


def _split_glued(line: str, owner: str | None) -> tuple[str, _Authors] | None:
    """Split "TitleFirst Author, Second Author et al. · org" where the title runs into the names.

    The author list starts at the leftmost capital glued to the character before it (no space)
    from which the whole rest of the line is a list of name-shaped names. Candidates before the
    real join fail because the join sits inside a token ("ApproachPeng"); later ones inside a
    hyphenated first name ("Fa-Ting") are never reached.
    """
    main, orgs = _split_orgs(line)
    main, truncated = _split_et_al(main)
    for i in range(1, len(main)):
        if main[i].isupper() and not main[i - 1].isspace():
            names = _names(main[i:], glued=True, owner=owner)
            if names is not None:
                return main[:i].rstrip(), _Authors(names, truncated, orgs)
    if owner:  # an owner's name of unusual shape, glued to the title and leading the list
        at = main.find(owner)
        while at > 0:
            if not main[at - 1].isspace() and main[at - 1] != ",":
                rest = [n.strip() for n in main[at:].split(",")]
                if all(rest):
                    return main[:at].rstrip(), _Authors(rest, truncated, orgs)
            at = main.find(owner, at + 1)
    return None


# --------------------------------------------------------------------------- author pages


def _num(text: str) -> int:
    return int(text.replace(",", ""))


def _parse_header(lines: list[str], source_name: str, as_of: date) -> tuple[AuthorProfileRecord | None, int]:
    """The header's profile and the index of the first line after it (0 and None when absent)."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        return None, 0
    first = lines[i].strip()
    meta = _CARD_META.fullmatch(first)
    if meta and meta["mon"]:
        return None, 0
    profile = AuthorProfileRecord(source=SOURCE, source_key=source_name, name=first, as_of=as_of)
    stats = 0
    j = i + 1
    while j < len(lines):
        s = lines[j].strip()
        if not s:
            j += 1
            continue
        if profile.field is None and stats == 0 and _FIELD.fullmatch(s):
            profile.field = s
        elif m := _H_INDEX.fullmatch(s):
            profile.h_index = _num(m[1])
        elif m := _CITATIONS.fullmatch(s):
            profile.citation_count = _num(m[1])
        elif m := _PAPERS.fullmatch(s):
            if profile.paper_count is None:
                profile.paper_count = _num(m[1])
        elif m := _NOVELTY.fullmatch(s):
            profile.novelty = float(m[1])
        elif m := _AI_SCORE.fullmatch(s):
            profile.ai_score = float(m[1])
        else:
            break
        stats += 1
        j += 1
    p = profile
    if all(v is None for v in (p.h_index, p.paper_count, p.citation_count, p.novelty, p.ai_score)):
        return None, 0  # no metric line: the first line was no name but stray text
    return profile, j


def _is_card_meta(line: str) -> re.Match[str] | None:
    m = _CARD_META.fullmatch(line)
    return m if m and (m["mon"] or m["cat"]) else None


@dataclass(slots=True)
class _Card:
    line_no: int  # 1-based line of the meta line (or of the first line for stray text)
    meta: re.Match[str] | None
    body: list[tuple[int, str]] = field(default_factory=list)


def _split_cards(lines: list[str], start: int) -> tuple[list[_Card], list[_Card]]:
    cards: list[_Card] = []
    stray: list[_Card] = []
    current: _Card | None = None
    for idx in range(start, len(lines)):
        s = lines[idx].strip()
        if not s:
            continue
        m = _is_card_meta(s)
        if m:
            current = _Card(idx + 1, m)
            cards.append(current)
        elif current is None:
            if not stray:
                stray.append(_Card(idx + 1, None))
            stray[0].body.append((idx + 1, s))
        else:
            current.body.append((idx + 1, s))
    return cards, stray


def _body_text(card: _Card) -> str:
    return "\n".join(t for _, t in card.body)


def _card_origin(record: PaperRecord | Malformed, source_name: str, line_no: int) -> PaperRecord | Malformed:
    """A card has no id of its own (its source key is its place on the page): its title names it."""
    if isinstance(record, PaperRecord) and record.title:
        set_origin(record, source_name, line_no, "title " + (normalise_title(record.title) or record.title))
    return record


def _card_record(
    card: _Card, index: int, source_name: str, as_of: date, owner: str | None, glued: bool
) -> PaperRecord | Malformed:
    position = f"{source_name}:{card.line_no}"
    raw = "\n".join([card.meta[0] if card.meta else ""] + [t for _, t in card.body])
    body = [t for _, t in card.body]

    def bad(reason: str) -> Malformed:
        return Malformed(SOURCE, position, reason, raw)

    if not body:
        return bad("card without a title")
    if len(body[0]) > _MAX_TITLE:
        return bad("card without a title: its first line is an abstract")
    title: str | None
    authors: _Authors | None = None
    if glued:
        split = _split_glued(body[0], owner)
        if split is not None:
            title, authors = split
        elif _looks_like_author_line(body[0]):
            return bad("card without a title: its first line is an author list")
        elif _ends_like_author_list(body[0]):
            return bad(f"cannot tell the title from the author list in {body[0]!r}")
        else:
            title = body[0]
        rest = body[1:]
    else:
        if len(body) >= 2 and (authors := _parse_author_line(body[1], owner=owner, strict=False)):
            title, rest = body[0], body[2:]
        elif _looks_like_author_line(body[0]):
            return bad("card without a title: its first line is an author list")
        else:
            title, rest = body[0], body[1:]
    if not title:
        return bad("card without a title")

    meta = card.meta
    published = None
    year = None
    if meta and meta["mon"]:
        try:
            if meta["day"]:
                published = _match_date(meta, as_of)
            elif meta["year"]:
                year = int(meta["year"])
        except ValueError:
            return bad(f"impossible date in {meta[0]!r}")
    return PaperRecord(
        source=SOURCE,
        source_key=f"{source_name}#{index}",
        title=title,
        abstract="\n".join(rest) or None,
        published=published,
        year=year,
        primary_category=meta["cat"] if meta else None,
        authors=[AuthorRecord(name=n) for n in authors.names] if authors else [],
        authors_truncated=authors.truncated if authors else False,
        orgs=authors.orgs if authors else [],
        code_badge=bool(meta and meta["code"]),
        listing_score=float(meta["score"]) if meta and meta["score"] else None,
        owner_author=owner,
    )


def _parse_author_page(lines: list[str], source_name: str, as_of: date, author: str | None) -> ListingPage:
    header, start = _parse_header(lines, source_name, as_of)
    owner = author if author is not None else (header.name if header else None)
    cards, stray = _split_cards(lines, start)
    # A page either keeps the author line on its own line or glues it to the title everywhere.
    glued = not any(
        len(c.body) >= 2 and _parse_author_line(c.body[1][1], owner=owner, strict=False) for c in cards
    )
    records: list[PaperRecord | Malformed] = [
        Malformed(SOURCE, f"{source_name}:{s.line_no}", "text outside any card", _body_text(s)) for s in stray
    ]
    for index, card in enumerate(cards, start=1):
        record = _card_record(card, index, source_name, as_of, owner, glued)
        if index == len(cards) and isinstance(record, PaperRecord) and record.abstract is None:
            # Every card ends with its abstract: a page that stops before it was cut off inside
            # this card, and its title line may be cut too.
            record = Malformed(SOURCE, f"{source_name}:{card.line_no}",
                               "the page ends inside this card (nothing after its title)", _body_text(card))
        records.append(_card_origin(record, source_name, card.line_no))
    return ListingPage(kind="author", header=header, records=records)


# --------------------------------------------------------------------------- papers lists


@dataclass(slots=True)
class _Entry:
    line_no: int
    title: str | None = None
    abstract: str | None = None
    author_count: int | None = None
    date_text: str | None = None
    date_match: re.Match[str] | None = None
    upvotes: int | None = None
    lines: list[str] = field(default_factory=list)


def _entry_record(entry: _Entry, index: int, source_name: str, as_of: date) -> PaperRecord | Malformed:
    position = f"{source_name}:{entry.line_no}"
    raw = "\n".join(entry.lines)
    if not entry.title:
        return Malformed(SOURCE, position, "entry without a title", raw)
    published = None
    if entry.date_match:
        m = entry.date_match
        try:
            published = _match_date(m, as_of)
        except ValueError:
            return Malformed(SOURCE, position, f"impossible date {entry.date_text!r}", raw)
    return PaperRecord(
        source=SOURCE,
        source_key=f"{source_name}#{index}",
        title=entry.title,
        abstract=entry.abstract,
        author_count=entry.author_count,
        published=published,
        # The list shows a count only when there are upvotes; an entry that lost its whole date
        # line (a copy glitch) shows nothing to read a count from.
        upvotes=entry.upvotes if entry.upvotes is not None else (0 if entry.date_text else None),
        observed_on=as_of,  # the counts a saved page shows were true the day it was saved
    )


def _parse_papers_list(lines: list[str], source_name: str, as_of: date) -> ListingPage:
    listed_on = None
    entries: list[_Entry] = []
    current: _Entry | None = None
    dated = False  # the current entry has its date line: a bare number after it is its upvotes
    in_header = True
    for idx, raw_line in enumerate(lines):
        s = raw_line.strip()
        if not s:
            continue
        if in_header:
            if s.casefold() in _LIST_HEADER_LINES or _LIST_BYLINE.fullmatch(s):
                continue
            m = _LIST_DATE.fullmatch(s)
            if m and listed_on is None and not m["up"]:
                try:
                    listed_on = _match_date(m, as_of)
                except ValueError:
                    pass
                continue
            in_header = False
        if current is not None and dated and _INT.fullmatch(s):
            current.upvotes = int(s)
            current.lines.append(s)
            dated = False
            continue
        dated = False
        if s == "·":
            if current is not None:
                current.lines.append(s)
            continue
        count = _AUTHOR_COUNT.fullmatch(s)
        date_m = None if count else _LIST_DATE.fullmatch(s)
        if count or date_m:
            if current is None or current.date_text is not None:
                current = _Entry(idx + 1)  # metadata with no title before it
                entries.append(current)
            current.lines.append(s)
            if count:
                current.author_count = int(count[1])
            else:
                current.date_text = s
                current.date_match = date_m
                current.upvotes = int(date_m["up"]) if date_m["up"] else None
                dated = True
            continue
        # Free text: the title of a new entry, or the abstract of the current one.
        if (
            current is None
            or current.date_text is not None
            or current.author_count is not None
            or current.abstract is not None
        ):
            if len(s) > _MAX_TITLE:  # an abstract whose title was lost
                current = _Entry(idx + 1, abstract=s, lines=[s])
            else:
                current = _Entry(idx + 1, title=s, lines=[s])
            entries.append(current)
        else:
            current.abstract = s
            current.lines.append(s)
    records = [
        _card_origin(_entry_record(e, i, source_name, as_of), source_name, e.line_no)
        for i, e in enumerate(entries, start=1)
    ]
    last = entries[-1] if entries else None
    if last is not None and last.date_text is None and last.author_count is None:
        # Every entry ends with its author count and date: a page that stops before them was cut
        # off inside this entry, and its title or abstract may be cut too.
        records[-1] = Malformed(
            SOURCE, f"{source_name}:{last.line_no}", "the page ends inside this entry (no author count or date)",
            "\n".join(last.lines),
        )
    return ListingPage(kind="papers", header=None, records=records, listed_on=listed_on)


# --------------------------------------------------------------------------- entry points


def parse_listing(text: str, *, source_name: str, as_of: date, author: str | None = None) -> ListingPage:
    """Parse one saved listing page. `author` names the owner of an author page (default: the
    name in its header); it becomes each card's `owner_author`. Raises ListingFormatError when the
    text is neither an author page nor a papers list."""
    lines = text.splitlines()
    stripped = [s.strip() for s in lines]
    if any(s == "Daily Papers" or _AUTHOR_COUNT.fullmatch(s) for s in stripped if s.startswith(("D", "•"))):
        return _parse_papers_list(lines, source_name, as_of)
    if any((m := _CARD_META.fullmatch(s)) and m["mon"] for s in stripped if s):
        return _parse_author_page(lines, source_name, as_of, author)
    raise ListingFormatError(
        f"{source_name}: neither an author page (no card line such as 'LGMar 1, 2023Code') "
        "nor a papers list (no '• N authors' line)"
    )


def read_files(
    paths: Iterable[str | Path], *, as_of: date | None = None, author: str | None = None
) -> Iterator[Batch]:
    """One Batch per saved page: the header's AuthorProfileRecord first when there is one, then the
    cards. A file that cannot be read or recognised becomes one Malformed."""
    for path in paths:
        path = Path(path)
        try:
            data = path.read_bytes()
            encoding, bom = detect_encoding(data[:4])
            # Bytes that are not text in the page's encoding stay marked (lone surrogates), so the
            # cards holding them are quarantined one by one rather than the page or a silent U+FFFD.
            text = data[bom:].decode(encoding, errors="surrogateescape" if encoding == "utf-8" else "replace")
            page = parse_listing(text, source_name=path.name, as_of=as_of or date.today(), author=author)
        except (OSError, UnicodeError, ListingFormatError) as exc:
            bad = Malformed(SOURCE, f"{path.name}:1", f"unreadable listing page: {exc}")
            yield Batch([bad], None, path.name)
            continue
        records: list = [_undecodable(page.header, f"{path.name}:1")] if page.header else []
        records.extend(
            set_input(_undecodable(record), str(path))
            for record in page.records
        )
        yield Batch(records, None, path.name)


def _undecodable(record: Record, position: str = "") -> Record:
    """A Malformed instead of a card or header holding bytes its page's encoding cannot read."""
    if isinstance(record, Malformed):
        return record
    if isinstance(record, PaperRecord) and record.origin is not None:
        position = f"{record.origin.input}:{record.origin.place}"
    texts = [getattr(record, "title", None), getattr(record, "abstract", None), getattr(record, "name", None)]
    texts += [a.name for a in getattr(record, "authors", ())] + list(getattr(record, "orgs", ()))
    for text in texts:
        if text and _UNDECODED.search(text):
            raw = " | ".join(t for t in texts if t)
            return Malformed(SOURCE, position, "bytes that are not valid text in the page's encoding", raw[:2000])
    return record
