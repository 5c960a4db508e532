"""Settings: one typed table, the only reader of the `PAPERSCOPE_*` environment variables.

Every setting is one field of `Settings`, declared once with `setting(default, doc, ...)`: its name
(the field), its type (the annotation), its default, its validation (a minimum, a list of choices or a
check function) and its meaning. `load_settings()` reads the environment (or a given mapping) when a
command or the web app starts, never at import; `SETTINGS` lists the declarations in order, and
`paperscope settings` and docs/settings.md (scripts/gen_settings_doc.py) are generated from it.

A feature that needs a new setting adds one field here, then regenerates docs/settings.md. No other
module reads `os.environ`: the runtime (services/runtime.py) hands the `Settings` object down.

    settings = load_settings()                      # the process environment
    settings = load_settings({"PAPERSCOPE_DATA_DIR": "/tmp/x"})   # a mapping (tests)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from email.utils import parseaddr
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from platformdirs import user_data_dir

PREFIX = "PAPERSCOPE_"


class SettingsError(ValueError):
    """A PAPERSCOPE_* variable that cannot be read as its setting's type or fails its check."""


def default_data_dir() -> Path:
    """Per-user data folder: ~/.local/share/paperscope on Linux (platformdirs' user_data_dir)."""
    return Path(user_data_dir("paperscope", appauthor=False))


def setting(default: Any, doc: str, *, shown: str | None = None, minimum: float | None = None,
            choices: tuple[str, ...] = (), check: Callable[[Any], str | None] | None = None,
            secret: bool = False) -> Any:
    """Declare one setting (a dataclass field of `Settings`).

    `default` is the value when the variable is unset or empty (None: derived, see `_derived`);
    `shown` is how the default is written in the docs when it is not the value itself; `minimum`,
    `choices` and `check` (a function returning an error text or None) validate the value;
    `secret` hides the value in `paperscope settings`."""
    meta = {"doc": doc, "shown": shown, "minimum": minimum, "choices": choices, "check": check,
            "secret": secret}
    return field(default=default, metadata=meta)


def _http_url(value: str) -> str | None:
    """an http:// or https:// URL"""
    return None if urlsplit(value).scheme in ("http", "https") else "must start with http:// or https://"


def _has_address(value: str) -> str | None:
    """holds an email address"""
    return None if parseaddr(value)[1] else "has no email address"


def _at_most_512(value: int) -> str | None:
    """at most 512"""
    return None if value <= 512 else "is over 512: MiniLM reads at most 512 word pieces"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of paperscope, typed. Build with `load_settings()`; never at import."""

    data_dir: Path = setting(None, "Folder for the SQLite store, indexes and other derived files.",
                             shown="<user data dir>/paperscope")
    database_url: str = setting(
        None, "SQLAlchemy URL of the store: sqlite:///PATH (default) or postgresql+psycopg://...",
        shown="sqlite:///<data_dir>/paperscope.db")
    user_agent: str = setting(None, "User-Agent sent to every source.",
                              shown="paperscope/0.1 (+mailto:PAPERSCOPE_CONTACT_EMAIL)")
    contact_email: str = setting("", "Contact address sent to sources that ask for one (OpenAlex polite pool).")
    http_timeout: float = setting(30.0, "Seconds to wait for one HTTP response.", minimum=0)
    http_retries: int = setting(5, "Retries of a request that got 429, 5xx or a network error.", minimum=0)
    arxiv_min_interval: float = setting(3.0, "Seconds between requests to the arXiv API and OAI-PMH.", minimum=0)
    openalex_min_interval: float = setting(0.1, "Seconds between requests to OpenAlex.", minimum=0)
    s2_min_interval: float = setting(1.0, "Seconds between requests to Semantic Scholar.", minimum=0)
    s2_api_key: str = setting("", "Semantic Scholar API key (x-api-key header), optional.", secret=True)
    hf_min_interval: float = setting(0.5, "Seconds between requests to Hugging Face.", minimum=0)
    batch_size: int = setting(5000, "Records written to the store in one transaction.", minimum=1)
    embedder: str = setting("minilm", "Embedder of a store's first generation and of `paperscope embed backfill` "
                            "without a name (the active generation feeds Novelty, similar papers and search).",
                            choices=("minilm", "model2vec", "tfidf"))
    bulk_embedder: str = setting("model2vec", "Embedder of a new store's full build (`paperscope build`): the static "
                                 "model2vec embeds thousands of abstracts a second; MiniLM is backfilled after.",
                                 choices=("minilm", "model2vec", "tfidf"))
    minilm_runtime: str = setting(
        "onnx", "What computes MiniLM: onnx (ONNX Runtime, fp32: the vectors torch computes, a fraction of its "
        "start-up), torch (sentence-transformers) or onnx-int8 (int8 weights: faster, a little worse, other vectors: "
        "a generation of their own). The ONNX graph is exported once, with torch, under <data_dir>/models. "
        "Measured in docs/scores.md.", choices=("onnx", "torch", "onnx-int8"))
    minilm_max_tokens: int = setting(
        256, "Word pieces of each text MiniLM reads (the rest is cut); another length than 256 makes a "
        "generation of its own.", minimum=8, check=_at_most_512)
    daily_categories: tuple[str, ...] = setting(
        ("cs.LG", "cs.CV", "cs.CL", "cs.AI", "stat.ML"),
        "arXiv categories `paperscope run` fetches each day (comma-separated).")
    smtp_host: str = setting("localhost", "SMTP server that sends the emails.")
    smtp_port: int = setting(587, "SMTP port (587 STARTTLS, 465 implicit TLS, 25 plain).", minimum=1)
    smtp_tls: str = setting("starttls", "starttls | ssl | none.", choices=("starttls", "ssl", "none"))
    smtp_user: str = setting("", "SMTP login name; empty: no login.")
    smtp_password: str = setting("", "SMTP password.", secret=True)
    smtp_timeout: float = setting(30.0, "Seconds to wait for the SMTP server.", minimum=0)
    mail_from: str = setting("paperscope <paperscope@localhost>", "From: of every email.", check=_has_address)
    base_url: str = setting("http://127.0.0.1:8000", "Public URL of the web app: the links in emails start with it.",
                            check=_http_url)
    secret_key: str = setting("", "Signs email links and session cookies; empty: one kept in <data_dir>/secret_key.",
                              secret=True)
    digest_size: int = setting(10, "Papers in one digest at most.", minimum=1)
    index_snapshots: str = setting(
        "", "Folder of published index snapshots: `paperscope index --publish` adds one; `paperscope serve` "
        "reads the newest (swapping when a newer appears) instead of <data_dir>/index. Empty: not used.")
    max_line_bytes: int = setting(
        16 * 1024 * 1024, "Longest line of a line-based input (snapshot, OpenAlex part, AAN release) in bytes; "
        "a longer one is quarantined with its length, never read whole.", minimum=1)
    max_request_bytes: int = setting(
        1024 * 1024, "Largest request body the web app reads, in bytes; a larger one is answered 413 unread.",
        minimum=1)
    web_threads: int = setting(
        8, "Threads per web worker process that run requests; the worker's pool of store connections is "
        "sized from it (one per thread, and as many again for a request that holds two), so no request "
        "waits for a connection.", minimum=1)
    login_free_failures: int = setting(
        5, "Wrong passwords for one account before each further login attempt must wait (1 s, doubling).",
        minimum=1)
    login_address_free_failures: int = setting(
        20, "Wrong passwords from one client address, any account, before it must wait (1 s, doubling).",
        minimum=1)
    login_max_wait: int = setting(900, "Longest wait in seconds that failed logins impose.", minimum=1)

    def min_interval(self, source: str) -> float:
        return {
            "arxiv": self.arxiv_min_interval,
            "openalex": self.openalex_min_interval,
            "s2": self.s2_min_interval,
            "hf": self.hf_min_interval,
        }.get(source, 1.0)

    @property
    def variables(self) -> dict[str, str]:
        """Each setting's environment variable and value as text (secrets masked): for display."""
        out = {}
        for spec in SETTINGS:
            value = getattr(self, spec.name)
            text = ",".join(value) if isinstance(value, tuple) else str(value)
            out[spec.variable] = "***" if spec.secret and text else text
        return out


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One declared setting, as the docs and `paperscope settings` show it."""

    name: str
    type: type
    default: str  # as text, the way the docs show it
    meaning: str
    minimum: float | None
    choices: tuple[str, ...]
    check: Callable[[Any], str | None] | None
    secret: bool

    @property
    def variable(self) -> str:
        return PREFIX + self.name.upper()

    @property
    def type_name(self) -> str:
        return "list (comma-separated)" if self.type == tuple[str, ...] else self.type.__name__

    @property
    def rule(self) -> str:
        """The check in words (docs and `paperscope settings`)."""
        parts = []
        if self.choices:
            parts.append("one of " + ", ".join(self.choices))
        if self.minimum is not None:
            parts.append(f"at least {self.minimum:g}")
        if self.check is not None and self.check.__doc__:
            parts.append(self.check.__doc__.strip())
        return "; ".join(parts)


def _default_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    return "" if value is None else str(value)


def _specs() -> tuple[SettingSpec, ...]:
    hints = get_type_hints(Settings)
    specs = []
    for f in fields(Settings):
        meta = f.metadata
        default = None if f.default is MISSING else f.default
        specs.append(SettingSpec(
            name=f.name, type=hints[f.name], default=meta["shown"] or _default_text(default),
            meaning=meta["doc"], minimum=meta["minimum"], choices=meta["choices"], check=meta["check"],
            secret=meta["secret"],
        ))
    return tuple(specs)


SETTINGS: tuple[SettingSpec, ...] = _specs()


def declared_default(name: str) -> Any:
    """A setting's declared default (for library calls made without settings, e.g. in tests)."""
    return Settings.__dataclass_fields__[name].default


def _parse(spec: SettingSpec, text: str) -> Any:
    kind = spec.type
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise SettingsError(f"{spec.variable}={text!r} is not a valid {kind.__name__}") from None
    if kind is Path:
        return Path(text).expanduser()
    if kind == tuple[str, ...]:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text.strip() if spec.choices else text


def _validate(spec: SettingSpec, value: Any) -> Any:
    if spec.choices:
        value = str(value).lower()
        if value not in spec.choices:
            raise SettingsError(f"{spec.variable}={value!r}: choose one of {', '.join(spec.choices)}")
    if spec.minimum is not None and value < spec.minimum:
        word = "must not be negative" if spec.minimum == 0 else f"must be at least {spec.minimum:g}"
        raise SettingsError(f"{spec.variable}={value!r} {word}")
    if spec.check is not None and (problem := spec.check(value)):
        raise SettingsError(f"{spec.variable}={value!r} {problem}")
    return value


def configured(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting's value from the environment (or the given mapping), checked like
    `load_settings` does: for a use case deep below the commands that reads one setting."""
    env = os.environ if environ is None else environ
    spec = next((s for s in SETTINGS if s.name == name), None)
    if spec is None:
        raise KeyError(f"no setting {name!r}")
    text = env.get(spec.variable)
    return declared_default(name) if text in (None, "") else _validate(spec, _parse(spec, text))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (or the given mapping); a bad value raises SettingsError naming
    the variable. An unset or empty variable takes the declared default."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        text = env.get(spec.variable)
        if text in (None, ""):
            values[spec.name] = declared_default(spec.name)
            continue
        values[spec.name] = _validate(spec, _parse(spec, text))
    _derived(values)
    return Settings(**values)


def _derived(values: dict[str, Any]) -> None:
    """Defaults that follow from other settings."""
    if values["data_dir"] is None:
        values["data_dir"] = default_data_dir()
    if values["database_url"] is None:
        values["database_url"] = f"sqlite:///{values['data_dir'] / 'paperscope.db'}"
    if values["user_agent"] is None:
        contact = values["contact_email"]
        values["user_agent"] = f"paperscope/0.1 (mailto:{contact})" if contact else "paperscope/0.1"
