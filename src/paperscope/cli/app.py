"""The Typer application and the helpers every command shares (settings, store, console)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from paperscope.core.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Commands import the services (numpy, scikit-learn, SQLAlchemy, …) inside their bodies: `--help`
# and light commands start without loading them.

app = typer.Typer(
    name="paperscope",
    help="A self-hosted research radar for machine-learning papers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))
        raise  # unreachable; keeps type checkers content


def store_or_exit(settings: Settings) -> Engine:
    from paperscope.services.store import open_store

    try:
        return open_store(settings)
    except Exception as exc:  # a bad URL or an unreachable server: say which
        fail(f"cannot open the store at {settings.database_url}: {exc}")
        raise


def date_option(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option's value, or a clear error naming the option."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")
        raise


def _print_version(value: bool) -> None:
    if value:
        from paperscope import __version__

        console.print(f"paperscope {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """A self-hosted research radar for machine-learning papers."""


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


# Sub-commands register themselves on import.
from paperscope.cli import admin, authors, digests, ingest, papers, scores, search, serve  # noqa: E402,F401
