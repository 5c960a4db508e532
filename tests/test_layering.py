"""The import direction of DESIGN.md (cli -> services -> ingest|analytics|index -> store|sources -> core),
checked by import-linter's contract in pyproject.toml, as part of the test command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    beside = Path(sys.executable).parent / "lint-imports"
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports (import-linter) is not installed: pip install -e '.[test]'"
    return found


def test_import_layers_are_kept() -> None:
    result = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken\.", report), report
