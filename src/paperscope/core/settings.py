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
    SettingSpec("embedder", "tfidf",
                "Embedder feeding Novelty, similar papers and semantic search: tfidf or minilm."),
    SettingSpec("daily_categories", "cs.LG,cs.CV,cs.CL,cs.AI,stat.ML",
                "arXiv categories `paperscope run` fetches each day."),
    SettingSpec("smtp_host", "localhost", "SMTP server that sends the emails."),
    SettingSpec("smtp_port", "587", "SMTP port (587 STARTTLS, 465 implicit TLS, 25 plain)."),
    SettingSpec("smtp_tls", "starttls", "starttls | ssl | none."),
    SettingSpec("smtp_user", "", "SMTP login name; empty: no login."),
    SettingSpec("smtp_password", "", "SMTP password."),
    SettingSpec("smtp_timeout", "30", "Seconds to wait for the SMTP server."),
    SettingSpec("mail_from", "paperscope <paperscope@localhost>", "From: of every email."),
    SettingSpec("base_url", "http://127.0.0.1:8000", "Public URL of the web app: the links in emails start with it."),
    SettingSpec("secret_key", "",
                "Signs email links and session cookies; empty: one kept in <data_dir>/secret_key."),
    SettingSpec("digest_size", "10", "Papers in one digest at most."),
    SettingSpec("max_line_bytes", str(16 * 1024 * 1024),
                "Longest line of a JSON-lines input (snapshot, OpenAlex part) in bytes; a longer one is "
                "quarantined without being read whole."),
    SettingSpec("max_request_bytes", str(1024 * 1024),
                "Largest request body the web app reads, in bytes; a larger one is answered 413 unread."),
    SettingSpec("login_free_failures", "5",
                "Wrong passwords for one account before each further attempt must wait (doubling)."),
    SettingSpec("login_address_free_failures", "20",
                "Wrong passwords from one client address, any account, before it must wait (doubling)."),
    SettingSpec("login_max_wait", "900", "Longest wait in seconds that failed logins impose."),
)
# Read and checked by the feature that uses them (services/mailer.py, services/scores.py,
# services/daily.py); kept here as text so that every setting is listed in one place.
TEXT_SETTINGS = frozenset({
    "embedder", "daily_categories", "smtp_host", "smtp_port", "smtp_tls", "smtp_user", "smtp_password",
    "smtp_timeout", "mail_from", "base_url", "secret_key", "digest_size",
})


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
    embedder: str
    daily_categories: str
    smtp_host: str
    smtp_port: str
    smtp_tls: str
    smtp_user: str
    smtp_password: str
    smtp_timeout: str
    mail_from: str
    base_url: str
    secret_key: str
    digest_size: str
    max_line_bytes: int
    max_request_bytes: int
    login_free_failures: int
    login_address_free_failures: int
    login_max_wait: int

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
        if f.name in TEXT_SETTINGS:
            values[f.name] = text
            continue
        try:
            values[f.name] = float(text) if f.type == "float" else int(text)
        except ValueError:
            raise SettingsError(f"{PREFIX}{f.name.upper()}={text!r} is not a valid {f.type}") from None
    for name in ("batch_size", "http_retries", "max_line_bytes", "max_request_bytes", "login_free_failures",
                 "login_address_free_failures", "login_max_wait"):
        minimum = 0 if name == "http_retries" else 1
        if values[name] < minimum:  # type: ignore[operator]
            raise SettingsError(f"{PREFIX}{name.upper()}={values[name]!r} must be at least {minimum}")
    for name in ("http_timeout", "arxiv_min_interval", "openalex_min_interval", "s2_min_interval",
                 "hf_min_interval"):
        if values[name] < 0:  # type: ignore[operator]
            raise SettingsError(f"{PREFIX}{name.upper()}={values[name]!r} must not be negative")
    return Settings(**values)  # type: ignore[arg-type]
