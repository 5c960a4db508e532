"""The SMTP settings against a real server on loopback: STARTTLS and implicit TLS with a certificate
made for the test (openssl), login required, wrong password refused, and a plain server that cannot
do STARTTLS refused rather than spoken to in clear."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from paperscope.services.mailer import MailError, MailSettings, SmtpTransport, compose
from tests.digests.conftest import Recorder

USER, PASSWORD = "digest", "s3cret-pass"
# aiosmtpd warns about AUTH without STARTTLS on its implicit-TLS server, which is encrypted all along.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(request: pytest.FixtureRequest,
               certificate: tuple[Path, Path]) -> Iterator[tuple[Recorder, MailSettings, ssl.SSLContext]]:
    from aiosmtpd.controller import Controller

    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    recorder = Recorder()
    port = _port()
    if request.param == "starttls":
        controller = Controller(recorder, hostname="127.0.0.1", port=port, tls_context=server_context,
                                require_starttls=True, auth_required=True, authenticator=_authenticator)
    else:
        # Implicit TLS: aiosmtpd cannot tell the socket is encrypted, so it is told AUTH may go on it.
        controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=server_context,
                                auth_required=True, auth_require_tls=False, authenticator=_authenticator,
                                server_hostname="127.0.0.1")
    controller.start()
    mail = MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_tls=request.param, smtp_user=USER,
                        smtp_password=PASSWORD, smtp_timeout=3, mail_from="paperscope <digest@paperscope.test>",
                        secret_key="k")
    yield recorder, mail, client_context
    controller.stop()


def _message(mail: MailSettings) -> bytes:
    return compose(mail, "reader@example.org", "TLS check", "plain", "<p>html</p>", "tls.1")


def test_tls_and_login_from_the_settings(tls_server: tuple[Recorder, MailSettings, ssl.SSLContext]) -> None:
    recorder, mail, context = tls_server
    with SmtpTransport(mail, context) as t:
        t.send(mail.from_address, "reader@example.org", _message(mail), "tls-check")
    (received,) = recorder.messages
    assert received.message["Subject"] == "TLS check" and received.recipients == ["reader@example.org"]
    wrong = replace(mail, smtp_password="wrong")
    with pytest.raises(MailError, match="cannot connect to the SMTP server"):
        with SmtpTransport(wrong, context):
            pass
    untrusted = ssl.create_default_context()  # the test certificate is not trusted: refused
    with pytest.raises(MailError):
        with SmtpTransport(mail, untrusted):
            pass
    assert len(recorder.messages) == 1


def test_starttls_is_required_when_configured(smtp: Recorder, mail: MailSettings) -> None:
    plain_server = replace(mail, smtp_tls="starttls")  # the test server offers no STARTTLS
    with pytest.raises(MailError, match="STARTTLS"):
        with SmtpTransport(plain_server):
            pass
    assert smtp.messages == []
