"""The state the Save and Upvote controls show on a card (saved? upvoted? how many local upvotes?),
read once per page and only when a page shows cards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from paperscope.store import library_marks as store


@dataclass
class LibraryMarks:
    """A page's view of the reader's library. Lazy: the first card asks, later cards reuse it."""

    engine: Engine
    user: dict[str, Any] | None
    _saved: set[str] | None = None
    _voted: set[str] = field(default_factory=set)
    _counts: dict[str, int] = field(default_factory=dict)

    def _load(self) -> None:
        with self.engine.connect() as connection:
            self._saved, self._voted = (store.reader_marks(connection, int(self.user["id"]))
                                        if self.user else (set(), set()))

    def _count(self, paper_id: str) -> int:
        # One index read per card shown: a page shows tens of cards, the table holds every reader's votes.
        if paper_id not in self._counts:
            with self.engine.connect() as connection:
                self._counts[paper_id] = store.local_upvote_count(connection, paper_id)
        return self._counts[paper_id]

    def of(self, paper_id: str) -> dict[str, Any]:
        if self._saved is None:
            self._load()
        assert self._saved is not None
        return {"saved": paper_id in self._saved, "upvoted": paper_id in self._voted,
                "local_upvotes": self._count(paper_id), "signed_in": self.user is not None}
