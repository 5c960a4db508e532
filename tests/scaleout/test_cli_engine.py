"""The embed commands and the --engine/--address options from the command line: a backfill that
resumes, a status that counts, and clear errors for an engine or an address that cannot be used."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from paperscope.cli.app import app


def _flat(result) -> str:  # type: ignore[no-untyped-def]
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": "",
           "PAPERSCOPE_INDEX_SNAPSHOTS": str(tmp_path / "snapshots")}

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env, catch_exceptions=False)

    return invoke


def test_backfill_status_and_publish_from_the_command_line(run, listings_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("author-bo-han.txt", "hf-papers-search.txt"):
        ingested = run("ingest", "listing", str(listings_dir / name), "--as-of", "2026-11-30", "--no-refresh")
        assert ingested.exit_code == 0, ingested.output
    before = orjson.loads(run("embed", "status", "--json").stdout)
    papers = before["papers"]
    assert papers == 124
    assert before["generations"] == []  # nothing embedded yet

    first = run("embed", "backfill", "--embedder", "tfidf", "--range-size", "10")
    assert first.exit_code == 0, first.output
    assert f"{papers} papers embedded, 0 already current, 13 ranges" in _flat(first)
    again = run("embed", "backfill", "--embedder", "tfidf", "--range-size", "10")
    assert f"0 papers embedded, {papers} already current" in _flat(again)  # nothing left to do
    (after,) = orjson.loads(run("embed", "status", "--json").stdout)["generations"]
    assert after["embedder"] == "tfidf-svd" and after["covered"] == after["papers"] == papers
    assert not after["active"] and after["state"] == "ready"  # beside the active one: none is active yet
    activated = run("embed", "activate", str(after["id"]))
    assert activated.exit_code == 0 and "is active" in _flat(activated)
    assert "tfidf-svd" in run("embed", "status").stdout

    published = run("index", "--embedder", "tfidf", "--publish")
    assert published.exit_code == 0, published.output
    assert "published snapshot-000001" in _flat(published)
    assert (tmp_path / "snapshots" / "000001" / "MANIFEST.json").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "ray"], "--engine ray needs --address HOST:PORT"),
    (["--engine", "ray", "--address", "not an address"], "'not an address' is not HOST:PORT"),
    (["--engine", "spark"], "unknown --engine 'spark': choose one of local, ray"),
    (["--address", "10.0.0.5:6379"], "--address names a Ray cluster: use it with --engine ray"),
])
def test_an_engine_that_cannot_be_used_is_named(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    for command in (["embed", "backfill"], ["score"], ["index"], ["build", "--snapshot", "none.jsonl"]):
        result = run(*command, *args)
        assert result.exit_code == 1
        assert message in _flat(result), (command, result.output)


def test_an_unreachable_cluster_is_named(run) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("ray")
    result = run("embed", "backfill", "--engine", "ray", "--address", "127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in _flat(result)
