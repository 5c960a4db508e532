"""The `paperscope` command. Sub-commands live in one module each; all call services."""

from __future__ import annotations

from paperscope.cli.app import app


def main() -> None:
    app()
