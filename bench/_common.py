"""What every benchmark section shares: the machine it ran on, the cache of generated inputs, and
the per-section results files that `_report.py` turns into docs/benchmarks.md.

A section is a script `bench/<name>.py` (no leading underscore) whose main writes
`bench/results/<name>.json` with `write_result`: a title, the command that reproduces it, a table
(columns + rows of strings), and notes (goal lines, caveats). `bench/run.sh` runs every section.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"  # generated inputs and scratch stores; gitignored
RESULTS = BENCH / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    ram = memory_total_gib()
    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": round(ram, 1) if ram else None,
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        # Other work on the machine slows a run down: the 1-minute load average when it started.
        "load_at_start": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None,
    }


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return f"{commit} (with uncommitted changes in src/)" if dirty else commit


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def write_result(
    name: str,
    *,
    title: str,
    command: str,
    columns: list[str],
    rows: list[list[str]],
    notes: list[str],
    raw: Any = None,
) -> Path:
    """Record one section's figures; the date and machine are added here."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    result = {
        "name": name,
        "title": title,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "code": code_version(),
        "command": command,
        "columns": columns,
        "rows": rows,
        "notes": notes,
        "raw": raw,
    }
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path
