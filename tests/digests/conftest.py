"""The digests tests' parts: a store of real fixture papers (scored once, copied per test), a real SMTP
server on loopback (aiosmtpd) that parses every message it receives and can be told to fail, the
mail settings pointing at it, and the web app over the test's store in process."""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from paperscope.core.settings import load_settings
from paperscope.ingest.pipeline import run_ingest
from paperscope.services.demo import fixture_plans, listing_plans
from paperscope.services.mailer import MailSettings
from paperscope.services.scores import run_scores
from paperscope.store.engine import open_engine
from paperscope.store.migrate import upgrade

# The Hugging Face daily list of this day holds 30 papers with upvotes: the digests' "today".
DAY = "2026-06-12"
SOURCES = ("listing", "arxiv_api", "arxiv_oai", "arxiv_snapshot", "openalex", "hf")  # not the big graphs
BASE_URL = "http://testserver"


@pytest.fixture(scope="session")
def digest_store_file(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store with the listings and the recorded fixtures of SOURCES, scored (embeddings,
    Novelty, AI Score); each test works on a copy."""
    path = tmp_path_factory.mktemp("digest-store") / "store.db"
    engine = open_engine(f"sqlite:///{path}")
    upgrade(engine)
    for plan in listing_plans(shared_dir) + fixture_plans(shared_dir):
        if plan.source in SOURCES:
            run_ingest(engine, plan.source, plan.target, plan.batches)
    run_scores(engine, "tfidf", min_labelled=50)  # the few cited papers here are enough to train on
    engine.dispose()
    return path


@pytest.fixture
def engine(digest_store_file: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "store.db"
    shutil.copy(digest_store_file, path)
    store = open_engine(f"sqlite:///{path}")
    yield store
    store.dispose()


# --- the SMTP server ----------------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class Recorder:
    """aiosmtpd handler: keeps every accepted message, parsed. `fail_after` = n accepts n messages,
    then fails every later one as `mode` says: "reject" (451 on DATA) or "close" (drops the
    connection). `refuse` = addresses whose RCPT gets a permanent 550."""

    messages: list[Received] = field(default_factory=list)
    fail_after: int | None = None
    mode: str = "reject"
    refuse: set[str] = field(default_factory=set)
    failures: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            self.failures += 1
            if self.mode == "close":
                server.transport.close()
                return "421 4.3.0 closing"
            return "451 4.3.0 temporary failure, try again later"
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=default_policy)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))  # type: ignore[arg-type]
        return "250 2.0.0 accepted"

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[Recorder]:
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    recorder.port = controller.port  # type: ignore[attr-defined]
    yield recorder
    controller.stop()
    asyncio.set_event_loop(None)


@pytest.fixture
def mail(smtp: Recorder) -> MailSettings:
    return MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_tls="none",  # type: ignore[attr-defined]
                        smtp_timeout=10, mail_from="paperscope <digest@paperscope.test>", base_url=BASE_URL,
                        secret_key="test-secret-key", digest_size=10)


@pytest.fixture
def app(engine: Engine, mail: MailSettings, tmp_path: Path) -> Any:
    from paperscope.services.runtime import Runtime
    from paperscope.web.app import create_app

    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path / "data")})
    return create_app(Runtime(settings, engine, mail=mail), secret_key="csrf-secret")


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as c:
        yield c
