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


def _run_main(argv: list[str]) -> subprocess.CompletedProcess[str]:
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print('LOADED:', *sorted(m for m in ('pydantic', 'paperscope.cli.admin', "
             "'paperscope.cli.search', 'paperscope.core.settings') if m in sys.modules)))\n"
             f"sys.argv = ['paperscope', *{argv!r}]\n"
             "from paperscope.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={**os.environ, "PAPERSCOPE_DATABASE_URL": ""})


def test_a_command_loads_only_its_own_module() -> None:
    out = _run_main(["search", "--help"])
    assert "--mode" in out.stdout  # the command's own help, whole
    assert out.stdout.rsplit("LOADED:", 1)[1].split() == ["paperscope.cli.search"]
    everything = _run_main(["--help"])
    assert "enrich" in everything.stdout and "paperscope.cli.admin" in everything.stdout.rsplit("LOADED:", 1)[1]


def test_the_command_table_names_every_command_and_its_module() -> None:
    import typer.main

    from paperscope.cli import COMMANDS

    group = typer.main.get_command(app)
    registered = {name: command.callback.__module__ if command.callback else None
                  for name, command in group.commands.items()}  # type: ignore[attr-defined]
    assert set(COMMANDS) == set(registered)
    for name, module in COMMANDS.items():
        command = group.commands[name]  # type: ignore[attr-defined]
        owner = command.callback.__module__ if getattr(command, "callback", None) else None
        # A group's callback may be typer's own; its sub-commands tell the module then.
        if owner is None or not owner.startswith("paperscope.cli."):
            owner = next(iter(command.commands.values())).callback.__module__
        assert owner == f"paperscope.cli.{module}", name


def test_flags_still_read_true_false_and_absent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"PAPERSCOPE_DATABASE_URL": "", "PAPERSCOPE_DATA_DIR": str(tmp_path)}
    bad = runner.invoke(app, ["enrich", "--no-titles"], env=env)  # a flag parsed, then the command's own check
    assert bad.exit_code == 1 and "--author ID, --papers ID…, or --missing" in bad.output
    assert runner.invoke(app, ["--version"]).output.strip() == f"paperscope {__version__}"
