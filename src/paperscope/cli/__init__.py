"""The `paperscope` command. Sub-commands live in one module each; all call services.

`main` registers only the module of the command being run (COMMANDS says which module holds
which top-level command), so `paperscope search --help` neither imports nor builds the options of
every other command; the top-level help, or a name it does not know, loads them all
(paperscope.cli.app) so that the help lists every command and click names the unknown one.
"""

from __future__ import annotations

import sys
from importlib import import_module

# top-level command or group -> the module under paperscope.cli that registers it
COMMANDS: dict[str, str] = {
    "db": "admin", "settings": "admin", "stats": "admin", "quarantine": "admin", "runs": "admin", "demo": "admin",
    "authors": "authors", "author": "authors",
    "build": "build",
    "digest": "digests", "subscriptions": "digests", "run": "digests",
    "embed": "embed",
    "enrich": "enrich",
    "ingest": "ingest", "refresh": "ingest",
    "export": "papers", "papers": "papers", "paper": "papers",
    "model": "scores", "score": "scores", "explain": "scores",
    "search": "search", "similar": "search", "feed": "search", "index": "search",
    "serve": "serve",
}


def _command_name(argv: list[str]) -> str | None:
    """The first word that is not an option: the command asked for (the callback takes no values)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main() -> None:
    from paperscope.cli.base import app

    argv = sys.argv[1:]
    name = _command_name(argv)
    if name in COMMANDS:
        import_module(f"paperscope.cli.{COMMANDS[name]}")
    elif name is not None or not argv or any(arg in ("--help", "-h") for arg in argv):
        import_module("paperscope.cli.app")  # the command list, or click's "no such command"
    app()
