"""How fast `paperscope` starts: CPU seconds (user + system, from the child's rusage) and wall
seconds of `--help`, `--version`, a sub-command's `--help` and `paperscope settings`, each the
median of several runs in a fresh interpreter; and what `import paperscope.cli.app` loads."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

COMMANDS = [["--help"], ["--version"], ["search", "--help"], ["settings"]]
RUNS = 7
GOAL_CPU_S = 0.3
BEFORE = ("before commands imported their services lazily, `paperscope --help` took 1.77 s user + 0.29 s "
          "system CPU (2026-12-06 21:52 UTC, load average 0.8, same machine): scikit-learn, numpy, "
          "SQLAlchemy and the service layer were imported at start")


def _one(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "paperscope", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    folder = tempfile.mkdtemp(prefix="paperscope-bench-cli-")
    env = {**os.environ, "PAPERSCOPE_DATA_DIR": folder, "PAPERSCOPE_DATABASE_URL": ""}
    rows, raw = [], {}
    for args in COMMANDS:
        _one(args, env)  # warm the file cache
        runs = [_one(args, env) for _ in range(RUNS)]
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        raw[" ".join(args)] = runs
        rows.append([f"`paperscope {' '.join(args)}`", f"{cpu:.3f}", f"{wall:.3f}",
                     "met" if cpu < GOAL_CPU_S else f"not met (+{cpu - GOAL_CPU_S:.2f} s)"])
    probe = subprocess.run([sys.executable, "-c", "import sys, paperscope.cli.app; print(' '.join(m for m in "
                            "('numpy', 'sklearn', 'scipy', 'sqlalchemy', 'pydantic', 'fastapi') if m in sys.modules))"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    notes = [f"median of {RUNS} runs each, after one warm-up; goal: under {GOAL_CPU_S} s of CPU", BEFORE,
             f"heavy libraries loaded by `import paperscope.cli.app`: {probe or 'none'}",
             "`paperscope CMD` imports only the module of CMD (cli.COMMANDS), and flags skip typer's "
             "pydantic check (a flag is already a bool): `search --help` loads neither the other commands "
             "nor pydantic; options with values are still checked by typer through pydantic when given",
             f"load average at the end: {os.getloadavg()[0]:.1f} (a shared machine: CPU figures are "
             "inflated by contention, wall figures more so)"]
    path = write_result("cli_start", title="CLI start", command="python bench/cli_start.py",
                        columns=["command", "CPU s (median)", "wall s (median)", "goal < 0.3 s CPU"],
                        rows=rows, notes=notes, raw=raw)
    print(path.read_text())


if __name__ == "__main__":
    main()
