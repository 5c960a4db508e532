"""Settings come from PAPERSCOPE_* variables, read by load_settings() when asked, never at import."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from paperscope.core.settings import (
    SETTINGS,
    Settings,
    SettingsError,
    default_data_dir,
    load_settings,
)


def test_reads_database_url_and_batch_size_from_the_given_mapping() -> None:
    settings = load_settings({
        "PAPERSCOPE_DATABASE_URL": "postgresql+psycopg://radar:pw@db.example:5432/papers",
        "PAPERSCOPE_BATCH_SIZE": "250",
        "PAPERSCOPE_HTTP_TIMEOUT": "7.5",
    })
    assert settings.database_url == "postgresql+psycopg://radar:pw@db.example:5432/papers"
    assert settings.batch_size == 250 and isinstance(settings.batch_size, int)
    assert settings.http_timeout == 7.5


def test_reads_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PAPERSCOPE_BATCH_SIZE", "1234")
    monkeypatch.setenv("PAPERSCOPE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.batch_size == 1234
    assert settings.data_dir == tmp_path


def test_defaults_match_the_declared_settings() -> None:
    settings = load_settings({})
    declared = {spec.name: spec.default for spec in SETTINGS}
    assert settings.batch_size == int(declared["batch_size"]) == 5000
    assert settings.http_retries == 5
    assert settings.arxiv_min_interval == 3.0
    assert settings.s2_api_key == "" and settings.contact_email == ""


def test_every_field_is_declared_once() -> None:
    assert [spec.name for spec in SETTINGS] == [f.name for f in fields(Settings)]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAPERSCOPE_BATCH_SIZE", "lots"),
        ("PAPERSCOPE_HTTP_RETRIES", "2.5"),
        ("PAPERSCOPE_HTTP_TIMEOUT", "soon"),
    ],
)
def test_a_bad_number_is_an_error_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings({variable: value})
    assert repr(value) in str(caught.value)


def test_an_empty_variable_takes_the_default() -> None:
    assert load_settings({"PAPERSCOPE_BATCH_SIZE": ""}).batch_size == 5000


def test_sqlite_store_defaults_to_a_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path / "radar")})
    assert settings.data_dir == tmp_path / "radar"
    assert settings.database_url == f"sqlite:///{tmp_path / 'radar' / 'paperscope.db'}"


def test_without_a_data_dir_the_store_lives_in_the_per_user_folder() -> None:
    settings = load_settings({})
    assert settings.data_dir == default_data_dir()
    assert settings.data_dir.name == "paperscope"
    assert settings.database_url == f"sqlite:///{default_data_dir() / 'paperscope.db'}"


def test_an_explicit_database_url_wins_over_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"PAPERSCOPE_DATA_DIR": str(tmp_path), "PAPERSCOPE_DATABASE_URL": "sqlite:///:memory:"})
    assert settings.database_url == "sqlite:///:memory:"
    assert settings.data_dir == tmp_path


def test_contact_email_goes_into_the_user_agent() -> None:
    settings = load_settings({"PAPERSCOPE_CONTACT_EMAIL": "lab@example.org"})
    assert "lab@example.org" in settings.user_agent
    assert load_settings({"PAPERSCOPE_USER_AGENT": "radar/2"}).user_agent == "radar/2"


def _bogus_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PAPERSCOPE_BATCH_SIZE": "not-a-number",
        "PAPERSCOPE_HTTP_TIMEOUT": "never",
        "PAPERSCOPE_DATABASE_URL": "nonsense://",
    })
    return env


def test_importing_every_module_reads_no_settings() -> None:
    """Settings are read when a command runs; importing (the CLI included) must not fail on them."""
    code = (
        "import importlib, pkgutil, paperscope, paperscope.cli\n"
        "names = [m.name for m in pkgutil.walk_packages(paperscope.__path__, 'paperscope.')\n"
        "         if '.migrations' not in m.name and m.name != 'paperscope.__main__']\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=_bogus_environment(),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 20


def test_a_command_reports_a_bad_setting_by_name(tmp_path: Path) -> None:
    env = dict(os.environ, PAPERSCOPE_DATA_DIR=str(tmp_path), PAPERSCOPE_BATCH_SIZE="not-a-number")
    result = subprocess.run([sys.executable, "-m", "paperscope", "stats"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "PAPERSCOPE_BATCH_SIZE" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "paperscope.db").exists()
