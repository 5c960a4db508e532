"""Provenance is shown: field by field, which source gave the stored value and when, and every
value the sources gave where they differ (`paperscope paper --json` and the paper page)."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from paperscope.cli.app import app
from tests.conftest import BACKENDS

TURING = "doi:10.1093/mind/lix.236.433"


@BACKENDS
def test_paper_json_has_provenance_field_by_field(tmp_path: Path, database_url: str, fixtures_dir: Path,
                                                  listings_dir: Path) -> None:
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url}
    runner = CliRunner()
    s2 = fixtures_dir / "semantic_scholar" / "danielnsilva_semanticscholar"
    files = [s2 / "data_json", *(s2 / "cassette_bodies" / f"test_search_paper_publication_date_or_year__0{n}.json"
                                 for n in (3, 4))]
    args = ["ingest", "s2", "--no-refresh"] + [a for f in files for a in ("--from-file", str(f))]
    assert runner.invoke(app, args, env=env).exit_code == 0
    paper = orjson.loads(runner.invoke(app, ["paper", TURING, "--json"], env=env).stdout)
    said = paper["provenance"]
    assert said["fields"]["title"]["source"] == "s2" and said["fields"]["title"]["said_at"]
    assert said["fields"]["cited_by_count"] == {**said["fields"]["cited_by_count"], "source": "s2",
                                                "value": paper["cited_by_count"]}
    counts = [v["value"] for v in said["differing"]["cited_by_count"]]
    assert {8596, 10059} <= set(counts) and paper["cited_by_count"] in counts
    assert [s["source"] for s in said["sources"]] == ["s2"]
    text = runner.invoke(app, ["paper", TURING], env=env).output
    assert "cited_by_count:" in text and "says 8596" in text and "(kept)" in text
