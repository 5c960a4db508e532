"""`paperscope enrich` and the daily run's enrichment step: choose the papers, look them up in
OpenAlex and Semantic Scholar (ingest.enrich), then recompute the profiles of their authors so an
imported author's h-index and citations count what was found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from paperscope.core.settings import Settings
from paperscope.ingest.enrich import SOURCES, EnrichSummary, Progress, enrich_source, select_papers
from paperscope.ingest.registry import client_for


def choose_papers(engine: Engine, *, paper_ids: Sequence[str] = (), author: str | None = None,
                  missing: bool = False, since: datetime | None = None, limit: int | None = None) -> list[str]:
    """The papers a command names. Raises ValueError (unknown paper id) or AuthorNotFound."""
    author_papers: list[str] = []
    if author:
        from paperscope.services.authors import identity_paper_ids

        author_papers = identity_paper_ids(engine, author)
    if not (paper_ids or author or missing or since):
        raise ValueError("say which papers to enrich: --author ID, --papers ID…, or --missing")
    return select_papers(engine, paper_ids=paper_ids, author_paper_ids=author_papers, missing=missing,
                         since=since, limit=limit)


def enrich_papers(
    engine: Engine,
    settings: Settings,
    paper_ids: Sequence[str],
    *,
    sources: Sequence[str] = SOURCES,
    again: bool = False,
    by_title: bool = True,
    recompute: bool = True,
    base_urls: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> tuple[EnrichSummary, Any]:
    """Enrich `paper_ids` from each source in turn, then (when anything changed and `recompute`)
    recompute the author profiles those papers touch. Returns the summary and the recompute report.

    `base_urls` replaces a source's API root (a local server in tests); live runs use the real ones.
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown source {unknown[0]!r}: choose from {', '.join(SOURCES)}")
    summary = EnrichSummary(papers=len(paper_ids))
    for source in sources:
        with client_for(settings, source) as client:
            summary.sources[source] = enrich_source(
                engine, source, client, paper_ids, again=again, by_title=by_title,
                mailto=settings.contact_email or None, base_url=(base_urls or {}).get(source),
                progress=progress)
    report = None
    if recompute and summary.papers_updated:
        from paperscope.analytics.authors import recompute_authors
        from paperscope.services.authors import ensure_computed

        report = ensure_computed(engine) or recompute_authors(engine, incremental=True)
    return summary, report
