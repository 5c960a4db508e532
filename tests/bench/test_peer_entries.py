"""The peer benchmark's arxiv-sanity-lite store: each snapshot line becomes the entry its daemon
stores from an arXiv API result, with the fields its server and its TF-IDF step read."""

from __future__ import annotations

import calendar
import json
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

from paperscope.sources.synthetic import iter_snapshot_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _peer_asl import entry  # noqa: E402


def test_entry_has_the_fields_the_peer_reads() -> None:
    for line in iter_snapshot_lines(20, seed=3):
        record = json.loads(line)
        e = entry(record)
        last = record["versions"][-1]
        assert e["_id"] == record["id"]
        assert e["_version"] == int(last["version"][1:]) == len(record["versions"])
        assert e["_idv"] == f"{record['id']}v{e['_version']}" and e["id"].endswith("/abs/" + e["_idv"])
        assert (e["title"], e["summary"]) == (record["title"], record["abstract"])
        # Authors as "First Last", in order: the peer joins them for its search and TF-IDF.
        assert [a["name"] for a in e["authors"]] == [
            " ".join(p for p in (first, last_name, suffix) if p)
            for last_name, first, suffix in record["authors_parsed"]]
        assert [t["term"] for t in e["tags"]] == record["categories"].split()
        # The time of the latest version, as parse_response computes it from `updated_parsed`.
        assert e["_time"] == time.mktime(e["updated_parsed"])
        assert calendar.timegm(e["updated_parsed"]) == parsedate_to_datetime(last["created"]).timestamp()
        assert e["_time_str"] == time.strftime("%b %d %Y", e["updated_parsed"])
