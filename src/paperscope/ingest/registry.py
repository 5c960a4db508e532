"""Which source module reads which input: the one place the CLI and jobs look sources up.

Each entry turns user arguments into a `BatchSource` (cursor -> batches) for `run_ingest`, plus a
`target` string naming what is ingested, so a rerun of the same target resumes the same run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from paperscope.core.records import Batch
from paperscope.core.settings import Settings
from paperscope.ingest.pipeline import BatchSource
from paperscope.sources import (
    aan,
    arxiv_api,
    arxiv_oai,
    arxiv_snapshot,
    hf_daily,
    listing,
    openalex,
    semantic_scholar,
)
from paperscope.sources.http import PoliteClient
from paperscope.sources.recovery import DEFAULT_MAX_LINE_BYTES

SOURCES = ("arxiv", "oai", "snapshot", "openalex", "s2", "hf", "aan", "listing")


@dataclass(frozen=True)
class IngestPlan:
    source: str  # the source's name in the store ("arxiv_api", "openalex", ...)
    target: str
    batches: BatchSource


def _target(kind: str, paths: Sequence[Path]) -> str:
    return kind + ":" + "|".join(str(p.resolve()) for p in paths)


def _check_files(paths: Sequence[Path]) -> list[Path]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    return [p for p in paths]


def _expand(paths: Sequence[Path], patterns: tuple[str, ...]) -> list[Path]:
    """Files as given; folders become the files in them matching the source's patterns."""
    files: list[Path] = []
    for path in _check_files(paths):
        if path.is_dir():
            for pattern in patterns:
                files.extend(sorted(path.rglob(pattern)))
        else:
            files.append(path)
    return files


def files_plan(
    source: str,
    paths: Sequence[Path],
    *,
    as_of: date | None = None,
    author: str | None = None,
    batch_size: int = 5000,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> IngestPlan:
    """Read saved responses or dumps of `source` from files (or folders of them); line-based inputs
    (JSON lines, the AAN release) quarantine any line longer than `max_line_bytes` without reading
    it whole."""
    if source == "arxiv":
        files = _expand(paths, ("*.xml",))
        return IngestPlan("arxiv_api", _target("files", files), lambda _c: arxiv_api.read_files(files))
    if source == "oai":
        files = _expand(paths, ("*.xml",))
        return IngestPlan("arxiv_oai", _target("files", files), lambda _c: arxiv_oai.read_files(files))
    if source == "snapshot":
        files = _expand(paths, ("*.jsonl", "*.json", "*.jsonl.gz", "*.json.gz"))
        return IngestPlan(
            "arxiv_snapshot",
            _target("files", files),
            lambda cursor: arxiv_snapshot.read_files(
                files, batch_size=batch_size, cursor=cursor, max_line_bytes=max_line_bytes
            ),
        )
    if source == "openalex":
        files = _expand(paths, ("*.json",))
        return IngestPlan(
            "openalex", _target("files", files), lambda _c: openalex.read_files(files, max_line_bytes)
        )
    if source == "s2":
        files = [p for p in _expand(paths, ("*.json",)) if p.name != "cassette_index.json"]
        return IngestPlan("s2", _target("files", files), lambda _c: semantic_scholar.read_files(files))
    if source == "hf":
        files = _expand(paths, ("*.json",))
        return IngestPlan("hf", _target("files", files), lambda _c: hf_daily.read_files(files))
    if source == "aan":
        (folder,) = _check_files(paths) if len(paths) == 1 else (None,)
        if folder is None or not folder.is_dir():
            raise ValueError("aan takes one folder holding acl-metadata.txt and acl-citations.txt")
        return IngestPlan(
            "aan", _target("folder", [folder]), lambda _c: aan.read_folder(folder, max_line_bytes=max_line_bytes)
        )
    if source == "listing":
        files = _expand(paths, ("*.txt",))
        when = as_of or date.today()
        target = _target(f"listing[{when.isoformat()},{author or ''}]", files)
        return IngestPlan("listing", target, lambda _c: listing.read_files(files, as_of=when, author=author))
    raise ValueError(f"unknown source {source!r}: choose one of {', '.join(SOURCES)}")


def client_for(settings: Settings, source: str) -> PoliteClient:
    return PoliteClient(
        settings.user_agent,
        min_interval=settings.min_interval(source),
        retries=settings.http_retries,
        timeout=settings.http_timeout,
        headers={"x-api-key": settings.s2_api_key} if source == "s2" and settings.s2_api_key else None,
    )


def live_plan(settings: Settings, source: str, **options: object) -> IngestPlan:
    """Fetch from the live API of `source`; options are the fetch function's keyword arguments."""
    clean = {k: v for k, v in options.items() if v not in (None, (), [])}
    target = "live:" + ",".join(f"{k}={v}" for k, v in sorted(clean.items()))
    client_name = {"arxiv": "arxiv", "oai": "arxiv", "openalex": "openalex", "s2": "s2", "hf": "hf"}.get(
        source
    )
    if client_name is None:
        raise ValueError(f"{source} has no live API here: give files with --from-file")

    def batches(cursor: str | None) -> Iterator[Batch]:
        with client_for(settings, client_name) as client:
            if source == "arxiv":
                yield from arxiv_api.fetch_arxiv_api(client, cursor=cursor, **clean)  # type: ignore[arg-type]
            elif source == "oai":
                yield from arxiv_oai.fetch_arxiv_oai(client, cursor=cursor, **clean)  # type: ignore[arg-type]
            elif source == "openalex":
                mailto = settings.contact_email or None
                if clean.pop("authors", False):
                    yield from openalex.fetch_openalex_authors(client, cursor=cursor, mailto=mailto, **clean)  # type: ignore[arg-type]
                else:
                    yield from openalex.fetch_openalex_works(client, cursor=cursor, mailto=mailto, **clean)  # type: ignore[arg-type]
            elif source == "s2":
                yield from _s2_batches(client, cursor, clean)
            else:
                yield from hf_daily.fetch_hf_daily(client, cursor=cursor, **clean)  # type: ignore[arg-type]

    store_name = {"arxiv": "arxiv_api", "oai": "arxiv_oai"}.get(source, source)
    return IngestPlan(store_name, target, batches)


def _s2_batches(client: PoliteClient, cursor: str | None, options: dict[str, object]) -> Iterator[Batch]:
    if "citations_of" in options:
        return semantic_scholar.fetch_s2_citations(client, str(options["citations_of"]), cursor=cursor)
    if "author" in options:
        return semantic_scholar.fetch_s2_author_papers(client, str(options["author"]), cursor=cursor)
    if "ids" in options:
        return semantic_scholar.fetch_s2_papers_batch(client, list(options["ids"]))  # type: ignore[call-overload]
    if "query" in options:
        return semantic_scholar.fetch_s2_bulk_search(client, str(options["query"]), cursor=cursor)
    raise ValueError("s2 needs one of --query, --citations-of, --author or --id")
