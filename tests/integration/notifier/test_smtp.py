"""E-mail submission against a real SMTP server (aiosmtpd, in this process): STARTTLS and
implicit TLS with a certificate from a private CA, AUTH, and how each answer is judged
(2xx delivered, 5xx rejected, 4xx and a refused connection retried)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notifier.alerts import SmtpServer
from services.notifier.senders import send_email

PASSWORD = "s3cret"
BODY = orjson.dumps(
    {
        "from": "Leadflow <alerts@leadflow.test>",
        "to": ["ana@example.com"],
        "mime": "From: alerts@leadflow.test\r\nTo: ana@example.com\r\nSubject: hi\r\n\r\nhello\r\n",
    }
)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leadflow test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Inbox:
    def __init__(self, reply: str = "250 2.0.0 queued") -> None:
        self.reply = reply
        self.received: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.reply.startswith("250"):
            self.received.append(envelope)
        return self.reply


def login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


@asynccontextmanager
async def smtp_server(
    inbox: Inbox, tls: ssl.SSLContext | None, implicit: bool = False
) -> AsyncIterator[int]:
    def session() -> SMTP:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return SMTP(
                inbox,
                hostname="mail.test",
                authenticator=login,
                auth_required=True,
                # Implicit TLS is the transport's: aiosmtpd does not see it, so not required.
                auth_require_tls=tls is not None and not implicit,
                require_starttls=tls is not None and not implicit,
                tls_context=None if implicit else tls,
            )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(session, "127.0.0.1", 0, ssl=tls if implicit else None)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context


def server_for(port: int, security: str, ca: Path | None, password: str = PASSWORD) -> SmtpServer:
    return SmtpServer(
        "127.0.0.1", port, security, "Leadflow <alerts@leadflow.test>", "leadflow", password,
        str(ca) if ca else None,
    )  # fmt: skip


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "tls"])
async def test_mail_is_submitted_over_tls_verified_by_a_private_ca(
    certificate: tuple[Path, ssl.SSLContext], implicit: bool
) -> None:
    ca, context = certificate
    inbox = Inbox()
    async with smtp_server(inbox, context, implicit) as port:
        security = "tls" if implicit else "starttls"
        result = await send_email(server_for(port, security, ca), BODY, timeout_s=5)
        assert (result.verdict, result.code, result.error) == ("ok", 250, None)
        (envelope,) = inbox.received
        assert envelope.rcpt_tos == ["ana@example.com"]
        assert envelope.mail_from == "alerts@leadflow.test"
        # Without the private CA the server's certificate is not trusted: nothing is sent.
        untrusted = await send_email(server_for(port, security, None), BODY, timeout_s=5)
        assert untrusted.verdict == "retry" and "CERTIFICATE_VERIFY_FAILED" in str(untrusted.error)
        assert len(inbox.received) == 1


Check = Callable[[Any], bool]


@pytest.mark.parametrize(
    ("reply", "password", "verdict", "code"),
    [
        ("250 2.0.0 queued", PASSWORD, "ok", 250),
        ("451 4.3.0 try again later", PASSWORD, "retry", 451),
        ("552 5.3.4 message too big", PASSWORD, "reject", 552),
        ("250 2.0.0 queued", "wrong", "reject", 535),  # authentication failed
    ],
)
async def test_each_smtp_answer_is_judged(
    reply: str, password: str, verdict: str, code: int
) -> None:
    async with smtp_server(Inbox(reply), None) as port:
        result = await send_email(server_for(port, "none", None, password), BODY, timeout_s=5)
    assert (result.verdict, result.code) == (verdict, code)


async def test_a_server_that_is_down_is_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    result = await send_email(server_for(port, "none", None), BODY, timeout_s=2)
    assert (result.verdict, result.code) == ("retry", None)
    assert result.error is not None and "SMTPConnect" in result.error
