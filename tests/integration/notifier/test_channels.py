"""Alerts to people as the notifier sends them: real PostgreSQL, a real broker, a local HTTP
receiver standing in for Slack (incoming webhook and Web API), Microsoft Teams and a
Twilio-style SMS API, and a real SMTP server (aiosmtpd) in this test process.

Each message must arrive exactly once, also when the event is delivered again, and a channel
that is down at first (503, SMTP 451) gets the message once when it is back.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import uuid
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.contracts import ContactSnapshot, LeadSlaBreached, RepRef
from shared.contracts.router import ManagerRef, SlaAction, TeamRef
from tests.integration.notifier.test_service import (
    Notifier,
    deliveries,
    running_notifier,
    send,
    wait_consumed,
)
from tests.integration.notifier.test_service import (
    assigned as make_assigned,
)
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SLACK_BOT_TOKEN = "xoxb-test-token-1"
SMS_TOKEN = "sms-auth-token-1"
SMTP_PASSWORD = "smtp-password-1"
SMS_PATH = "/sms/2010-04-01/Accounts/AC123/Messages.json"


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ChannelReceiver:
    """Slack, Teams and the SMS API on one local server; ``script[path]`` statuses answer
    first, then success (Slack's Web API answers ``{"ok": true}``, or ``slack_error``)."""

    script: dict[str, list[int]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    slack_error: str | None = None
    port: int = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        self.hits.append(Hit(path, dict(request.headers), body))
        queue = self.script.get(path) or []
        code = queue.pop(0) if queue else (201 if path == SMS_PATH else 200)
        if code >= 300:
            return Response(b"down for maintenance", status_code=code)
        if path.startswith("/slack-api/"):
            answer = {"ok": False, "error": self.slack_error} if self.slack_error else {"ok": True}
            return Response(orjson.dumps(answer), media_type="application/json")
        return Response(b"ok" if path != SMS_PATH else b'{"sid": "SM1"}', status_code=code)

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class Mailbox:
    """An aiosmtpd handler: keeps each message; answers 451 to the first ``refuse`` DATAs."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.refuse = 0
        self.logins: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 2.0.0 queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for e, m in self.messages if address in e.rcpt_tos]


@pytest.fixture
async def receiver() -> AsyncIterator[ChannelReceiver]:
    rec = ChannelReceiver()
    app = Starlette(routes=[Route("/{path:path}", rec.handle, methods=["POST"])])
    async with serving(app) as server:
        rec.port = server.port
        yield rec


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    loop = asyncio.get_running_loop()

    def session() -> SMTP:
        with warnings.catch_warnings():
            # aiosmtpd warns that AUTH without TLS is unsafe: this server has no certificate,
            # and the login is what is tested here.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return SMTP(
                box,
                hostname="mail.test",
                authenticator=box.authenticate,
                auth_required=True,
                auth_require_tls=False,
            )

    server = await loop.create_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield box, port
    finally:
        server.close()
        await server.wait_closed()


def quiet_now() -> dict[str, str]:
    """Quiet hours from an hour ago to an hour from now, read when the test's notifier is
    made (not when the module is imported: a long run reaches this test much later)."""
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }


def channel_config(rec: ChannelReceiver, smtp_port: int, retry_s: float = 0.05) -> dict[str, Any]:
    breach = ["lead.sla_breached"]
    return {
        "routing": {  # what the notifier reads of the router's section: reps and teams
            "reps": [
                {
                    "id": "ana",
                    "name": "Ana Silva",
                    "email": "ana@example.com",
                    "timezone": "Europe/London",
                },
            ],
            "teams": [
                {
                    "name": "uk",
                    "members": ["ana"],
                    "manager": {"name": "Zoe Grant", "email": "zoe@example.com"},
                },
            ],
        },
        "notifier": {
            "retry": {"base_s": retry_s, "max_s": retry_s * 4},
            "allow_private_targets": [f"127.0.0.1:{rec.port}"],
            "dashboard_url": "http://localhost:8006/leads/{lead_id}",
            "slack_api_url": rec.url("/slack-api"),
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "none",
                "username": "leadflow",
                "password": "${LEADFLOW_TEST_SMTP_PASSWORD}",
                "from": "Leadflow Alerts <alerts@leadflow.test>",
            },
            "sms": {
                "url": rec.url("/sms/2010-04-01/Accounts/{account_sid}/Messages.json"),
                "account_sid": "AC123",
                "auth_token": "${LEADFLOW_TEST_SMS_TOKEN}",
                "from": "+15005550006",
            },
            "people": {
                "ana": {"slack_user_id": "U0ANA", "phone": "+447700900123"},
                # Ben is in his quiet hours whenever the test runs (an hour either side).
                "ben": {"phone": "+447700900456", "timezone": "UTC", "quiet_hours": quiet_now()},
            },
            "templates": {
                "lead.sla_breached": {"sms": {"text": "{{ lead_name }}: call {{ lead.phone }}"}}
            },
            "subscriptions": [
                {
                    "name": "slack-room",
                    "channel": "slack",
                    "events": breach,
                    "to": ["rep"],
                    "slack": {"webhook_url": "${LEADFLOW_TEST_SLACK_HOOK}"},
                    "max_attempts": 4,
                },
                {
                    "name": "slack-dm",
                    "channel": "slack",
                    "events": breach,
                    "to": ["rep"],
                    "slack": {"bot_token": "${LEADFLOW_TEST_SLACK_BOT}"},
                    "max_attempts": 4,
                },
                {
                    "name": "teams",
                    "channel": "teams",
                    "events": breach,
                    "teams": {"url": "${LEADFLOW_TEST_TEAMS_HOOK}"},
                    "max_attempts": 4,
                },
                {
                    "name": "mail",
                    "channel": "email",
                    "events": breach,
                    "to": ["rep", "manager"],
                    "max_attempts": 4,
                    "timeout_s": 5,
                },
                {
                    "name": "sms",
                    "channel": "sms",
                    "events": breach,
                    "to": ["rep"],
                    "max_attempts": 4,
                },
                {
                    "name": "assigned-sms",
                    "channel": "sms",
                    "events": ["lead.assigned"],
                    "to": ["rep"],
                },
            ],
        },
    }


@pytest.fixture
async def notifier(
    database_url: str,
    bus: Bus,
    receiver: ChannelReceiver,
    mailbox: tuple[Mailbox, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Notifier]:
    # Every secret by reference: the webhook URLs of Slack and Teams are secrets too.
    monkeypatch.setenv("LEADFLOW_TEST_SLACK_HOOK", receiver.url("/slack-hook/T0/B0/secret"))
    monkeypatch.setenv("LEADFLOW_TEST_TEAMS_HOOK", receiver.url("/teams-hook/secret"))
    monkeypatch.setenv("LEADFLOW_TEST_SLACK_BOT", SLACK_BOT_TOKEN)
    monkeypatch.setenv("LEADFLOW_TEST_SMS_TOKEN", SMS_TOKEN)
    monkeypatch.setenv("LEADFLOW_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    config = channel_config(receiver, mailbox[1])
    async with running_notifier(database_url, bus, config, tmp_path) as n:
        yield n


NAMES = {"ana": "Ana Silva", "ben": "Ben Bryant"}


def breached(rep: str = "ana") -> LeadSlaBreached:
    now = datetime.now(UTC)
    return LeadSlaBreached(
        lead_id=str(uuid.uuid4()),
        assignment_id=str(uuid.uuid4()),
        queue="fashion-uk",
        rep=RepRef(rep_id=rep, name=NAMES[rep], email=f"{rep}@example.com"),
        lead=ContactSnapshot(
            first_name="Tom", last_name="Baker", email="tom@example.co.uk", phone="+442071838750"
        ),
        bucket="hot",
        attempt=1,
        max_attempts=2,
        assigned_at=now - timedelta(hours=1),
        due_at=now - timedelta(minutes=1),
        team=TeamRef(name="uk", manager=ManagerRef(name="Zoe Grant", email="zoe@example.com")),
        breached_at=now,
        business_hours=False,
        action=SlaAction.REASSIGNED,
        reason="Ana did not call within 60 minutes",
    )


PATHS = ("/slack-hook/T0/B0/secret", "/slack-api/chat.postMessage", "/teams-hook/secret", SMS_PATH)


async def all_delivered(n: Notifier, lead_id: str, count: int) -> list[dict[str, Any]]:
    async def done() -> bool:
        found = await deliveries(n, lead_id=lead_id)
        return len(found) == count and all(d["status"] == "delivered" for d in found)

    await eventually(done, what=f"{count} deliveries of {lead_id} delivered", timeout=20)
    return await deliveries(n, lead_id=lead_id)


async def test_a_breach_reaches_slack_teams_email_and_sms_once_each(
    notifier: Notifier, receiver: ChannelReceiver, mailbox: tuple[Mailbox, int]
) -> None:
    box = mailbox[0]
    event = breached()
    event_id = await send(notifier, event)
    rows = await all_delivered(notifier, event.lead_id, 6)
    assert sorted((d["subscription"], d["channel"], d["recipient"]) for d in rows) == [
        ("mail", "email", "person:ana"),
        ("mail", "email", "person:manager:uk"),
        ("slack-dm", "slack", "person:ana"),
        ("slack-room", "slack", "channel"),
        ("sms", "sms", "person:ana"),
        ("teams", "teams", "channel"),
    ]
    assert "secret" not in orjson.dumps(rows).decode()  # the secret URLs are never stored

    # Delivered again (a rebalance, a replay): nobody gets a second message.
    await send(notifier, event, event_id=event_id)
    await wait_consumed(notifier, event_id)
    await asyncio.sleep(0.5)
    assert [len(receiver.at(p)) for p in PATHS] == [1, 1, 1, 1]
    assert len(box.messages) == 2

    (room,) = receiver.at(PATHS[0])
    message = orjson.loads(room.body)
    assert message["blocks"][0]["text"]["text"] == "SLA breached: Tom Baker"
    assert message["blocks"][1]["text"]["text"].startswith("<@U0ANA> Ana Silva missed")
    link = f"http://localhost:8006/leads/{event.lead_id}"
    assert message["blocks"][-1]["elements"][0]["url"] == link
    assert message["blocks"][3]["text"]["text"] == "*Why*\n• Ana did not call within 60 minutes"

    (dm,) = receiver.at(PATHS[1])
    assert dm.headers["authorization"] == f"Bearer {SLACK_BOT_TOKEN}"
    assert orjson.loads(dm.body)["channel"] == "U0ANA"

    (teams,) = receiver.at(PATHS[2])
    card = orjson.loads(teams.body)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "SLA breached: Tom Baker"

    (sms,) = receiver.at(SMS_PATH)
    assert sms.headers["content-type"] == "application/x-www-form-urlencoded"
    basic = base64.b64encode(f"AC123:{SMS_TOKEN}".encode()).decode()
    assert sms.headers["authorization"] == f"Basic {basic}"
    form = {k: v[0] for k, v in parse_qs(sms.body.decode()).items()}
    assert form["To"] == "+447700900123" and form["From"] == "+15005550006"
    assert form["Body"] == f"SLA breached: Tom Baker\nTom Baker: call +442071838750\n{link}"

    (to_ana,) = box.to("ana@example.com")
    (to_zoe,) = box.to("zoe@example.com")
    assert box.logins == ["leadflow", "leadflow"]
    for mail, name in ((to_ana, "Ana Silva"), (to_zoe, "Zoe Grant")):
        assert mail.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
        assert mail["To"].addresses[0].display_name == name
        assert mail["Subject"] == "SLA breached: Tom Baker"
        assert mail["From"] == "Leadflow Alerts <alerts@leadflow.test>"
    assert to_ana["Message-ID"] != to_zoe["Message-ID"]


async def test_a_channel_outage_is_retried_and_each_message_arrives_once(
    notifier: Notifier, receiver: ChannelReceiver, mailbox: tuple[Mailbox, int]
) -> None:
    box = mailbox[0]
    for path in PATHS:
        receiver.script[path] = [503, 503]
    box.refuse = 2  # the first two DATA commands get 451 (greylisting, a busy server)
    event = breached()
    await send(notifier, event)
    rows = await all_delivered(notifier, event.lead_id, 6)
    assert [len(receiver.at(p)) for p in PATHS] == [3, 3, 3, 3]
    assert len(box.messages) == 2
    assert sorted(len(box.to(a)) for a in ("ana@example.com", "zoe@example.com")) == [1, 1]
    by_sub = {(d["subscription"], d["recipient"]): d for d in rows}
    room = by_sub[("slack-room", "channel")]
    detail = (await notifier.http.get(f"/v1/deliveries/{room['delivery_id']}")).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [503, 503, 200]
    mail_attempts = sum(d["attempts"] for d in rows if d["channel"] == "email")
    assert mail_attempts == 4  # two refused with 451, then each accepted once
    assert {d["last_status_code"] for d in rows if d["channel"] == "email"} == {250}


async def test_a_slack_api_refusal_fails_the_delivery_at_once(
    notifier: Notifier, receiver: ChannelReceiver
) -> None:
    receiver.slack_error = "channel_not_found"
    event = breached()
    await send(notifier, event)

    async def dm_failed() -> bool:
        found = await deliveries(notifier, lead_id=event.lead_id, status="failed")
        return [d["subscription"] for d in found] == ["slack-dm"]

    await eventually(dm_failed, what="the Slack DM to fail")
    (failed,) = await deliveries(notifier, lead_id=event.lead_id, status="failed")
    assert failed["attempts"] == 1
    assert failed["last_error"] == "rejected by the channel; last error: slack: channel_not_found"
    assert len(receiver.at("/slack-api/chat.postMessage")) == 1


async def test_the_subscriptions_route_shows_channels_but_no_secret(notifier: Notifier) -> None:
    resp = await notifier.http.get("/v1/subscriptions")
    assert resp.status_code == 200
    subs = {s["name"]: s for s in resp.json()["subscriptions"]}
    assert (subs["slack-room"]["channel"], subs["slack-room"]["url"]) == (
        "slack",
        "slack:incoming-webhook",
    )
    assert subs["teams"]["url"] == "teams:webhook"
    assert subs["mail"]["to"] == ["rep", "manager"]
    assert "secret" not in resp.text and SLACK_BOT_TOKEN not in resp.text


async def test_quiet_hours_hold_an_alert_but_not_an_urgent_one(
    notifier: Notifier, receiver: ChannelReceiver
) -> None:
    assigned = make_assigned().model_copy(update={"rep": RepRef(rep_id="ben", name="Ben")})
    event_id = await send(notifier, assigned)
    await wait_consumed(notifier, event_id)
    (held,) = await deliveries(notifier, lead_id=assigned.lead_id)
    assert (held["subscription"], held["status"], held["attempts"]) == (
        "assigned-sms",
        "pending",
        0,
    )
    due = datetime.fromisoformat(held["next_attempt_at"])
    # held to the end of the quiet hours: the whole minute an hour after the notifier started
    assert (due.second, due.microsecond) == (0, 0)
    assert timedelta(minutes=45) < due - datetime.now(UTC) <= timedelta(hours=1)

    breach = breached(rep="ben")  # lead.sla_breached is urgent: sent in quiet hours too
    await send(notifier, breach)

    async def texted() -> bool:
        return any(b"%2B447700900456" in h.body for h in receiver.at(SMS_PATH))

    await eventually(texted, what="the urgent SMS to Ben")
    await asyncio.sleep(0.3)
    to_ben = [h for h in receiver.at(SMS_PATH) if b"%2B447700900456" in h.body]
    assert len(to_ben) == 1  # and the held one was not sent
