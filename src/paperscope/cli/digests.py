"""`paperscope digest send`, `paperscope subscriptions add|list` and `paperscope run` (the daily
pipeline, once for cron or on a schedule)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from paperscope.cli.base import app, console, fail, runtime_or_exit, settings_or_exit

if TYPE_CHECKING:
    from paperscope.services.mailer import MailSettings

digest_app = typer.Typer(help="Email digests: build what is due into the outbox and send it.")
app.add_typer(digest_app, name="digest")
subs_app = typer.Typer(help="Digest subscriptions (operators).")
app.add_typer(subs_app, name="subscriptions")


def _mail() -> MailSettings:
    from paperscope.services.mailer import resolved_mail_settings as _resolved

    try:
        return _resolved(settings_or_exit())
    except ValueError as exc:
        fail(str(exc))
        raise


def _day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--day {value!r} is not a date (YYYY-MM-DD)")
        raise


@digest_app.command("send")
def digest_send(
    dry_run: bool = typer.Option(False, "--dry-run", help="Build the due digests as .eml files; send nothing."),
    out: Path = typer.Option(Path("digests-dry-run"), "--out", help="Folder of the dry run's .eml files."),
    day: str = typer.Option(None, "--day", help="The digest's day (YYYY-MM-DD); default today (UTC)."),
) -> None:
    """Build every due digest into the outbox, then send all pending messages over SMTP."""
    from paperscope.services import digests
    from paperscope.services.mailer import SmtpTransport

    settings = settings_or_exit()
    engine = runtime_or_exit().engine
    mail = _mail()
    if dry_run:
        run = digests.dry_run(engine, mail, out, _day(day), data_dir=settings.data_dir)
        console.print(f"dry run for {run.day}: {run.due} due, {len(run.written)} digests written to {out}, "
                      f"{run.empty} with no new papers; nothing stored or sent", highlight=False)
        return
    run = digests.run_digests(engine, mail, SmtpTransport(mail), _day(day), data_dir=settings.data_dir)
    console.print(f"digests for {run.day}: {run.built} built, {run.empty} empty, {run.sent} sent, "
                  f"{run.failed} failed, {run.cancelled} cancelled, {run.pending} pending", highlight=False,
                  soft_wrap=True)
    if run.error:
        fail(f"{run.error} — the {run.pending} pending message(s) go out with the next run")


@subs_app.command("add")
def subscriptions_add(
    email: str = typer.Argument(..., help="The subscriber's address."),
    query: str = typer.Option(None, "--query", help="Papers matching this query."),
    category: list[str] = typer.Option(None, "--category", help="Category tag (LG, CV, ...); repeatable."),
    author: list[str] = typer.Option(None, "--author", help="Author id or name; repeatable."),
    trending: bool = typer.Option(False, "--trending", help="Rank by attention (the default topic)."),
    weekly: bool = typer.Option(False, "--weekly", help="Weekly instead of daily."),
    confirmed: bool = typer.Option(False, "--confirmed",
                                   help="Active at once; without it a confirmation email is sent."),
) -> None:
    """Subscribe an address (double opt-in unless --confirmed)."""
    from paperscope.services import digests
    from paperscope.services.mailer import InvalidAddress, MailError, SmtpTransport

    engine = runtime_or_exit().engine
    try:
        topic = digests.Topic.make(trending, query, category or (), author or ())
        result = digests.subscribe(engine, email, topic, "weekly" if weekly else "daily", confirmed=confirmed)
    except (InvalidAddress, digests.SubscriptionError) as exc:
        fail(str(exc))
        raise
    sub = result.subscription
    what = "added" if result.created else "already there"
    console.print(f"subscription {sub['id']} {what}: {sub['email']} follows {topic.describe()} "
                  f"({sub['frequency']}, {sub['status']})", highlight=False)
    if result.needs_confirmation:
        mail = _mail()
        try:
            digests.send_confirmation(engine, mail, sub, SmtpTransport(mail), min_interval=timedelta(0))
        except MailError as exc:
            fail(f"the confirmation email could not be sent: {exc}")
        console.print(f"confirmation email sent to {sub['email']}", highlight=False)


@subs_app.command("list")
def subscriptions_list(status: str = typer.Option(None, help="pending | active | unsubscribed")) -> None:
    """Every subscription with its topic, frequency and status."""
    from paperscope.services import digests

    engine = runtime_or_exit().engine
    rows = digests.list_subscriptions(engine, status)
    console.print("id\temail\tstatus\tfrequency\tlast digest up to\ttopic", highlight=False, soft_wrap=True)
    for r in rows:
        topic = digests.Topic.from_json(r["topic"]).describe()
        console.print(f"{r['id']}\t{r['email']}\t{r['status']}\t{r['frequency']}\t{r['last_window_end'] or '—'}\t"
                      f"{topic}", highlight=False, soft_wrap=True, markup=False)
    console.print(f"{len(rows)} subscription(s)", highlight=False)


def parse_every(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--every {text!r}: give a number and a unit, e.g. 24h, 30m, 1d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


@app.command("run")
def run_command(
    every: str = typer.Option(None, "--every", help="Keep running, once per interval (24h, 12h, 30m)."),
    skip: list[str] = typer.Option(None, "--skip",
                                   help="Leave out a step: ingest, enrich, score, authors, index, digest."),
    category: list[str] = typer.Option(None, "--category",
                                       help="arXiv categories to ingest (default PAPERSCOPE_DAILY_CATEGORIES)."),
    day: str = typer.Option(None, "--day", help="The day to run for (YYYY-MM-DD); default today (UTC)."),
) -> None:
    """The daily pipeline: ingest -> enrich -> score -> authors -> index -> digest; once (for cron), or
    --every interval."""
    from paperscope.services import daily
    from paperscope.services.mailer import SmtpTransport

    settings = settings_or_exit()
    engine = runtime_or_exit().engine
    mail = _mail()
    unknown = [s for s in skip or () if s not in daily.STEPS]
    if unknown:
        fail(f"--skip {', '.join(unknown)}: choose from {', '.join(daily.STEPS)}")
    steps = [s for s in daily.STEPS if s not in (skip or ())]
    try:
        interval = parse_every(every) if every else None
    except ValueError as exc:
        fail(str(exc))
        raise
    while True:
        started = time.monotonic()
        the_day = _day(day)
        plans = daily.daily_plans(settings, the_day, category or list(settings.daily_categories)) \
            if "ingest" in steps else []
        result = daily.run_daily(engine, settings, mail, SmtpTransport(mail), the_day, plans, steps,
                                 say=lambda line: console.print(line, highlight=False))
        failed = [s.name for s in result.steps if not s.ok]
        if interval is None:
            if failed:
                fail(f"steps failed: {', '.join(failed)}")
            return
        wait = max(0.0, interval.total_seconds() - (time.monotonic() - started))
        console.print(f"next run in {wait / 3600:.1f} h", highlight=False)
        time.sleep(wait)
