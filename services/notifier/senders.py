"""How each channel's stored message goes out: the HTTP request of a webhook, Slack, Teams
or SMS delivery, and the SMTP submission of an e-mail.

Secrets (signing secrets, bot and SMS tokens, the Slack/Teams webhook URLs, the SMTP
password) come from the config at send time, never from the delivery row.

Channel answers in their own terms are judged here (a *verdict* for
:func:`services.notifier.domain.next_step`):

- Slack's Web API answers 200 with ``{"ok": false, "error": ...}``: ``ratelimited`` and
  server-side errors retry, anything else (``channel_not_found``, ``invalid_auth``) is a
  rejection;
- SMTP: a 2xx reply delivers, a 5xx reply (unknown mailbox, refused) rejects, a 4xx reply
  (greylisting, server busy), a refused connection or a timeout retries.

The SSRF guard covers every HTTP channel (the worker's guarded client). The SMTP server is
the operator's own, named once in ``notifier.smtp`` and never taken from an event.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlencode

import aiosmtplib
import orjson

from services.notifier import domain
from services.notifier.alerts import SmtpServer, mode

CLOUDEVENTS = "application/cloudevents+json; charset=utf-8"  # CloudEvents structured mode
JSON = "application/json; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
SLACK_RETRYABLE = frozenset(
    {"ratelimited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}
)
_SLACK_OK = re.compile(rb'"ok"\s*:\s*(true|false)')
_SLACK_ERROR = re.compile(rb'"error"\s*:\s*"([^"]{1,100})"')


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    data: bytes


def http_request(
    sub: domain.Subscription, delivery_id: str, body: bytes, at: datetime
) -> HttpRequest:
    """The POST an HTTP channel makes for a stored message."""
    how = mode(sub)
    if how == "webhook":
        headers = domain.signed_headers(sub.secret, delivery_id, at, body)
        headers["content-type"] = CLOUDEVENTS
        return HttpRequest(sub.url, headers, body)
    if how == "sms":
        assert sub.basic_auth is not None
        user, token = sub.basic_auth
        basic = base64.b64encode(f"{user}:{token}".encode()).decode()
        form = urlencode(orjson.loads(body)).encode()
        return HttpRequest(sub.url, {"content-type": FORM, "authorization": f"Basic {basic}"}, form)
    headers = {"content-type": JSON}
    if how == "slack-bot":
        headers["authorization"] = f"Bearer {sub.bearer}"
    return HttpRequest(sub.url, headers, body)


def slack_verdict(sub: domain.Subscription, answer: bytes) -> tuple[str | None, str | None]:
    """``(verdict, error)`` for a 2xx answer of Slack's Web API; ``(None, None)`` for any
    other channel (its 2xx is a delivery)."""
    if mode(sub) != "slack-bot":
        return None, None
    ok = _SLACK_OK.search(answer)
    if ok is not None and ok.group(1) == b"true":
        return "ok", None
    found = _SLACK_ERROR.search(answer)
    error = found.group(1).decode("utf-8", "replace") if found else "no ok in the answer"
    return ("retry" if error in SLACK_RETRYABLE else "reject"), f"slack: {error}"


@dataclass(frozen=True)
class SmtpResult:
    code: int | None
    error: str | None
    verdict: str  # ok, retry or reject


async def send_email(smtp: SmtpServer, body: bytes, timeout_s: float) -> SmtpResult:
    """Submit one stored e-mail (``{"from", "to", "mime"}``) to the SMTP server."""
    doc = orjson.loads(body)
    try:
        errors, reply = await aiosmtplib.send(
            doc["mime"],
            sender=parseaddr(doc["from"])[1],
            recipients=list(doc["to"]),
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            use_tls=smtp.security == "tls",
            start_tls=True if smtp.security == "starttls" else False,
            cert_bundle=smtp.ca_file,
            timeout=timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        code = exc.recipients[0].code if exc.recipients else 550
        return SmtpResult(code, f"SMTP {code}: recipient refused", _judge(code))
    except aiosmtplib.SMTPResponseException as exc:
        return SmtpResult(exc.code, f"SMTP {exc.code}: {exc.message}"[:500], _judge(exc.code))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return SmtpResult(None, f"{type(exc).__name__}: {exc}".rstrip(": "), "retry")
    code = int(reply.split(" ", 1)[0]) if reply[:3].isdigit() else 250
    return SmtpResult(code, None, "ok")


def _judge(code: int) -> str:
    if 200 <= code <= 299:
        return "ok"
    return "reject" if 500 <= code <= 599 else "retry"
