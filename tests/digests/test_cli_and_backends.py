"""The operators' commands (subscriptions add/list, digest send with and without --dry-run, run) and
the outbox on both backends (SQLite and PostgreSQL) with a failure injected mid-run."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import date
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from paperscope.cli.app import app
from paperscope.ingest.pipeline import run_ingest
from paperscope.services import digests
from paperscope.services.demo import fixture_plans
from paperscope.services.mailer import MailSettings, SmtpTransport
from paperscope.store import digests as store
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade
from tests.conftest import BACKENDS
from tests.digests.conftest import DAY, Recorder


@pytest.fixture
def cli_env(engine: Engine, smtp: Recorder, tmp_path: Path) -> dict[str, str]:
    return {
        "PAPERSCOPE_DATABASE_URL": str(engine.url), "PAPERSCOPE_DATA_DIR": str(tmp_path / "data"),
        "PAPERSCOPE_SMTP_HOST": "127.0.0.1", "PAPERSCOPE_SMTP_PORT": str(smtp.port),  # type: ignore[attr-defined]
        "PAPERSCOPE_SMTP_TLS": "none", "PAPERSCOPE_MAIL_FROM": "paperscope <digest@paperscope.test>",
        "PAPERSCOPE_BASE_URL": "https://papers.example.org", "PAPERSCOPE_SECRET_KEY": "cli-secret",
    }


def cli(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    result.text = " ".join(result.output.split())  # the console wraps long lines
    return result


def test_operator_commands(cli_env: dict[str, str], engine: Engine, smtp: Recorder, tmp_path: Path) -> None:
    bad = cli(cli_env, "subscriptions", "add", "not-an-address")
    assert bad.exit_code == 1 and "is not a valid email address" in bad.output
    r = cli(cli_env, "subscriptions", "add", "pending@example.org", "--query", "language models", "--category",
            "CL", "--weekly")
    assert r.exit_code == 0, r.output
    assert "confirmation email sent to pending@example.org" in r.output
    (confirmation,) = smtp.messages
    assert "https://papers.example.org/subscriptions/confirm?token=" in confirmation.message.get_body(
        ("plain",)).get_content()
    r = cli(cli_env, "subscriptions", "add", "active@example.org", "--trending", "--confirmed")
    assert r.exit_code == 0 and "(daily, active)" in r.output and len(smtp.messages) == 1
    listing = cli(cli_env, "subscriptions", "list")
    assert "pending@example.org" in listing.output and "active@example.org" in listing.output
    assert "2 subscription(s)" in listing.output

    out = tmp_path / "eml"
    dry = cli(cli_env, "digest", "send", "--dry-run", "--out", str(out), "--day", DAY)
    assert dry.exit_code == 0, dry.output
    (eml,) = sorted(out.glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert msg["To"] == "active@example.org" and msg["List-Unsubscribe"].startswith(
        "<https://papers.example.org/unsubscribe?token=")
    with engine.connect() as connection:
        assert store.list_outbox(connection) == []  # a dry run stores nothing
    assert len(smtp.messages) == 1

    sent = cli(cli_env, "digest", "send", "--day", DAY)
    assert sent.exit_code == 0 and "1 built" in sent.output and "1 sent" in sent.output, sent.output
    assert smtp.messages[-1].message["Subject"] == msg["Subject"]

    run = cli(cli_env, "run", "--skip", "ingest", "--skip", "score", "--skip", "index", "--day", "2026-06-13")
    assert run.exit_code == 0, run.output
    assert "digest:" in run.output and "ingest" not in run.output
    assert cli(cli_env, "run", "--every", "0h").exit_code == 1
    assert cli(cli_env, "run", "--skip", "coffee").exit_code == 1


def test_send_failure_makes_the_command_fail_and_says_what_waits(cli_env: dict[str, str], smtp: Recorder) -> None:
    for i in range(3):
        assert cli(cli_env, "subscriptions", "add", f"r{i}@example.org", "--confirmed").exit_code == 0
    smtp.fail_after, smtp.mode = 1, "close"
    r = cli(cli_env, "digest", "send", "--day", DAY)
    assert r.exit_code == 1 and "2 pending message(s) go out with the next run" in r.text, r.output
    smtp.fail_after = None
    r = cli(cli_env, "digest", "send", "--day", DAY)
    assert r.exit_code == 0 and "2 sent" in r.output and "0 built" in r.output
    assert sorted(m.recipients[0] for m in smtp.messages) == ["r0@example.org", "r1@example.org", "r2@example.org"]


# --- both backends ------------------------------------------------------------------------------


@pytest.fixture
def backend_engine(database_url: str, shared_dir: Path) -> Iterator[Engine]:
    """A store on the test's backend with the Hugging Face daily lists (dates 2026-06-12 and later)."""
    engine = open_engine(database_url)
    upgrade(engine)
    for plan in fixture_plans(shared_dir):
        if plan.source == "hf":
            run_ingest(engine, plan.source, plan.target, plan.batches)
    yield engine
    engine.dispose()


@BACKENDS
def test_outbox_on_both_backends(backend_engine: Engine, mail: MailSettings, smtp: Recorder) -> None:
    engine = backend_engine
    day = date.fromisoformat(DAY)
    addresses = ["a@example.org", "b@example.org", "c@example.org"]
    for a in addresses:
        digests.subscribe(engine, a, digests.Topic.make(), confirmed=True)
    digests.subscribe(engine, "a@example.org", digests.Topic.make(query="language models"), confirmed=True)
    smtp.fail_after, smtp.mode = 2, "close"
    first = digests.run_digests(engine, mail, SmtpTransport(mail), day)
    assert first.built == 4 and first.sent == 2 and first.pending == 2 and first.error
    assert digests.build_digests(engine, mail, day) == []  # (subscription, period) is built once
    smtp.fail_after = None
    second = digests.run_digests(engine, mail, SmtpTransport(mail), day)
    assert (second.sent, second.pending, second.error) == (2, 0, None)
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert len(ids) == 4 == len(set(ids))
    to_a = [pid for m in smtp.to("a@example.org")
            for pid in re.findall(r'data-paper-id="([^"]+)"', m.message.get_body(("html",)).get_content())]
    assert len(to_a) == len(set(to_a)) > 0
    with engine.connect() as connection:
        assert sorted(store.papers_sent_to(connection, "a@example.org")) == sorted(to_a)
        assert store.outbox_counts(connection) == {"sent": 4}


def test_daily_pipeline_runs_every_step_and_reports_a_failing_one(
        database_url: str, shared_dir: Path, mail: MailSettings, smtp: Recorder, tmp_path: Path) -> None:
    from paperscope.core.settings import load_settings
    from paperscope.ingest.registry import IngestPlan
    from paperscope.services.daily import run_daily

    engine = open_engine(database_url)
    upgrade(engine)
    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path / "data"), "PAPERSCOPE_DATABASE_URL": database_url})
    digests.subscribe(engine, "daily@example.org", digests.Topic.make(query="language"), confirmed=True)

    def broken(cursor: str | None) -> Any:
        raise OSError("the source is down")
        yield  # pragma: no cover

    plans = [p for p in fixture_plans(shared_dir) if p.source == "hf"] + [IngestPlan("arxiv_api", "live:x", broken)]
    lines: list[str] = []
    run = run_daily(engine, settings, mail, SmtpTransport(mail), date.fromisoformat(DAY), plans,
                    steps=("ingest", "index", "digest"), say=lines.append)
    steps = {s.name: s for s in run.steps}
    assert not run.ok and not steps["ingest"].ok and "the source is down" in steps["ingest"].error
    assert steps["index"].ok and steps["digest"].ok and "1 sent" in steps["digest"].summary
    (received,) = smtp.messages
    assert received.message["Subject"] == "Today's papers: papers matching “language”"  # encoded word, decoded
    assert any(line.startswith("digest: ") for line in lines)
    engine.dispose()
