"""Settings from `PAPERSCOPE_*` environment variables, read by `load_settings()`, never at import.

Every setting is declared once in `SETTINGS` with its default and meaning; `paperscope settings`
and docs/settings.md list them from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from platformdirs import user_data_dir

PREFIX = "PAPERSCOPE_"


def default_data_dir() -> Path:
    """Per-user data folder: ~/.local/share/paperscope on Linux (platformdirs' user_data_dir)."""
    return Path(user_data_dir("paperscope", appauthor=False))


@dataclass(frozen=True, slots=True)
class SettingSpec:
    name: str
    default: str
    meaning: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "data_dir",
        "<user data dir>/paperscope",
        "Folder for the SQLite store, indexes and other derived files.",
    ),
    SettingSpec(
        "database_url",
        "sqlite:///<data_dir>/paperscope.db",
        "SQLAlchemy URL of the store: sqlite:///PATH (default) or postgresql+psycopg://...",
    ),
    SettingSpec(
        "user_agent", "paperscope/0.1 (+mailto:PAPERSCOPE_CONTACT_EMAIL)", "User-Agent sent to every source."
    ),
    SettingSpec(
        "contact_email", "", "Contact address sent to sources that ask for one (OpenAlex polite pool)."
    ),
    SettingSpec("http_timeout", "30", "Seconds to wait for one HTTP response."),
    SettingSpec("http_retries", "5", "Retries of a request that got 429, 5xx or a network error."),
    SettingSpec("arxiv_min_interval", "3.0", "Seconds between requests to the arXiv API and OAI-PMH."),
    SettingSpec("openalex_min_interval", "0.1", "Seconds between requests to OpenAlex."),
    SettingSpec("s2_min_interval", "1.0", "Seconds between requests to Semantic Scholar."),
    SettingSpec("s2_api_key", "", "Semantic Scholar API key (x-api-key header), optional."),
    SettingSpec("hf_min_interval", "0.5", "Seconds between requests to Hugging Face."),
    SettingSpec("batch_size", "5000", "Records written to the store in one transaction."),
)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    user_agent: str
    contact_email: str
    http_timeout: float
    http_retries: int
    arxiv_min_interval: float
    openalex_min_interval: float
    s2_min_interval: float
    s2_api_key: str
    hf_min_interval: float
    batch_size: int

    def min_interval(self, source: str) -> float:
        return {
            "arxiv": self.arxiv_min_interval,
            "openalex": self.openalex_min_interval,
            "s2": self.s2_min_interval,
            "hf": self.hf_min_interval,
        }.get(source, 1.0)


class SettingsError(ValueError):
    """A PAPERSCOPE_* variable that cannot be read as its setting's type."""


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from the environment (or a given mapping)."""
    env = os.environ if environ is None else environ

    def raw(name: str) -> str | None:
        value = env.get(PREFIX + name.upper())
        return value if value not in (None, "") else None

    data_dir = Path(raw("data_dir") or default_data_dir()).expanduser()
    contact = raw("contact_email") or ""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": raw("database_url") or f"sqlite:///{data_dir / 'paperscope.db'}",
        "user_agent": raw("user_agent")
        or (f"paperscope/0.1 (mailto:{contact})" if contact else "paperscope/0.1"),
        "contact_email": contact,
        "s2_api_key": raw("s2_api_key") or "",
    }
    defaults = {spec.name: spec.default for spec in SETTINGS}
    for f in fields(Settings):
        if f.name in values:
            continue
        text = raw(f.name) or defaults[f.name]
        try:
            values[f.name] = float(text) if f.type == "float" else int(text)
        except ValueError:
            raise SettingsError(f"{PREFIX}{f.name.upper()}={text!r} is not a valid {f.type}") from None
    for name in ("batch_size", "http_retries"):
        minimum = 1 if name == "batch_size" else 0
        if values[name] < minimum:  # type: ignore[operator]
            raise SettingsError(f"{PREFIX}{name.upper()}={values[name]!r} must be at least {minimum}")
    for name in ("http_timeout", "arxiv_min_interval", "openalex_min_interval", "s2_min_interval",
                 "hf_min_interval"):
        if values[name] < 0:  # type: ignore[operator]
            raise SettingsError(f"{PREFIX}{name.upper()}={values[name]!r} must not be negative")
    return Settings(**values)  # type: ignore[arg-type]
