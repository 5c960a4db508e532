"""Running an ingest: batches from a source, one transaction each, resumable after a kill.

Each batch and the run's cursor commit together, so a run killed at any instant leaves the store
as it was after some whole batch; the next run of the same source and target starts from that
cursor (or, for inputs without a cursor, re-reads everything, which the idempotent upserts allow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine

from paperscope.core.records import Batch, PaperRecord
from paperscope.ingest.batch import write_batch
from paperscope.store import runs, writes

BatchSource = Callable[[str | None], Iterator[Batch]]  # resume cursor -> batches


@dataclass
class RunSummary:
    run_id: int
    source: str
    target: str
    resumed_from: str | None
    counts: Counter[str] = field(default_factory=Counter)
    status: str = "running"
    error: str | None = None


def run_ingest(
    engine: Engine,
    source: str,
    target: str,
    batches: BatchSource,
    *,
    resume: bool = True,
    on_batch: Callable[[Batch, Counter[str]], None] | None = None,
) -> RunSummary:
    """Ingest every batch `batches(cursor)` yields; record the run, its counts and its cursor."""
    with engine.begin() as connection:
        unfinished = runs.find_unfinished_run(connection, source, target) if resume else None
        cursor = unfinished["cursor"] if unfinished else None
        if unfinished:
            runs.finish_run(connection, unfinished["id"], "superseded", dict(unfinished["counts"] or {}))
        run_id = runs.start_run(connection, source, target, cursor)
    summary = RunSummary(run_id, source, target, resumed_from=cursor)
    deferred: list[PaperRecord] = []
    try:
        for batch in batches(cursor):
            with engine.begin() as connection:
                counts = write_batch(connection, batch.records, run_id, deferred=deferred)
                summary.counts.update(counts)
                runs.record_progress(connection, run_id, dict(summary.counts), batch.cursor)
            if on_batch:
                on_batch(batch, counts)
        if deferred:
            # Partial records whose full record came later in the run; unmatched ones are quarantined.
            with engine.begin() as connection:
                summary.counts.update(write_batch(connection, list(deferred), run_id))
                summary.counts["records"] -= len(deferred)  # counted once already
    except BaseException as exc:
        summary.status = "failed"
        summary.error = f"{type(exc).__name__}: {exc}"
        with engine.begin() as connection:
            runs.finish_run(connection, run_id, "failed", dict(summary.counts), summary.error)
        raise
    with engine.begin() as connection:
        summary.counts["citations_resolved"] = writes.resolve_citation_targets(connection)
        runs.finish_run(connection, run_id, "done", dict(summary.counts))
    summary.status = "done"
    return summary
