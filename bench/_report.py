"""Regenerate docs/benchmarks.md from every bench/results/<name>.json (see _common.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
# Sections in this order first, then any others by name.
ORDER = ["ingest_snapshot"]

HEADER = """\
# Benchmarks

Speed is checked here, never by timed assertions in tests. `bench/run.sh` runs every section
(`bench/run.sh NAME...` runs some) and regenerates this page from `bench/results/*.json`; each
section says the date and machine of its own figures, so sections run on different days stay honest.
"""


def _machine_line(machine: dict) -> str:
    ram = f"{machine['ram_gib']} GiB RAM" if machine.get("ram_gib") else "RAM unknown"
    return (f"{machine['cpu']}, {machine['cores']} cores, {ram}; {machine['os']}; "
            f"Python {machine['python']}, SQLite {machine['sqlite']}"
            + (f"; load average {machine['load_at_start']} when it started"
               if machine.get("load_at_start") is not None else ""))


def _section(result: dict) -> str:
    lines = [
        f"## {result['title']}",
        "",
        f"- Date: {result['date']}",
        f"- Machine: {_machine_line(result['machine'])}",
        f"- Code: {result.get('code', 'unknown')}",
        f"- Command: `{result['command']}`",
        "",
        "| " + " | ".join(result["columns"]) + " |",
        "| " + " | ".join("---" for _ in result["columns"]) + " |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in result["rows"]]
    if result.get("notes"):
        lines.append("")
        lines += [f"- {note}" for note in result["notes"]]
    return "\n".join(lines) + "\n"


def render() -> str:
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("*.json"))}
    names = [n for n in ORDER if n in results] + sorted(n for n in results if n not in ORDER)
    if not names:
        return HEADER + "\nNo results yet: run `bench/run.sh`.\n"
    return HEADER + "".join("\n" + _section(results[name]) for name in names)


def main() -> int:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
