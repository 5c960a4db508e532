"""Email: the mail settings, address checks, message composition (HTML and plain text from the web's
card templates), and the transports that deliver a message (SMTP, or .eml files for a dry run).

The digest and confirmation emails render paper cards with the web pages' own `_cards.html` (the
`entry` macro), read as a template file, so a card looks the same on a page and in an email; the
plain-text part renders the same card fields with `email/_card.txt`. Links are made absolute with
the configured base URL.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import smtplib
import ssl
from dataclasses import dataclass, replace
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import paperscope
from paperscope.core.settings import Settings
from paperscope.services.cards import Card
from paperscope.services.display import DASH, FILTERS
from paperscope.services.tokens import resolve_secret

TEMPLATES = Path(paperscope.__file__).resolve().parent / "web" / "templates"
TLS_MODES = ("starttls", "ssl", "none")

class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


class InvalidAddress(ValueError):
    """An email address that is malformed or tries to smuggle in headers."""


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 30.0
    mail_from: str = "paperscope <paperscope@localhost>"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    digest_size: int = 10

    @property
    def from_address(self) -> str:
        return parseaddr(self.mail_from)[1]

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"

    def url(self, path: str, **params: str) -> str:
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        return f"{self.base_url.rstrip('/')}{path}" + (f"?{query}" if query else "")


def resolved_mail_settings(settings: Settings) -> MailSettings:
    """mail_settings with the secret resolved (the configured one, else the one kept in data_dir)."""
    mail = mail_settings(settings)
    return replace(mail, secret_key=resolve_secret(mail.secret_key or None, settings.data_dir))


def mail_settings(settings: Settings) -> MailSettings:
    """The mail part of the settings (declared, typed and checked in core/settings.py)."""
    return MailSettings(
        smtp_host=settings.smtp_host, smtp_port=settings.smtp_port, smtp_tls=settings.smtp_tls,
        smtp_user=settings.smtp_user, smtp_password=settings.smtp_password,
        smtp_timeout=settings.smtp_timeout, mail_from=settings.mail_from, base_url=settings.base_url,
        secret_key=settings.secret_key, digest_size=settings.digest_size,
    )


# --- addresses and header values ------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_header_text(value: str, what: str, limit: int = 300) -> str:
    """A value that will sit in a header (subject, name): no line breaks or other control characters."""
    if _CONTROL.search(value):
        raise InvalidAddress(f"{what} contains a line break or control character: header injection refused")
    if len(value) > limit:
        raise InvalidAddress(f"{what} is longer than {limit} characters")
    return value


def validate_address(text: str) -> str:
    """The address, normalised (domain lower-cased, IDNA), or InvalidAddress saying what is wrong.
    Only a bare address is accepted: no display name, no second address, no line breaks."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidAddress("an email address is required")
    raw = text.strip()
    check_header_text(raw, "the email address", 254)
    if any(c in raw for c in ",;<>\"()[]\\ "):
        raise InvalidAddress(f"{raw!r} is not a single plain email address")
    try:
        info = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
        return info.ascii_email or info.normalized
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{raw!r} is not a valid email address: {exc}") from None


def address_key(address: str) -> str:
    return address.strip().lower()


# --- templates --------------------------------------------------------------------------------------


def make_environment() -> Environment:
    """Jinja over the web's templates: HTML autoescaped, .txt templates left as plain text."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS)
    env.globals.update(DASH=DASH, CSRF_FIELD="csrf_token")
    return env


_HREF = re.compile(r'(href|src)="/(?!/)')


def absolute_links(html: str, base_url: str) -> str:
    """Site-relative links of a rendered page (`href="/papers/…"`) made absolute for an email."""
    return _HREF.sub(lambda m: f'{m.group(1)}="{base_url.rstrip("/")}/', html)


class CardRenderer:
    """Each paper's card rendered once (HTML from `_cards.html`, text from `email/_card.txt`) and
    reused by every digest that carries it."""

    def __init__(self, env: Environment, base_url: str) -> None:
        self.html_macro = env.get_template("_cards.html").module.entry  # type: ignore[attr-defined]
        self.text_macro = env.get_template("email/_card.txt").module.card  # type: ignore[attr-defined]
        self.base_url = base_url
        self.html: dict[str, Markup] = {}
        self.text: dict[str, str] = {}

    def render(self, card: Card) -> tuple[Markup, str]:
        pid = card.id
        if pid not in self.html:
            # with_controls=False: an email carries no Save/Upvote forms (no session, no CSRF token)
            self.html[pid] = Markup(absolute_links(str(self.html_macro(card, False)), self.base_url))
            self.text[pid] = str(self.text_macro(card, self.base_url)).strip()
        return self.html[pid], self.text[pid]


# --- messages ---------------------------------------------------------------------------------------


def _header_value(value: str) -> str:
    """ASCII as is; anything else as RFC 2047 encoded words (UTF-8)."""
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=998).encode(linesep="\r\n")


def _qp(text: str) -> bytes:
    """A body part as quoted-printable (lines of at most 76 characters), CRLF line ends."""
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def compose(mail: MailSettings, to: str, subject: str, text: str, html: str, message_id: str,
            unsubscribe_url: str | None = None) -> bytes:
    """An RFC 5322 message, multipart/alternative (plain text first, then HTML, both UTF-8 in
    quoted-printable), with one-click unsubscribe headers (RFC 8058) when `unsubscribe_url` is given.

    Assembled directly rather than with the email package's generator, which costs ~20 ms a digest
    (most of a 10,000-subscriber run); every header value is checked for line breaks first, and the
    tests parse every message with the email package."""
    address = validate_address(to)
    check_header_text(subject, "the subject", 998)
    name, sender = parseaddr(mail.mail_from)
    headers = [
        ("From", formataddr((name, sender), charset="utf-8")),
        ("To", address),
        ("Subject", _header_value(subject)),
        ("Date", formatdate(localtime=False, usegmt=True)),
        ("Message-ID", f"<{check_header_text(message_id, 'the message id')}@{mail.domain}>"),
        ("Auto-Submitted", "auto-generated"),
    ]
    if unsubscribe_url:
        headers += [("List-Unsubscribe", f"<{check_header_text(unsubscribe_url, 'the unsubscribe URL', 900)}>"),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    boundary = "=_ps_" + hashlib.sha256(f"{message_id}{address}".encode()).hexdigest()[:32]
    headers += [("MIME-Version", "1.0"), ("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    out = [f"{k}: {v}\r\n".encode() for k, v in headers]
    out.append(b"\r\n")
    for subtype, body in (("plain", text), ("html", html)):
        out.append(f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode())
        out.append(_qp(body))
        out.append(b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


class Transport(Protocol):
    def __enter__(self) -> Transport: ...
    def __exit__(self, *exc: object) -> None: ...
    def send(self, sender: str, recipient: str, message: bytes, name: str) -> None: ...


class SmtpTransport:
    """One SMTP connection for a batch of messages (smtplib; STARTTLS, implicit TLS or plain; login
    when a user is set). Raises MailError with the server's words when a message is not accepted."""

    def __init__(self, mail: MailSettings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.mail = mail
        self.context = ssl_context or ssl.create_default_context()
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        m = self.mail
        try:
            if m.smtp_tls == "ssl":
                self.smtp = smtplib.SMTP_SSL(m.smtp_host, m.smtp_port, timeout=m.smtp_timeout,
                                             context=self.context)
            else:
                self.smtp = smtplib.SMTP(m.smtp_host, m.smtp_port, timeout=m.smtp_timeout)
                if m.smtp_tls == "starttls":
                    self.smtp.starttls(context=self.context)
            if m.smtp_user:
                self.smtp.login(m.smtp_user, m.smtp_password)
        except (OSError, smtplib.SMTPException) as exc:
            self.smtp = None
            raise MailError(f"cannot connect to the SMTP server {m.smtp_host}:{m.smtp_port} "
                            f"({m.smtp_tls}): {exc}") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> None:
        if self.smtp is None:
            raise MailError("the SMTP connection is closed")
        try:
            refused = self.smtp.sendmail(sender, [recipient], message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            raise MessageRefused(f"{recipient} refused by the SMTP server: {code} {_text(reason)}",
                                 permanent=500 <= code < 600) from exc
        except smtplib.SMTPServerDisconnected as exc:
            self.smtp = None
            raise MailError(f"the SMTP server closed the connection while sending {name}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the connection
                self.smtp = None
                raise MailError(f"the SMTP server gave up while sending {name}: 421 "
                                f"{_text(exc.smtp_error)}") from exc
            raise MessageRefused(f"the SMTP server did not accept {name}: {exc.smtp_code} "
                                 f"{_text(exc.smtp_error)}", permanent=500 <= exc.smtp_code < 600) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.smtp = None
            raise MailError(f"the SMTP connection failed while sending {name}: {exc}") from exc
        if refused:
            code, reason = refused[recipient]
            raise MessageRefused(f"{recipient} refused: {code} {_text(reason)}", permanent=code >= 500)


class MessageRefused(MailError):
    """The server refused this message or its recipient; the connection goes on with the next one.
    `permanent` (5xx): sending it again will not help."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class FileTransport:
    """Writes each message to <folder>/<name>.eml instead of sending it (dry runs)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def __enter__(self) -> FileTransport:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, sender: str, recipient: str, message: bytes, name: str) -> None:
        path = self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.eml"
        path.write_bytes(message)
        self.written.append(path)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
