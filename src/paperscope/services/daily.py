"""The daily pipeline behind `paperscope run`: ingest the day's new papers, enrich them (citation
counts, references and ids from OpenAlex and Semantic Scholar), score, recompute the profiles of
their authors, refresh the search indexes, then send the digests. Each step runs even
when an earlier one failed (yesterday's store still makes a digest), and the run says which steps
failed and why."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from paperscope.core.settings import Settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.ingest.registry import IngestPlan, live_plan
from paperscope.services import digests, scores
from paperscope.services.mailer import MailSettings, Transport

STEPS = ("ingest", "enrich", "score", "authors", "index", "digest")
LOOKBACK_DAYS = 2  # the arXiv API is asked for papers submitted in the last days: listings lag


def daily_plans(settings: Settings, day: date, categories: Sequence[str]) -> list[IngestPlan]:
    """The live fetches of one day: the arXiv API per category (submitted in the last days) and the
    Hugging Face daily papers list of the day."""
    since = day - timedelta(days=LOOKBACK_DAYS)
    plans = [live_plan(settings, "arxiv", category=c, date_from=since, date_to=day) for c in categories]
    plans.append(live_plan(settings, "hf", date=day))
    return plans


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    summary: str
    error: str | None = None


@dataclass
class DailyRun:
    day: date
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


Say = Callable[[str], None]


def run_daily(engine: Engine, settings: Settings, mail: MailSettings, transport: Transport, day: date,
              plans: Sequence[IngestPlan], steps: Sequence[str] = STEPS, say: Say = lambda _: None,
              enrich_base_urls: Mapping[str, str] | None = None) -> DailyRun:
    """Runs the steps in order; one failing is recorded and the next ones still run.

    `enrich_base_urls` replaces the APIs' roots for the enrich step (a local server in tests)."""
    run = DailyRun(day)
    ingest_started: list[datetime] = []

    def ingest() -> str:
        ingest_started.append(datetime.now(UTC))
        done = []
        for plan in plans:
            summary = run_ingest(engine, plan.source, plan.target, plan.batches)
            done.append(f"{plan.source}: {summary.counts['papers_new']} new")
        return "; ".join(done) or "nothing to ingest"

    def enrich() -> str:
        from paperscope.services.enrich import choose_papers, enrich_papers

        if not ingest_started:
            return "no new papers to look up (no papers were fetched in this run)"
        new = choose_papers(engine, since=ingest_started[0])
        if not new:
            return "no new papers"
        summary, _ = enrich_papers(engine, settings, new, recompute=False, base_urls=enrich_base_urls)
        return "; ".join(f"{name}: {part.asked} looked up, {sum(part.found.values())} found"
                         for name, part in summary.sources.items())

    def score() -> str:
        s = scores.run_scores(engine, data_dir=settings.data_dir, default_embedder=settings.embedder)
        return f"{s.papers:,} papers, {s.embedded:,} embedded, AI Score {s.ai_status}"

    def authors() -> str:
        from paperscope.analytics.authors import recompute_authors
        from paperscope.services.authors import store_page_parts

        report = recompute_authors(engine, incremental=True)
        store_page_parts(engine)
        return f"{report.identities:,} author profiles recomputed ({report.mode})"

    def index() -> str:
        from paperscope.services import search

        s = search.build_indexes(engine, settings.data_dir, embed=False)
        return (f"indexes refreshed in {s.folder}"
                + (f"; semantic skipped: {s.semantic_skipped}" if s.semantic_skipped else "")
                + (f"; semantic queries will fail: {s.query_model_problem}" if s.query_model_problem else ""))

    def digest() -> str:
        r = digests.run_digests(engine, mail, transport, day, data_dir=settings.data_dir)
        text = (f"{r.built} built, {r.empty} empty, {r.sent} sent, {r.failed} failed, "
                f"{r.cancelled} cancelled, {r.pending} pending")
        if r.error:
            raise RuntimeError(f"{text}; stopped: {r.error}")
        return text

    actions: dict[str, Callable[[], str]] = {"ingest": ingest, "enrich": enrich, "score": score, "authors": authors,
                                              "index": index, "digest": digest}
    for name in steps:
        if name not in actions:
            raise ValueError(f"unknown step {name!r}: choose from {', '.join(STEPS)}")
        say(f"{name} …")
        started = time.perf_counter()
        try:
            result = StepResult(name, True, 0.0, actions[name]())
        except Exception as exc:  # one step failing must not stop the others
            result = StepResult(name, False, 0.0, "failed", f"{type(exc).__name__}: {exc}")
            _log_traceback(exc)
        result.seconds = round(time.perf_counter() - started, 2)
        run.steps.append(result)
        say(f"{name}: {result.summary if result.ok else result.error} ({result.seconds:.1f} s)")
    return run


def _log_traceback(exc: BaseException) -> Any:
    import logging

    logging.getLogger("paperscope.daily").debug("".join(traceback.format_exception(exc)))
