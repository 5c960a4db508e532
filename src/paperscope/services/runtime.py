"""The runtime: what one process builds once and hands down to every use case.

A `Runtime` holds the settings (core/settings.py, the only reader of the environment), the store's
engine, the search indexes and query encoder (a `Searcher`, opened on first use and reopened when
the index files' version stamp changes, never per request) and the mail settings (the signing
secret resolved once). The CLI builds one in its callback (cli/app.py) and `create_app(runtime)`
takes one (web/app.py); web routes reach it through the typed dependencies of web/deps.py.

    runtime = open_runtime(load_settings())        # opens (and migrates) the configured store
    runtime = Runtime(settings, engine)            # over an engine the caller owns (tests, bench)
    runtime.searcher.search("graph neural", "keyword")
    runtime.mail.secret_key
    runtime.content_version()                      # what the pages show now: store and index stamps
    runtime.read_model(("paper", pid), lambda: browse.paper_page(...))  # built once per content version
    runtime.close()                                # disposes the engine when the runtime opened it
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar, cast

from sqlalchemy import Engine

from paperscope.core.settings import Settings
from paperscope.services.mailer import MailSettings, resolved_mail_settings
from paperscope.services.replica import PublishedIndexes
from paperscope.services.search import Searcher
from paperscope.services.store import open_store
from paperscope.store.engine import write_stamp

T = TypeVar("T")
# Page read models kept per process (`Runtime.read_model`): a paper page's is tens of kilobytes.
READ_MODELS_KEPT = 512

_READING: ContextVar[bool] = ContextVar("paperscope_reading", default=False)
# The content version a page request was validated against (HttpCaching): its read models use the
# same one, so the ETag and the page it names agree and the version is read once per request.
_VERSION: ContextVar[ContentVersion | None] = ContextVar("paperscope_version", default=None)


@dataclass(frozen=True)
class ContentVersion:
    """The version of everything a page is read from: `tag` changes whenever the store or the search
    indexes change; `changed_at` (epoch seconds) is when they last did, as near as can be known."""

    tag: str
    changed_at: float


class Runtime:
    """One process's settings, engine, search indexes and mail settings (see the module docstring).

    `mail` may be given (tests point it at a loopback SMTP server); else it comes from the settings.
    `reader`: an engine whose connections refuse writes; while `reading()` is in effect (the web
    app's pages that only read), `engine` is that one, else the writer given as `engine`."""

    def __init__(self, settings: Settings, engine: Engine, *, owns_engine: bool = False,
                 mail: MailSettings | None = None, reader: Engine | None = None) -> None:
        self.settings = settings
        self.writer = engine
        self.reader = reader
        self.owns_engine = owns_engine
        self._mail = mail
        self._searcher: Searcher | None = None
        self._published: PublishedIndexes | None = None
        self._lock = threading.Lock()
        self._first_seen: tuple[str, float] = ("", 0.0)
        self._models: OrderedDict[tuple[Hashable, ...], object] = OrderedDict()
        self._models_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The store's engine for the work at hand: the read-only one inside `reading()`."""
        return self.reader if self.reader is not None and _READING.get() else self.writer

    @contextmanager
    def reading(self, version: ContentVersion | None = None) -> Iterator[None]:
        """Within this (and the threads it starts), `engine` is the read-only engine if there is one;
        `version`: the content version the request was validated against, which `read_model` uses."""
        token = _READING.set(True)
        pinned = _VERSION.set(version)
        try:
            yield
        finally:
            _VERSION.reset(pinned)
            _READING.reset(token)

    @property
    def searcher(self) -> Searcher:
        """The process's searcher: its indexes and query encoder open lazily and reopen by themselves
        when `paperscope index` replaces their files; with `index_snapshots` set, the searcher of the
        newest published snapshot (services/replica.py), swapped when a newer one is published."""
        if self.settings.index_snapshots:
            if self._published is None:
                with self._lock:
                    if self._published is None:
                        # A background thread looks for newer snapshots: no request waits for one to open.
                        self._published = PublishedIndexes(self.writer, Path(self.settings.index_snapshots)).watch()
            return self._published.current()
        if self._searcher is None:
            with self._lock:
                if self._searcher is None:
                    self._searcher = Searcher(self.reader or self.writer, self.settings.data_dir)
        return self._searcher

    def index_status(self) -> dict[str, object]:
        """Which indexes this process serves: the published snapshot (and its last failed swap), or
        the data folder's own indexes."""
        if self.settings.index_snapshots:
            self.searcher  # noqa: B018 - starts the snapshot watcher if no request has yet
            assert self._published is not None
            return {"source": "published snapshots", **self._published.describe()}
        return {"source": "data folder", "folder": str(Path(self.settings.data_dir) / "index")}

    def content_version(self) -> ContentVersion:
        """The store's write stamp and the indexes' version stamp, as one tag (web/caching.py builds
        ETag and Last-Modified from it). When the store cannot date its last write (PostgreSQL),
        the moment this process first saw the stamp stands in."""
        store_tag, store_changed = write_stamp(self.writer)
        indexes = self.searcher.version_stamp()
        raw = repr((store_tag, indexes))
        tag = hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()
        changed = store_changed
        if changed is None:
            seen_tag, seen_at = self._first_seen
            if seen_tag != store_tag:
                seen_at = time.time()
                self._first_seen = (store_tag, seen_at)
            changed = seen_at
        index_times = [stamp[1] / 1e9 for stamp in indexes[1:] if isinstance(stamp, tuple)]
        return ContentVersion(tag, max([changed, *index_times]))

    def read_model(self, key: tuple[Hashable, ...], build: Callable[[], T]) -> T:
        """A page's read model (what `build` returns: Daily Papers, a paper page, an author page, a
        search), built once per content version and day and kept for the next request that asks
        for the same `key`: a page read many times between two writes is read from the store once.
        The version is the store's write stamp and the indexes' (`content_version`), so a kept
        model is never older than the store; the day is in the key because cards date papers
        relative to it. The READ_MODELS_KEPT most recently used are kept; callers never modify a
        model they are given (it is shared by every request for that key)."""
        version = _VERSION.get() or self.content_version()
        full = (version.tag, date.today().isoformat(), *key)
        with self._models_lock:
            if full in self._models:
                self._models.move_to_end(full)
                return cast(T, self._models[full])
        model = build()
        with self._models_lock:
            self._models[full] = model
            while len(self._models) > READ_MODELS_KEPT:
                self._models.popitem(last=False)
        return model

    @property
    def mail(self) -> MailSettings:
        """The mail settings with the signing secret resolved (configured, else kept in data_dir)."""
        if self._mail is None:
            with self._lock:
                if self._mail is None:
                    self._mail = resolved_mail_settings(self.settings)
        return self._mail

    def close(self) -> None:
        if self._published is not None:
            self._published.close()
        if self.owns_engine:
            self.writer.dispose()
            if self.reader is not None:
                self.reader.dispose()


def open_runtime(settings: Settings, migrate: bool = True, serving: bool = False) -> Runtime:
    """The runtime over the store the settings name, migrated to the current schema first;
    `serving`: a web worker's (connection pools sized with its request threads, and a read-only
    engine beside the writer for the pages that only read)."""
    writer = open_store(settings, migrate=migrate, serving=serving)
    reader = open_store(settings, migrate=False, serving=True, read_only=True) if serving else None
    return Runtime(settings, writer, owns_engine=True, reader=reader)
