"""Where batch work runs: in this process (the default), or on a Ray cluster (`--engine ray`).

A stage that spreads splits its work into independent pieces (id ranges of the store, blocks of
rows of an array) and hands a runner a function of one piece. The function is the same for both
runners, so a stage's results do not depend on where it ran. On Ray, the pieces of a store go
through Ray Data (`map_batches`, one id range per batch); pieces of an in-memory array go out as
Ray tasks beside one shared copy of the array in the object store. Ray retries a piece whose worker
died, so every piece must be safe to run twice: stages write with upserts keyed by paper.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

ENGINES = ("local", "ray")
CONNECT_TIMEOUT = 10.0  # seconds to wait for the head's port to answer
PIECE_RETRIES = 3  # a piece whose worker died is run again this many times at most
_ADDRESS = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$")

Piece = TypeVar("Piece")
Shared = TypeVar("Shared")


class RunnerUnavailable(RuntimeError):
    """The runner asked for cannot be used: Ray is not installed, or the cluster cannot be reached."""


class Runner(Protocol):
    name: str

    def map(self, fn: Callable[[Any], dict[str, Any]], pieces: Sequence[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(piece number, fn(piece)) for every piece, in the order they finish."""
        ...

    def map_shared(
        self, fn: Callable[[Any, Any], Any], shared: Any, pieces: Sequence[Any]
    ) -> list[Any]:
        """[fn(shared, piece) for each piece], in piece order; `shared` is sent to each node once."""
        ...


class LocalRunner:
    """Every piece in this process, one after the other."""

    name = "local"

    def map(self, fn: Callable[[Any], dict[str, Any]], pieces: Sequence[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, piece in enumerate(pieces):
            yield number, fn(piece)

    def map_shared(self, fn: Callable[[Any, Any], Any], shared: Any, pieces: Sequence[Any]) -> list[Any]:
        return [fn(shared, piece) for piece in pieces]


@dataclass
class RayRunner:
    """Pieces on the Ray cluster at `address` (HOST:PORT of its head), one CPU each."""

    address: str
    name: str = "ray"
    cpus_per_piece: float = 1.0

    def __post_init__(self) -> None:
        if not _ADDRESS.match(self.address or ""):
            raise RunnerUnavailable(
                f"--address {self.address!r} is not HOST:PORT of a Ray head (e.g. 10.0.0.5:6379)"
            )
        self._ray = _import_ray()
        if not self._ray.is_initialized():
            host, port = self.address.rsplit(":", 1)
            try:  # Ray itself waits minutes for a head that is not there: look first
                socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
            except OSError as exc:
                raise RunnerUnavailable(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc
            try:
                self._ray.init(address=self.address, logging_level="WARNING", log_to_driver=False)
            except Exception as exc:  # ConnectionError, or a timeout waiting for the head
                raise RunnerUnavailable(f"cannot reach the Ray cluster at {self.address}: {exc}") from exc

    def map(self, fn: Callable[[Any], dict[str, Any]], pieces: Sequence[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
        if not pieces:
            return
        import orjson
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.verbose_stats_logs = False
        listed = list(pieces)

        def run(batch: dict[str, Any]) -> dict[str, Any]:
            numbers = [int(n) for n in batch["piece"]]
            return {"piece": numbers, "result": [orjson.dumps(fn(listed[n])) for n in numbers]}

        dataset = ray.data.from_items([{"piece": n} for n in range(len(listed))], override_num_blocks=len(listed))
        results = dataset.map_batches(
            run,
            batch_size=1,
            num_cpus=self.cpus_per_piece,
            max_retries=PIECE_RETRIES,
        )
        for row in results.iter_rows():
            yield int(row["piece"]), orjson.loads(row["result"])

    def map_shared(self, fn: Callable[[Any, Any], Any], shared: Any, pieces: Sequence[Any]) -> list[Any]:
        ray = self._ray
        shared_ref = ray.put(shared)
        task = ray.remote(num_cpus=self.cpus_per_piece, max_retries=PIECE_RETRIES)(fn)
        return ray.get([task.remote(shared_ref, piece) for piece in pieces])

    def nodes(self) -> int:
        return sum(1 for node in self._ray.nodes() if node.get("Alive"))


def _import_ray():  # type: ignore[no-untyped-def]
    try:
        import ray
    except ImportError as exc:
        raise RunnerUnavailable("--engine ray needs Ray: pip install 'paperscope[ray]'") from exc
    return ray


def open_runner(engine: str | None = None, address: str | None = None) -> Runner:
    """The runner named by `--engine` (local when None) with the `--address` of a Ray head."""
    name = (engine or "local").strip().lower()
    if name == "local":
        if address:
            raise RunnerUnavailable("--address names a Ray cluster: use it with --engine ray")
        return LocalRunner()
    if name == "ray":
        if not address:
            raise RunnerUnavailable("--engine ray needs --address HOST:PORT of the cluster's head")
        return RayRunner(address)
    raise RunnerUnavailable(f"unknown --engine {engine!r}: choose one of {', '.join(ENGINES)}")
