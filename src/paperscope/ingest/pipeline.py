"""Running an ingest: batches from a source, one transaction each, resumable after a kill.

Each batch and the run's cursor commit together, so a run killed at any instant leaves the store
as it was after some whole batch; the next run of the same source and target starts from that
cursor (or, for inputs without a cursor, re-reads everything, which the idempotent upserts allow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from paperscope.core.records import Batch, Malformed, PaperRecord, Record
from paperscope.ingest.batch import write_batch
from paperscope.ingest.repeats import RepeatGuard
from paperscope.store import runs, writes
from paperscope.store.locks import hold_ingest_lock

BatchSource = Callable[[str | None], Iterator[Batch]]  # resume cursor -> batches
# What the database may refuse one record for (a value it cannot store, a constraint): the record
# is quarantined, never the batch. Lost connections, locks and the like are not in this list: they
# fail the run, which resumes from its cursor.
REFUSALS: tuple[type[BaseException], ...] = (DataError, IntegrityError, orjson.JSONEncodeError, UnicodeError)


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
    """Ingest every batch `batches(cursor)` yields; record the run, its counts and its cursor.

    Runs of one source are serialised: raises IngestBusy (naming the running one's pid) at once
    when another run of `source` holds the store's ingest lock.
    """
    with hold_ingest_lock(engine, source):
        return _run_locked(engine, source, target, batches, resume, on_batch)


def _run_locked(
    engine: Engine,
    source: str,
    target: str,
    batches: BatchSource,
    resume: bool,
    on_batch: Callable[[Batch, Counter[str]], None] | None,
) -> RunSummary:
    with engine.begin() as connection:
        unfinished = runs.find_unfinished_run(connection, source, target) if resume else None
        cursor = unfinished["cursor"] if unfinished else None
        if unfinished:
            runs.finish_run(connection, unfinished["id"], "superseded", dict(unfinished["counts"] or {}))
        run_id = runs.start_run(connection, source, target, cursor)
    summary = RunSummary(run_id, source, target, resumed_from=cursor)
    deferred: list[PaperRecord] = []
    guard = RepeatGuard()
    try:
        last_cursor = cursor
        for batch in batches(cursor):
            counts = _write_isolating(engine, batch, run_id, summary.counts, deferred, guard)
            last_cursor = batch.cursor
            if on_batch:
                on_batch(batch, counts)
        if deferred:
            # Partial records whose full record came later in the run; unmatched ones are quarantined.
            late = Batch(list(deferred), cursor=last_cursor, label="deferred")
            _write_isolating(engine, late, run_id, summary.counts, None, guard)
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


def _merged(totals: Counter[str], counts: Counter[str]) -> dict[str, int]:
    merged = Counter(totals)
    merged.update(counts)
    return dict(merged)


def _write_isolating(
    engine: Engine,
    batch: Batch,
    run_id: int,
    totals: Counter[str],
    deferred: list[PaperRecord] | None,
    guard: RepeatGuard,
) -> Counter[str]:
    """Write a batch in one transaction with its cursor; should the database refuse it, write it
    again record by record, each in its own transaction, and quarantine only the refused ones."""
    pending = [] if deferred is None else deferred
    kept = len(pending)
    try:
        with engine.begin() as connection:
            counts = write_batch(connection, batch.records, run_id, deferred=deferred, repeats=guard)
            runs.record_progress(connection, run_id, _merged(totals, counts), batch.cursor)
        totals.update(counts)
        return counts
    except REFUSALS:
        del pending[kept:]
    counts = Counter[str]()
    for index, record in enumerate(batch.records):
        kept = len(pending)
        try:
            with engine.begin() as connection:
                counts.update(write_batch(connection, [record], run_id, deferred=deferred, repeats=guard))
        except REFUSALS as exc:
            del pending[kept:]
            counts["records"] += 1
            counts["quarantined"] += 1
            counts["refused_by_store"] += 1
            refused = _refused(record, batch, index, exc)
            try:
                with engine.begin() as connection:
                    write_batch(connection, [refused], run_id)
            except REFUSALS:  # even its raw text: keep the position and the reason
                refused.raw = None
                with engine.begin() as connection:
                    write_batch(connection, [refused], run_id)
    with engine.begin() as connection:
        runs.record_progress(connection, run_id, _merged(totals, counts), batch.cursor)
    totals.update(counts)
    return counts


def _refused(record: Record, batch: Batch, index: int, exc: BaseException) -> Malformed:
    source = getattr(record, "source", "unknown")
    position = getattr(record, "source_key", None) or getattr(record, "position", None)
    first_line = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300] if str(exc) else ""
    return Malformed(
        source,
        position or f"{batch.label or 'batch'}#{index}",
        f"the store refused the record: {type(getattr(exc, 'orig', None) or exc).__name__}: {first_line}",
        repr(record)[:2000],
    )
