"""The Typer application and the helpers every command shares (the runtime, console, options).

Sub-command modules register themselves on this `app` when imported: `paperscope.cli.app` imports
them all (the whole command, as tests and `--help` need it), while `paperscope.cli.main` imports
only the module of the command being run, so a command builds and loads only its own options.

The callback opens one `Runtime` per command (services/runtime.py) lazily: `runtime_or_exit()`
builds it on first use from the settings (a bad setting is reported by name, no traceback) and every
later call returns the same runtime; `settings_or_exit()` reads the settings alone (no store).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from paperscope.core.settings import Settings
    from paperscope.services.runtime import Runtime

# Commands import the services (numpy, scikit-learn, SQLAlchemy, …) inside their bodies, and the
# runtime is opened on first use: `--help`, `--version` and light commands load none of them.


def _flags_without_pydantic() -> None:
    """typer checks each parameter's value with a pydantic TypeAdapter that it builds on first use,
    so the first flag a command parses (the group's own --help, even) imports pydantic: about a
    third of the CPU of `paperscope search --help`. A flag's value is already a bool, or None when
    absent, which typer's pass-through check accepts as it is: flags get that check instead. With a
    typer that lays its internals out otherwise, flags keep typer's own check (only slower)."""
    try:
        from typer import core
        from typer._coercion import PassThroughRuntimeParam
        original = core._TyperParameter.get_runtime_param
    except (ImportError, AttributeError):
        return

    def get_runtime_param(self):  # type: ignore[no-untyped-def]
        if (getattr(self, "_runtime_param", True) is None and getattr(self, "is_flag", False)
                and self.type_descriptor.annotation is bool):
            self._runtime_param = PassThroughRuntimeParam(
                annotation=bool, parameter_info=self.type_descriptor.parameter_info)
        return original(self)

    core._TyperParameter.get_runtime_param = get_runtime_param


_flags_without_pydantic()
app = typer.Typer(
    name="paperscope",
    help="A self-hosted research radar for machine-learning papers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class _Process:
    """The command's settings and runtime, each built once (the callback resets them per command)."""

    settings: Settings | None = None
    runtime: Runtime | None = None


def _print_version(value: bool) -> None:
    if value:
        from paperscope import __version__

        console.print(f"paperscope {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _callback(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """A self-hosted research radar for machine-learning papers."""
    if _Process.runtime is not None:  # one process may run several commands (tests, the demo)
        _Process.runtime.close()
    _Process.settings, _Process.runtime = None, None


def settings_or_exit() -> Settings:
    """The command's settings (read once), or a clear error naming the bad variable."""
    from paperscope.core.settings import SettingsError, load_settings

    if _Process.settings is None:
        try:
            _Process.settings = load_settings()
        except SettingsError as exc:
            fail(str(exc))
            raise  # unreachable; keeps type checkers content
    return _Process.settings


def runtime_or_exit() -> Runtime:
    """The command's runtime: settings, the migrated store's engine, search indexes, mail."""
    from paperscope.services.runtime import open_runtime

    if _Process.runtime is None:
        settings = settings_or_exit()
        try:
            _Process.runtime = open_runtime(settings)
        except Exception as exc:  # a bad URL or an unreachable server: say which
            fail(f"cannot open the store at {settings.database_url}: {exc}")
            raise
    return _Process.runtime


def date_option(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option's value, or a clear error naming the option."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)")
        raise


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
