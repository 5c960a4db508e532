"""Derived data follows the store: after papers are written, the scores, the author profiles and
the search indexes they touch are brought up to date, and whatever still lags is reported.

`refresh_derived` is what `paperscope ingest` runs after its last batch, what `paperscope refresh`
runs on its own and what `paperscope run` runs after the day's ingest. Each stage is incremental:
only new or changed papers are embedded and indexed, only the identities of their authors are
recomputed. `pending` says, for each kind of derived data, how many papers it has not counted
yet; the author page and `author --json` carry it, so a profile is never silently stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperscope.store import freshness

Progress = Callable[[str, int, int | None], None]
STAGES = ("scores", "author profiles", "search indexes")


def _quiet(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class Pending:
    """Papers not yet counted by each kind of derived data, and when each was computed."""

    papers: int = 0
    scores: int = 0
    scores_as_of: str | None = None
    profiles: int = 0
    profiles_as_of: str | None = None
    index: int = 0
    index_as_of: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.papers and (self.scores or self.profiles or self.index))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"any": self.any}

    def notes(self) -> list[str]:
        """One sentence per lagging kind, naming the command that catches it up."""
        out = []
        for count, what, when in ((self.scores, "scores", self.scores_as_of),
                                  (self.profiles, "author profiles", self.profiles_as_of),
                                  (self.index, "search index", self.index_as_of)):
            if count and self.papers:
                since = f"as of {when[:16].replace('T', ' ')}" if when else "never computed"
                out.append(f"{what} {since}: {count:,} newer paper{'s' if count != 1 else ''} not yet "
                           "counted (paperscope refresh)")
        return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pending(engine: Engine, data_dir: Path | None) -> Pending:
    """How many papers each kind of derived data has not counted yet."""
    from paperscope.index.lexical import indexed_until

    with engine.connect() as connection:
        out = Pending(papers=freshness.papers_updated_after(connection, None))
        scored = freshness.scores_computed_at(connection)
        out.scores, out.scores_as_of = freshness.papers_updated_after(connection, scored), _iso(scored)
        profiled = freshness.profiles_computed_at(connection)
        out.profiles = freshness.papers_updated_after(connection, profiled)
        out.profiles_as_of = _iso(profiled)
        if data_dir is not None:
            indexed = indexed_until(Path(data_dir) / "index" / "lexical")
            out.index, out.index_as_of = freshness.papers_updated_after(connection, indexed), _iso(indexed)
    return out


@dataclass
class RefreshSummary:
    stages: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # stage -> why it could not run
    seconds: dict[str, float] = field(default_factory=dict)
    pending: Pending | None = None


def refresh_derived(engine: Engine, data_dir: Path, embedder_name: str | None = None,
                    progress: Progress = _quiet) -> RefreshSummary:
    """Scores (new or changed papers embedded; Novelty, categories and AI Score recomputed), then
    the profiles of the authors of changed papers, then both search indexes, in this order: the
    profiles average the papers' scores and the indexes carry them."""
    import time

    from paperscope.analytics.authors import recompute_authors
    from paperscope.analytics.embedders import EmbedderUnavailable
    from paperscope.services import scores, search

    summary = RefreshSummary()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        summary.seconds[stage] = round(now - clock, 2)
        clock = now

    try:
        s = scores.run_scores(engine, embedder_name, data_dir=data_dir,
                              progress=lambda st, d, t: progress(f"scores: {st}", d, t))
        summary.stages["scores"] = (f"{s.embedded:,} embedded, {s.novelty_raw:,} with Novelty, "
                                    f"AI Score {s.ai_status}")
    except (EmbedderUnavailable, ValueError) as exc:  # e.g. too few papers to fit the embedder
        summary.stages["scores"] = "not computed"
        summary.skipped["scores"] = str(exc)
    lap("scores")
    progress("author profiles", 0, None)
    report = recompute_authors(engine, incremental=True)
    from paperscope.services.authors import store_page_parts

    store_page_parts(engine)
    summary.stages["author profiles"] = f"{report.identities:,} identities recomputed ({report.mode})"
    progress("author profiles", 1, 1)
    lap("author profiles")
    built = search.build_indexes(engine, data_dir, embedder_name, embed=False,
                                 progress=lambda st, d, t: progress(st, d, t))
    summary.stages["search indexes"] = (
        f"{built.lexical.indexed:,} papers into the keyword index"
        + (f", {built.vectors.added + built.vectors.replaced:,} into the semantic index" if built.vectors
           else ""))
    if built.semantic_skipped:
        summary.skipped["semantic index"] = built.semantic_skipped
    lap("search indexes")
    summary.pending = pending(engine, data_dir)
    return summary
