"""A realistic synthetic arXiv metadata snapshot, for benchmarks and for a demo without data.

Lines have the Kaggle snapshot's shape and statistics that matter to ingest: a Zipfian vocabulary
for titles and abstracts, a power-law number of authors per paper (mostly 2-6, a long tail) and of
papers per author (a few prolific authors, many one-off ones), realistic category mixes, versions,
DOIs on about half of the papers, and code links in some abstracts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import orjson

_CATEGORIES = ["cs.LG", "cs.CV", "cs.CL", "cs.AI", "stat.ML", "cs.CR", "cs.RO", "cs.IR", "math.OC", "cs.NE",
               "eess.IV", "cs.MM", "q-bio.NC", "quant-ph", "hep-th"]
_CATEGORY_WEIGHTS = np.array([30, 25, 18, 10, 5, 3, 2, 2, 1.5, 1, 1, 0.5, 0.5, 0.3, 0.2])
_SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "to", "vi", "zu", "sa", "te", "po", "li", "ga", "re", "no", "di"]
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    words = set()
    while len(words) < size:
        n = int(rng.integers(1, 5))
        words.add("".join(rng.choice(_SYLLABLES, n)))
    return sorted(words)


def _names(rng: np.random.Generator, size: int) -> list[tuple[str, str]]:
    first = [w.capitalize() for w in _vocabulary(rng, 400)]
    last = [w.capitalize() for w in _vocabulary(rng, 3000)]
    lasts = rng.integers(0, len(last), size).tolist()
    firsts = rng.integers(0, len(first), size).tolist()
    # Distinct people: a serial suffix on the rare clash keeps ids of different people apart.
    seen: set[tuple[str, str]] = set()
    people = []
    for i, (l_idx, f_idx) in enumerate(zip(lasts, firsts, strict=True)):
        person = (last[l_idx], first[f_idx])
        if person in seen:
            person = (f"{last[l_idx]}{i}", first[f_idx])
        seen.add(person)
        people.append(person)
    return people


def _rfc2822(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year} 12:00:00 GMT"


def iter_snapshot_lines(n: int, seed: int = 0, start: date = date(2015, 1, 1)) -> Iterator[bytes]:
    """`n` snapshot lines (bytes, no newline), reproducible for a seed."""
    rng = np.random.default_rng(seed)
    vocab = list(rng.permutation(_vocabulary(rng, 20000)))  # Zipf rank independent of spelling
    # Zipf over the vocabulary: rank r has weight 1/r^1.1.
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    weights /= weights.sum()
    people = _names(rng, max(1000, n // 2))
    # Papers per author follows a power law: draw authors by Zipf-like popularity.
    popularity = 1.0 / np.arange(1, len(people) + 1) ** 0.9
    popularity /= popularity.sum()
    cat_p = _CATEGORY_WEIGHTS / _CATEGORY_WEIGHTS.sum()
    chunk = 10000
    serial: dict[str, int] = {}  # papers so far in each month: arXiv numbers them in order
    for base in range(0, n, chunk):
        m = min(chunk, n - base)
        title_len = rng.integers(6, 16, m)
        abstract_len = rng.integers(80, 220, m)
        words = rng.choice(len(vocab), size=int(title_len.sum() + abstract_len.sum()), p=weights).tolist()
        pages = rng.integers(5, 40, m).tolist()
        author_counts = np.minimum(1 + rng.zipf(2.2, m), 60)
        author_idx = rng.choice(len(people), size=int(author_counts.sum()), p=popularity).tolist()
        cats = rng.choice(len(_CATEGORIES), size=m, p=cat_p)
        days = rng.integers(0, 3650, m)
        versions = np.minimum(1 + rng.geometric(0.6, m) - 1, 6)
        has_doi = rng.random(m) < 0.45
        has_code = rng.random(m) < 0.25
        w = a = 0
        for i in range(m):
            k = base + i
            title_words = [vocab[j] for j in words[w : w + title_len[i]]]
            w += title_len[i]
            abstract_words = [vocab[j] for j in words[w : w + abstract_len[i]]]
            w += abstract_len[i]
            names = list(dict.fromkeys(people[j] for j in author_idx[a : a + author_counts[i]]))
            a += author_counts[i]
            published = start + timedelta(days=int(days[i]))
            yymm = f"{published.year % 100:02d}{published.month:02d}"
            serial[yymm] = serial.get(yymm, 0) + 1
            arxiv_id = f"{yymm}.{serial[yymm]:05d}"
            abstract = " ".join(abstract_words) + "."
            if has_code[i]:
                abstract += f" Code is available at https://github.com/{names[0][0].lower()}/{title_words[0]}."
            primary = _CATEGORIES[cats[i]]
            record = {
                "id": arxiv_id,
                "submitter": f"{names[0][1]} {names[0][0]}",
                "authors": ", ".join(f"{f} {last}" for last, f in names),
                "title": " ".join(title_words).capitalize(),
                "comments": f"{pages[i]} pages",
                "journal-ref": None,
                "doi": f"10.{1000 + k % 9000}/synthetic.{k}" if has_doi[i] else None,
                "report-no": None,
                "categories": primary if k % 3 else f"{primary} cs.LG",
                "license": "http://creativecommons.org/licenses/by/4.0/",
                "abstract": abstract,
                "versions": [
                    {"version": f"v{v + 1}", "created": _rfc2822(published + timedelta(days=30 * v))}
                    for v in range(int(versions[i]))
                ],
                "update_date": (published + timedelta(days=30 * (int(versions[i]) - 1))).isoformat(),
                "authors_parsed": [[last, f, ""] for last, f in names],
            }
            yield orjson.dumps(record)


def write_snapshot(path: Path, n: int, seed: int = 0) -> Path:
    """Write `n` synthetic lines to `path` (JSON lines) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for line in iter_snapshot_lines(n, seed):
            out.write(line)
            out.write(b"\n")
    return path
