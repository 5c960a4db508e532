"""A web replica's search indexes: the newest published snapshot (index/snapshots.py), opened in
full once, and replaced by a newer one without a failed request.

`PublishedIndexes.current()` is what a request asks for. At most every `check_every` seconds it looks
for a newer complete snapshot; when one appears it opens it entirely (keyword index, vectors, query
encoder) on the side and only then swaps the reference, in one assignment. A request that already
holds the previous searcher finishes on it; the next one gets the new. If the new snapshot cannot
be opened, the replica keeps serving the one it has and says why in `last_error`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from paperscope.index.snapshots import Snapshot, check_snapshot, latest_snapshot, publish_snapshot
from paperscope.services.search import IndexSummary, Searcher, SearchUnavailable

CHECK_EVERY = 2.0  # seconds between looks for a newer snapshot


class _Unpublished(Searcher):
    """A searcher with no index yet: every search says which command publishes one."""

    def _missing(self) -> SearchUnavailable:
        return SearchUnavailable(f"no published index snapshot under {self.root}: run paperscope index --publish")

    @property
    def lexical(self):  # type: ignore[no-untyped-def, override]
        raise self._missing()

    @property
    def vectors(self):  # type: ignore[no-untyped-def, override]
        raise self._missing()


def publish_indexes(summary: IndexSummary, folder: Path) -> Snapshot:
    """Publish the indexes `build_indexes` just brought up to date as the newest snapshot in `folder`."""
    about: dict[str, Any] = {"keyword_docs": summary.lexical.docs}
    if summary.vectors is not None:
        about.update(embedder=summary.vectors.model, embedder_version=summary.vectors.version,
                     embedder_generation=summary.vectors.generation,
                     vectors=summary.vectors.count)
    return publish_snapshot(Path(summary.folder), folder, about=about)


class PublishedIndexes:
    """The newest snapshot under `folder` as an opened Searcher, swapped when a newer one appears."""

    def __init__(self, engine: Engine, folder: Path, check_every: float = CHECK_EVERY) -> None:
        self.engine = engine
        self.folder = Path(folder)
        self.check_every = check_every
        self.snapshot: Snapshot | None = None
        self.last_error: str | None = None
        self.swaps = 0
        self._searcher: Searcher | None = None
        self._checked = float("-inf")
        self._swap_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    def _open(self, snapshot: Snapshot) -> Searcher:
        check_snapshot(snapshot)
        searcher = Searcher(self.engine, self.folder, root=snapshot.path)
        searcher.lexical  # noqa: B018 - opened now, not by the first request after the swap
        try:
            searcher.vectors  # noqa: B018
            searcher.embed_query("warm up")
        except SearchUnavailable:
            pass  # a snapshot without a semantic index serves keyword search only
        return searcher

    def refresh(self) -> bool:
        """Swap to the newest complete snapshot if it is newer than the one served; True if swapped."""
        with self._swap_lock:  # one request opens the new snapshot; the others keep the current one
            self._checked = time.monotonic()
            newest = latest_snapshot(self.folder)
            if newest is None or (self.snapshot is not None and newest.number <= self.snapshot.number):
                return False
            try:
                searcher = self._open(newest)
            except Exception as exc:  # a damaged snapshot: keep serving the last good one
                self.last_error = f"cannot open {newest.path}: {exc}"
                return False
            self._searcher, self.snapshot = searcher, newest
            self.last_error = None
            self.swaps += 1
            return True

    def watch(self) -> PublishedIndexes:
        """Look for newer snapshots in a background thread (a web process): requests never wait for
        a snapshot to open. Without it, `current()` looks itself, at most every `check_every` s."""
        if self._watcher is None:
            self.refresh()

            def loop() -> None:
                while not self._stop.wait(self.check_every):
                    self.refresh()

            self._watcher = threading.Thread(target=loop, name="snapshot-watcher", daemon=True)
            self._watcher.start()
        return self

    def close(self) -> None:
        self._stop.set()

    def current(self) -> Searcher:
        """The searcher to answer this request with (before any snapshot is published, one whose
        searches raise SearchUnavailable, which pages turn into their store-only fallback)."""
        if (self._watcher is None and time.monotonic() - self._checked >= self.check_every
                and not self._swap_lock.locked()):
            self.refresh()
        return self._searcher or _Unpublished(self.engine, self.folder, root=self.folder)

    def describe(self) -> dict[str, Any]:
        """What the operators' page shows: the snapshot served, since when, and any failed swap."""
        snapshot = self.snapshot
        return {
            "folder": str(self.folder),
            "version": snapshot.version if snapshot else None,
            "published": snapshot.manifest.get("published") if snapshot else None,
            "about": snapshot.manifest.get("about") if snapshot else None,
            "swaps": self.swaps,
            "last_error": self.last_error,
        }
