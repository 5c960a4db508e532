"""Digests: one day's digests for 10,000 subscribers: choosing each one's papers and rendering its
message (HTML and plain text), SMTP excluded. Goal: under 60 s.

Setup (not timed, cached under bench/.cache): a synthetic snapshot of BENCH_DIGESTS_BACKGROUND older
papers plus BENCH_DIGESTS_PER_DAY papers on each of the 4 days a first daily digest looks at (the day
and its 3 days of grace), ingested into SQLite; an AI Score on every new paper and Hugging Face-like
upvote observations on a fifth of them (random: the ranking means nothing, the time does); then
BENCH_DIGESTS_SUBSCRIBERS confirmed subscriptions: 40% trending, 25% one or two categories, 20% a
query (300 distinct ones), 10% authors, 5% a query within a category; a fifth of them weekly (the day
is a Monday, so every one is due).

Timed: `build_digests` as a dry run (nothing stored) with queries matched by words, then with the
keyword index (services.search), then as the real run (the outbox rows and the sent-papers log
written), then the send phase with a transport that drops every message (outbox bookkeeping only).

Environment: BENCH_DIGESTS_SUBSCRIBERS (10000), BENCH_DIGESTS_PER_DAY (1500),
BENCH_DIGESTS_BACKGROUND (20000).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, peak_rss_mib, write_result  # noqa: E402

NAME = "digests"
DAY = date(2026, 6, 15)  # a Monday: the weekly subscriptions are due too
SEED = 20261125
GOAL = 60.0


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _lines(background: int, per_day: int) -> Path:
    from paperscope.sources.synthetic import iter_snapshot_lines

    path = CACHE / f"digests-{background}-{per_day}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    recent = 4 * per_day
    with partial.open("wb") as out:
        for i, line in enumerate(iter_snapshot_lines(background + recent, seed=SEED, start=date(2016, 1, 1))):
            if i >= background:  # one of the new papers: dated on the digest's day or its days of grace
                record = orjson.loads(line)
                day = DAY - timedelta(days=(i - background) % 4)
                record["id"] = f"{day.year % 100:02d}{day.month:02d}.9{i - background:04d}"
                record["versions"] = [{"version": "v1", "created": day.strftime("%a, %d %b %Y 12:00:00 GMT")}]
                record["update_date"] = day.isoformat()
                line = orjson.dumps(record)
            out.write(line + b"\n")
    partial.rename(path)
    return path


def _store(background: int, per_day: int, subscribers: int) -> Path:
    from sqlalchemy import insert, select

    from paperscope.ingest.pipeline import run_ingest
    from paperscope.ingest.registry import files_plan
    from paperscope.services import digests
    from paperscope.store.engine import open_engine
    from paperscope.store.migrate import upgrade
    from paperscope.store.schema import authorships, observations, papers
    from paperscope.store.scores_schema import paper_scores

    base = CACHE / f"digests-{background}-{per_day}-{subscribers}.db"
    if not base.exists():
        lines = _lines(background, per_day)
        partial = base.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = open_engine(f"sqlite:///{partial}")
        upgrade(engine)
        plan = files_plan("snapshot", [lines])
        started = time.perf_counter()
        run_ingest(engine, plan.source, plan.target, plan.batches)
        print(f"  ingested {background + 4 * per_day:,} papers in {time.perf_counter() - started:.0f} s", flush=True)
        rng = random.Random(SEED)
        now = datetime.now(UTC)
        with engine.begin() as connection:
            recent = [r for (r,) in connection.execute(
                select(papers.c.id).where(papers.c.published >= DAY - timedelta(days=3)))]
            connection.execute(insert(paper_scores), [
                {"paper_id": pid, "ai_score": rng.uniform(0, 100), "computed_at": now} for pid in recent])
            connection.execute(insert(observations), [
                {"paper_id": pid, "source": "hf", "observed_at": now, "upvotes": int(rng.paretovariate(1.2))}
                for pid in recent if rng.random() < 0.2])
            titles = [t for (t,) in connection.execute(select(papers.c.title).where(papers.c.id.in_(recent[:3000])))]
            names = [n for (n,) in connection.execute(
                select(authorships.c.name).where(authorships.c.paper_id.in_(recent[:3000])).limit(5000))]
        words = sorted({w for t in titles for w in t.lower().split() if len(w) > 3})
        queries = [" ".join(rng.sample(words, rng.choice((1, 1, 2)))) for _ in range(300)]
        cats = ["LG", "CV", "CL", "AI", "ML", "CR", "RO", "IR"]
        started = time.perf_counter()
        for i in range(subscribers):
            roll = rng.random()
            if roll < 0.40:
                topic = digests.Topic.make(trending=True)
            elif roll < 0.65:
                topic = digests.Topic.make(categories=rng.sample(cats, rng.choice((1, 2))))
            elif roll < 0.85:
                topic = digests.Topic.make(query=rng.choice(queries))
            elif roll < 0.95:
                topic = digests.Topic.make(authors=rng.sample(names, 2))
            else:
                topic = digests.Topic.make(query=rng.choice(queries), categories=[rng.choice(cats[:4])])
            frequency = "weekly" if rng.random() < 0.2 else "daily"
            digests.subscribe(engine, f"reader{i}@example.org", topic, frequency, confirmed=True)
        print(f"  {subscribers:,} subscriptions in {time.perf_counter() - started:.0f} s", flush=True)
        engine.dispose()
        partial.rename(base)
    work = CACHE / "digests-run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, work)
    return work


class DropTransport:
    """Accepts every message and forgets it: the send phase without SMTP."""

    def __enter__(self) -> DropTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> None:
        return None


def main() -> int:
    from paperscope.services import digests, search
    from paperscope.services.mailer import MailSettings
    from paperscope.store.engine import open_engine
    from paperscope.store.migrate import upgrade

    subscribers = _int_env("BENCH_DIGESTS_SUBSCRIBERS", 10_000)
    per_day = _int_env("BENCH_DIGESTS_PER_DAY", 1500)
    background = _int_env("BENCH_DIGESTS_BACKGROUND", 20_000)
    path = _store(background, per_day, subscribers)
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)  # a cached store made by older code gains the newer migrations
    mail = MailSettings(base_url="https://papers.example.org", mail_from="paperscope <digest@example.org>",
                        secret_key="bench-secret", digest_size=10)
    data_dir = CACHE / "digests-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    now = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)
    rows, raw = [], {}

    def measure(label: str, record: bool, index_dir: Path | None) -> digests.DigestRun:
        run = digests.DigestRun(DAY)
        started = time.perf_counter()
        built = digests.build_digests(engine, mail, DAY, now, record=record, report=run, data_dir=index_dir)
        total = time.perf_counter() - started
        messages = [b.message for b in built if b.message]
        size = sum(len(m) for m in messages) / max(1, len(messages)) / 1024
        s = run.seconds
        rows.append([label, f"{len(built):,}", f"{len(messages):,}", f"{s['pool']:.2f}", f"{s['select']:.2f}",
                     f"{s['render']:.2f}", f"{s['record']:.2f}", f"{total:.1f}", f"{size:.0f} KiB"])
        raw[label] = {"due": run.due, "messages": len(messages), "seconds": s, "total": total}
        print(f"  {label}: {total:.1f} s {s}", flush=True)
        return run

    measure("dry run, queries matched by words", False, None)
    started = time.perf_counter()
    search.build_indexes(engine, data_dir, embed=False)
    print(f"  keyword index built in {time.perf_counter() - started:.0f} s (not timed)", flush=True)
    measure("dry run, queries through the keyword index", False, data_dir)
    real = measure("real run (outbox and sent-papers log written)", True, data_dir)
    started = time.perf_counter()
    sent = digests.send_pending(engine, mail, DropTransport(), now)
    send_seconds = time.perf_counter() - started
    raw["send_phase"] = {"sent": sent.sent, "seconds": send_seconds}
    engine.dispose()
    best = min(raw[k]["total"] for k in raw if k != "send_phase")
    real_total = raw["real run (outbox and sent-papers log written)"]["total"]
    notes = [
        f"Goal: one day's digests for {subscribers:,} subscribers in under {GOAL:.0f} s of selection and "
        f"rendering, SMTP excluded: {'met' if real_total < GOAL else 'NOT met'} "
        f"({real_total:.1f} s for the real run, {best:.1f} s at best).",
        f"Store: {background:,} older synthetic papers and {4 * per_day:,} new ones over the day and its 3 "
        "days of grace; random AI Scores and upvotes (timing only).",
        f"Send phase without SMTP ({sent.sent:,} outbox rows taken and marked sent, two short transactions each): "
        f"{send_seconds:.1f} s; over SMTP add the server's time per message.",
        f"{real.due:,} subscriptions due (daily and weekly: the day is a Monday); each card rendered once and "
        "reused across digests.",
        f"Peak memory {peak_rss_mib():.0f} MiB.",
    ]
    write_result(
        NAME,
        title=f"Digests: one day for {subscribers:,} subscribers",
        command="bench/run.sh digests",
        columns=["run", "digests", "with papers", "pool s", "select s", "render s", "write s", "total s",
                 "message size"],
        rows=rows,
        notes=notes,
        raw=raw,
    )
    print(f"  wrote bench/results/{NAME}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
