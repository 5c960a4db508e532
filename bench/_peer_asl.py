"""arxiv-sanity-lite's databases from snapshot lines, written the way its own `arxiv_daemon.py`
writes arXiv API results: run by arxiv-sanity-lite's own interpreter (its virtualenv), with its
source on the path and the run folder as the working directory (its `aslite/db.py` keeps
`data/papers.db` relative to it).

Each snapshot line becomes the entry `aslite.arxiv.parse_response` makes of an arXiv API record
(feedparser's fields: id, link, updated/published and their parsed times, title, summary, authors,
arxiv_comment, links, arxiv_primary_category, tags; plus the daemon's `_id`, `_idv`, `_version`,
`_time`, `_time_str`), and is stored as the daemon's `store()` does: the entry in the compressed
`papers` table, `{'_time': ...}` in `metas`. The daemon commits per paper (autocommit); here the
papers are committed per 10,000, then the metas: the same rows.

    python _peer_asl.py ASL_SRC SNAPSHOT N      (in the run folder)
"""

from __future__ import annotations

import json
import sys
import time
from email.utils import parsedate_to_datetime

SCHEME = "http://arxiv.org/schemas/atom"


def _struct(created: str) -> time.struct_time:
    """feedparser's `*_parsed`: a UTC struct_time."""
    return parsedate_to_datetime(created).utctimetuple()


def entry(record: dict) -> dict:
    versions = record.get("versions") or [{"version": "v1", "created": "Mon, 1 Jan 2018 00:00:00 GMT"}]
    version = int(versions[-1]["version"].lstrip("v"))
    updated, published = _struct(versions[-1]["created"]), _struct(versions[0]["created"])
    rawid = record["id"]
    idv = f"{rawid}v{version}"
    names = [" ".join(part for part in (first, last, suffix) if part)
             for last, first, suffix in (record.get("authors_parsed") or [])]
    categories = (record.get("categories") or "").split()
    url = f"http://arxiv.org/abs/{idv}"
    e = {
        "id": url, "guidislink": True, "link": url,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", updated), "updated_parsed": updated,
        "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", published), "published_parsed": published,
        "title": record["title"], "summary": record["abstract"],
        "authors": [{"name": n} for n in names],
        "author_detail": {"name": names[-1] if names else ""}, "author": names[-1] if names else "",
        "links": [{"href": url, "rel": "alternate", "type": "text/html"},
                  {"title": "pdf", "href": f"http://arxiv.org/pdf/{idv}", "rel": "related",
                   "type": "application/pdf"}],
        "arxiv_primary_category": {"term": categories[0] if categories else "", "scheme": SCHEME},
        "tags": [{"term": c, "scheme": SCHEME, "label": None} for c in categories],
    }
    for field, key in (("comments", "arxiv_comment"), ("journal-ref", "arxiv_journal_ref"), ("doi", "arxiv_doi")):
        if record.get(field):
            e[key] = record[field]
    # What parse_response adds (aslite/arxiv.py); mktime as it does, on this machine's zone.
    e["_idv"], e["_id"], e["_version"] = idv, rawid, version
    e["_time"] = time.mktime(updated)
    e["_time_str"] = time.strftime("%b %d %Y", updated)
    return e


def main() -> int:
    asl_src, snapshot, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path.insert(0, asl_src)
    from aslite.db import get_metas_db, get_papers_db

    # The two tables share data/papers.db: one writer at a time (the daemon commits each paper in
    # both before the next; here the papers first, then their metas).
    pdb = get_papers_db(flag="c", autocommit=False)
    times: dict[str, float] = {}
    with open(snapshot, encoding="utf-8") as lines:
        for line in lines:
            if len(times) >= n:
                break
            p = entry(json.loads(line))
            pdb[p["_id"]] = p
            times[p["_id"]] = p["_time"]
            if len(times) % 10_000 == 0:
                pdb.commit()
    pdb.commit()
    pdb.close()
    mdb = get_metas_db(flag="c", autocommit=False)
    for pid, t in times.items():
        mdb[pid] = {"_time": t}
    mdb.commit()
    mdb.close()
    written = len(times)
    print(f"wrote {written:,} papers", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
