"""Published index snapshots: immutable, numbered copies of the built search indexes that any number
of web replicas open, and swap for a newer one when it appears.

A snapshot is a folder `<snapshots>/<NNNNNN>/` holding the index folders as `paperscope index` builds
them (`lexical/`, `vectors/`: the keyword index, the vectors with the paper ids they map
to) and a `MANIFEST.json` (its number, when and from what it was built, every file with its size
and BLAKE2b digest). It is written under a staging name and renamed into place in one step, so a
reader never sees a half-written snapshot: a numbered folder with a manifest is complete, and it is
never changed afterwards. Readers only read; the builder alone writes, and prunes all but the
newest few (a replica still serving an older one keeps its open files until it swaps).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "MANIFEST.json"
FORMAT = 1
KEEP = 3  # snapshots kept after a publish: the new one and two that replicas may still be serving
_DIGITS = 6


@dataclass(frozen=True)
class Snapshot:
    number: int
    path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        """The snapshot's version stamp, as pages and logs show it."""
        return f"snapshot-{self.number:0{_DIGITS}d}"


class SnapshotError(RuntimeError):
    """A snapshot folder that is not what it claims (missing or resized files, unreadable manifest)."""


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _numbered(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    out = []
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.isdigit() and len(entry.name) == _DIGITS:
            out.append((int(entry.name), entry))
    return sorted(out)


def list_snapshots(folder: Path) -> list[Snapshot]:
    """The complete snapshots under `folder`, oldest first."""
    out = []
    for number, path in _numbered(Path(folder)):
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            continue  # renamed in without a manifest cannot happen; a foreign folder is skipped
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            continue
        out.append(Snapshot(number, path, manifest))
    return out


def latest_snapshot(folder: Path) -> Snapshot | None:
    """The newest complete snapshot under `folder`, or None when there is none."""
    found = list_snapshots(folder)
    return found[-1] if found else None


def check_snapshot(snapshot: Snapshot, digests: bool = False) -> None:
    """Raise SnapshotError when a file of the manifest is missing or has another size (or, with
    `digests`, other contents)."""
    for name, meta in snapshot.manifest.get("files", {}).items():
        path = snapshot.path / name
        if not path.is_file() or path.stat().st_size != meta["bytes"]:
            raise SnapshotError(f"{snapshot.path}: {name} is missing or not {meta['bytes']} bytes")
        if digests and _digest(path) != meta["blake2b"]:
            raise SnapshotError(f"{snapshot.path}: {name} does not match its digest")


def publish_snapshot(
    index_root: Path, folder: Path, about: dict[str, Any] | None = None, keep: int = KEEP
) -> Snapshot:
    """Copy the built indexes under `index_root` into a new snapshot under `folder` and return it;
    then remove all but the newest `keep` snapshots. `about` goes into the manifest as it is."""
    index_root, folder = Path(index_root), Path(folder)
    parts = sorted(p for p in index_root.iterdir() if p.is_dir()) if index_root.is_dir() else []
    if not parts:
        raise SnapshotError(f"no built index under {index_root}: run paperscope index first")
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".staging-{uuid.uuid4().hex}"
    try:
        for part in parts:
            shutil.copytree(part, staging / part.name, ignore=shutil.ignore_patterns("*.tmp", "*.lock"))
        files = {
            str(path.relative_to(staging)): {"bytes": path.stat().st_size, "blake2b": _digest(path)}
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        number = (_numbered(folder)[-1][0] + 1) if _numbered(folder) else 1
        while True:
            manifest = {
                "format": FORMAT,
                "number": number,
                "published": datetime.now(UTC).isoformat(timespec="seconds"),
                "indexes": [part.name for part in parts],
                "about": about or {},
                "files": files,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            _fsync_tree(staging)
            try:
                # One rename makes the snapshot visible, complete; a rival publisher that took the
                # number first makes it fail (its folder is not empty), and this one takes the next.
                os.rename(staging, folder / f"{number:0{_DIGITS}d}")
                break
            except OSError:
                if not (folder / f"{number:0{_DIGITS}d}").exists():
                    raise
                number += 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    published = Snapshot(number, folder / f"{number:0{_DIGITS}d}", manifest)
    prune_snapshots(folder, keep)
    return published


def prune_snapshots(folder: Path, keep: int = KEEP) -> list[Path]:
    """Remove all but the newest `keep` complete snapshots, and staging folders of publishers that
    died; returns what was removed."""
    removed = []
    complete = list_snapshots(folder)
    for snapshot in complete[: max(0, len(complete) - max(1, keep))]:
        shutil.rmtree(snapshot.path, ignore_errors=True)
        removed.append(snapshot.path)
    for stale in Path(folder).glob(".staging-*"):
        age = datetime.now(UTC).timestamp() - stale.stat().st_mtime
        if age > 24 * 3600:  # a day old: its publisher is gone
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    return removed


def _fsync_tree(root: Path) -> None:
    # The rename must not become durable before the files it publishes.
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as stream:
                os.fsync(stream.fileno())
