"""The command starts light: `--help`, `--version` and the command table load no numerical, learning
or database library (their import is most of a start's CPU time; bench/cli_start.py measures it)."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from paperscope import __version__
from paperscope.cli.app import app

HEAVY = ("numpy", "sklearn", "scipy", "pandas", "sqlalchemy", "alembic", "tantivy", "hnswlib", "fastapi")


def _loaded_after(code: str) -> list[str]:
    probe = (f"import atexit, sys\n"
             f"atexit.register(lambda: print('LOADED:', *(m for m in {HEAVY!r} if m in sys.modules)))\n"
             f"{code}")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PAPERSCOPE_DATABASE_URL": ""})
    return out.stdout.rsplit("LOADED:", 1)[1].split()


def test_help_and_version_load_no_heavy_library() -> None:
    assert _loaded_after("from paperscope.cli.app import app") == []
    assert _loaded_after(
        "from paperscope.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass") == []
    assert _loaded_after(
        "from paperscope.cli.app import app\n"
        "try:\n    app(['search', '--help'])\nexcept SystemExit:\n    pass") == []


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"paperscope {__version__}"
