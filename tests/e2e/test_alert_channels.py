"""Issue 16's end-to-end check: the example config with its Slack, Teams, e-mail and SMS
subscriptions enabled and pointed at local receivers — a Slack incoming webhook and Web API,
a Teams webhook and a Twilio-style SMS API on one local HTTP server, and a real SMTP server
(aiosmtpd) — and the six services as real processes on a driven clock
(``LEADFLOW_CLOCK_FILE``), so the SLA breaches and escalates without anyone waiting.

A warm lead (fit alone makes no lead hot in the example) is assigned, misses its
first-contact deadline (reassigned), misses it again (escalated to the team's manager): the
rep's Slack message, the manager's e-mail, the Teams card and the SMS each arrive once with
the right facts. The escalation happens while every channel is down (HTTP 503, SMTP 451):
once they are back, each message arrives once.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
import yaml
from aiosmtpd.smtp import SMTP
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadflow.supervisor import Stack
from shared.clock import write_clock_file
from shared.config import DEFAULT_CONFIG_FILE
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_SLA_BREACHED
from tests.conftest import create_database
from tests.integration.notifier.test_channels import ChannelReceiver, Hit, Mailbox
from tests.support.auth import admin_client
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.stack import running_stack
from tests.support.waits import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

# A Wednesday, 10:00 in London (GMT): the fashion-uk reps are at work, nobody's quiet hours.
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
FIRST_CONTACT = timedelta(minutes=30)  # fashion-uk's SLA for a warm lead (working time)
SLACK_HOOK = "/slack-hook/T0/B0/secret"
SLACK_API = "/slack-api/chat.postMessage"
TEAMS = "/teams-hook/secret"
SMS = "/sms/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
LEAD = {
    "email": "ana.silva@acme-alerts.example",
    "first_name": "Ana",
    "last_name": "Silva",
    "company": "Acme Ltd",
    "country": "GB",
    "phone": "+44 7400 123456",
    "source": "web",
    "interest": "shoes",
    "industry": "retail",
    "title": "VP Sales",
    "company_size": 250,
}
# From the example config: routing.reps / notifier.people.
SLACK_IDS = {"ana": "U0ANA00001", "ben": "U0BEN00001", "cara": "U0CARA0001", "zoe": "U0MANAGER1"}
PHONES = {"ana": "+447700900101", "ben": "+447700900102", "cara": "+447700900104",
          "zoe": "+447700900105"}  # fmt: skip
PEOPLE_CHANNELS = ("slack", "teams", "email", "sms")


@dataclass
class Receivers(ChannelReceiver):
    """Slack, Teams and the SMS API (:class:`ChannelReceiver`), also keeping the requests it
    accepted (2xx) apart: an outage's refused attempts are not messages anyone got."""

    accepted: list[Hit] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        response = await super().handle(request)
        if response.status_code < 300:
            self.accepted.append(self.hits[-1])
        return response

    def at(self, path: str) -> list[Hit]:
        return [h for h in self.accepted if h.path == path]


@pytest.fixture
async def receiver() -> AsyncIterator[Receivers]:
    rec = Receivers()
    app = Starlette(routes=[Route("/{path:path}", rec.handle, methods=["POST"])])
    async with serving(app) as server:
        rec.port = server.port
        yield rec


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    """A real SMTP server (no auth: the example config's local relay)."""
    box = Mailbox()

    def session() -> SMTP:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SMTP(box, hostname="mail.test")

    server = await asyncio.get_running_loop().create_server(session, "127.0.0.1", 0)
    try:
        yield box, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def alerts_config(tmp_path: Path, rec: ChannelReceiver, smtp_port: int) -> Path:
    """The example config, its people channels enabled and pointed at the local receivers
    (which the SSRF guard is told to let through)."""
    config = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    notifier = config["notifier"]
    notifier["allow_private_targets"].append(f"127.0.0.1:{rec.port}")
    notifier["slack_api_url"] = rec.url("/slack-api")
    notifier["smtp"]["port"] = smtp_port
    notifier["sms"]["url"] = rec.url("/sms/2010-04-01/Accounts/{account_sid}/Messages.json")
    for sub in notifier["subscriptions"]:
        if sub.get("channel") in PEOPLE_CHANNELS:
            sub["enabled"] = True
    path = tmp_path / "leadflow.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def secrets(rec: ChannelReceiver, clock_file: Path) -> dict[str, str]:
    return {
        "LEADFLOW_CLOCK_FILE": str(clock_file),
        "LEADFLOW_SLACK_WEBHOOK_URL": rec.url(SLACK_HOOK),
        "LEADFLOW_SLACK_BOT_TOKEN": "xoxb-e2e-token",
        "LEADFLOW_TEAMS_WEBHOOK_URL": rec.url(TEAMS),
        "LEADFLOW_SMS_AUTH_TOKEN": "sms-e2e-token",
    }


def dms(rec: ChannelReceiver, rep: str, title_start: str) -> list[dict[str, Any]]:
    """The Slack DMs (bot token) to ``rep`` whose header starts with ``title_start``."""
    found = []
    for hit in rec.at(SLACK_API):
        message = orjson.loads(hit.body)
        header = message["blocks"][0]["text"]["text"]
        if message["channel"] == SLACK_IDS[rep] and header.startswith(title_start):
            found.append(message)
    return found


def texts(rec: ChannelReceiver, rep: str) -> list[dict[str, str]]:
    forms = [{k: v[0] for k, v in parse_qs(h.body.decode()).items()} for h in rec.at(SMS)]
    return [f for f in forms if f["To"] == PHONES[rep]]


def cards(rec: ChannelReceiver) -> list[dict[str, Any]]:
    return [orjson.loads(h.body)["attachments"][0]["content"] for h in rec.at(TEAMS)]


@asynccontextmanager
async def alerts_stack(
    pg_server_url: str, bus: Bus, tmp_path: Path, rec: ChannelReceiver, smtp_port: int,
    clock_file: Path,
) -> AsyncIterator[Stack]:  # fmt: skip
    """The six services on a database of their own, the example config's people channels
    pointed at the local receivers, their clock at ``T0`` in ``clock_file``."""
    write_clock_file(clock_file, T0)
    config = alerts_config(tmp_path, rec, smtp_port)
    database_url = await create_database(pg_server_url)
    env = secrets(rec, clock_file)
    async with running_stack(database_url, bus, tmp_path / "home", config, extra_env=env) as stack:
        yield stack


async def arrived(what: str, check: Callable[[], bool], rec: ChannelReceiver, box: Mailbox) -> None:
    """Wait for ``check``; on a timeout, say what did arrive."""

    async def done() -> bool:
        return check()

    try:
        await eventually(done, timeout=30, what=what, every=0.1)
    except AssertionError as exc:
        got = {path: [h.body[:160] for h in rec.at(path)] for path in (SLACK_API, SMS, TEAMS)}
        mails = [(m["To"], m["Subject"]) for _, m in box.messages]
        raise AssertionError(f"{exc}; got {got}, e-mails {mails}") from None


async def settled(notifier: httpx.AsyncClient, lead_id: str) -> list[dict[str, Any]]:
    """Wait until every people-channel delivery of the lead is delivered; return them."""

    async def rows() -> list[dict[str, Any]]:
        resp = await notifier.get("/v1/deliveries", params={"lead_id": lead_id, "limit": 500})
        assert resp.status_code == 200, resp.text
        return [d for d in resp.json()["deliveries"] if d["channel"] in PEOPLE_CHANNELS]

    async def done() -> bool:
        found = await rows()
        return bool(found) and all(d["status"] == "delivered" for d in found)

    await eventually(done, timeout=30, what="every alert of the lead delivered", every=0.2)
    return await rows()


async def test_an_escalated_lead_reaches_slack_email_teams_and_sms_once_each(
    pg_server_url: str, bus: Bus, tmp_path: Path, receiver: Receivers,
    mailbox: tuple[Mailbox, int],
) -> None:  # fmt: skip
    box, smtp_port = mailbox
    clock_file = tmp_path / "clock"
    async with (
        alerts_stack(pg_server_url, bus, tmp_path, receiver, smtp_port, clock_file) as stack,
        admin_client(base_url=stack.urls()["capture"]) as capture,
        admin_client(base_url=stack.urls()["notifier"]) as notifier,
        bus.reader(LEAD_ASSIGNED, LEAD_SLA_BREACHED) as out,
    ):
        posted = await capture.post("/v1/leads", json=LEAD)
        assert posted.status_code == 202, posted.text
        lead_id = posted.json()["lead_id"]
        link = f"http://localhost:8006/leads/{lead_id}"

        def events(kind: str) -> list[dict[str, Any]]:
            return [r["data"] for r in out.records if r["type"] == f"io.leadflow.lead.{kind}.v1"]

        # 1. Assigned: the rep's Slack DM and SMS.
        await out.wait_for(lambda r: len(events("assigned")) == 1, timeout=30, what="assigned")
        (first,) = events("assigned")
        rep1 = first["rep"]["rep_id"]
        assert (first["bucket"], first["queue"]) == ("warm", "fashion-uk")
        name1 = first["rep"]["name"]
        await arrived("the DM and the SMS", lambda: bool(texts(receiver, rep1)), receiver, box)
        await settled(notifier, lead_id)
        (dm,) = dms(receiver, rep1, f"New lead for {name1}: Ana Silva (Acme Ltd)")
        assert dm["blocks"][-1]["elements"][0]["url"] == link
        (sms,) = texts(receiver, rep1)
        assert sms["Body"].startswith(f"New lead for {name1}: Ana Silva (Acme Ltd)\n")
        assert "Ana Silva (warm) is yours: +447400123456" in sms["Body"]
        assert sms["Body"].endswith(link)

        # 2. The deadline passes: breached, reassigned to another rep.
        write_clock_file(clock_file, T0 + FIRST_CONTACT + timedelta(minutes=1))
        await out.wait_for(
            lambda r: len(events("assigned")) == 2 and len(events("sla_breached")) == 1,
            timeout=30,
            what="the first breach and the reassignment",
        )
        (breach1,) = events("sla_breached")
        second = events("assigned")[1]
        rep2, name2 = second["rep"]["rep_id"], second["rep"]["name"]
        assert (breach1["rep"]["rep_id"], breach1["action"]) == (rep1, "reassigned")
        assert second["reassigned"] is True and rep2 != rep1
        await arrived(
            "the breach's card and e-mails, the reassignment's DMs and SMS",
            lambda: (
                bool(cards(receiver))
                and len(box.messages) == 2
                and bool(dms(receiver, rep1, f"Reassigned to {name2}"))
                and bool(dms(receiver, rep2, f"Reassigned to {name2}"))
                and bool(texts(receiver, rep2))
            ),
            receiver,
            box,
        )
        await settled(notifier, lead_id)
        (card1,) = cards(receiver)
        assert card1["body"][0]["text"] == "SLA breached: Ana Silva"
        facts = {
            f["title"]: f["value"]
            for block in card1["body"]
            if block["type"] == "FactSet"
            for f in block["facts"]
        }
        assert (facts["Company"], facts["Rep"], facts["Queue"]) == ("Acme Ltd", name1, "fashion-uk")
        (to_manager,) = box.to("zoe@example.com")
        assert to_manager["Subject"] == "SLA breached: Ana Silva"
        assert to_manager["To"].addresses[0].display_name == "Zoe Zimmermann"
        assert [p.get_content_type() for p in to_manager.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        plain = to_manager.get_body(("plain",))
        assert plain is not None and f"{name1} missed the first-contact deadline" in str(
            plain.get_content()
        )
        assert len(box.to(f"{rep1}@example.com")) == 1  # the rep, too (to: [manager, rep])
        (dm2,) = dms(receiver, rep2, f"Reassigned to {name2}: Ana Silva")
        assert len(dms(receiver, rep1, f"Reassigned to {name2}")) == 1  # previous_rep
        assert dm2["channel"] == SLACK_IDS[rep2]
        assert len(texts(receiver, rep2)) == 1

        # 3. Missed again while every channel is down: escalated to the manager; each
        #    message arrives once when the channels are back.
        for path in (SLACK_HOOK, SLACK_API, TEAMS, SMS):
            receiver.script[path] = [503, 503]
        box.refuse = 2
        write_clock_file(clock_file, T0 + 2 * (FIRST_CONTACT + timedelta(minutes=1)))
        await out.wait_for(
            lambda r: len(events("assigned")) == 3 and len(events("sla_breached")) == 2,
            timeout=30,
            what="the second breach and the escalation",
        )
        breach2, third = events("sla_breached")[1], events("assigned")[2]
        assert (breach2["rep"]["rep_id"], third["rep"]["rep_id"]) == (rep2, "zoe")
        assert third["escalated"] is True
        await arrived(
            "the escalation's card, e-mails, DMs and SMS",
            lambda: (
                len(cards(receiver)) == 2
                and len(box.messages) == 4
                and bool(dms(receiver, "zoe", "Escalated"))
                and bool(texts(receiver, "zoe"))
            ),
            receiver,
            box,
        )
        rows = await settled(notifier, lead_id)
        await asyncio.sleep(1.0)  # a double would show by now

        assert len(cards(receiver)) == 2
        assert [c["body"][0]["text"] for c in cards(receiver)] == ["SLA breached: Ana Silva"] * 2
        assert len(box.to("zoe@example.com")) == 2
        assert len({m["Message-ID"] for m in box.to("zoe@example.com")}) == 2
        assert len(box.to(f"{rep2}@example.com")) == 1
        assert len(dms(receiver, "zoe", "Escalated: Ana Silva (Acme Ltd)")) == 1
        assert len(texts(receiver, "zoe")) == 1
        assert len(texts(receiver, rep1)) == 1 and len(texts(receiver, rep2)) == 1

        escalation = [r for r in rows if r["created_at"] == max(x["created_at"] for x in rows)]
        teams = [r for r in escalation if r["subscription"] == "sla-teams"]
        assert len(teams) == 1
        detail = (await notifier.get(f"/v1/deliveries/{teams[0]['delivery_id']}")).json()
        assert [a["status_code"] for a in detail["attempt_log"]] == [503, 503, 200]
        mails = [r for r in escalation if r["channel"] == "email"]
        assert sum(r["attempts"] for r in mails) == 4  # two refused with 451, then 250 each
        assert {r["status"] for r in rows} == {"delivered"}


async def test_alerts_reach_reps_as_the_routers_admin_api_changed_them(
    pg_server_url: str, bus: Bus, tmp_path: Path, receiver: Receivers,
    mailbox: tuple[Mailbox, int],
) -> None:  # fmt: skip
    """The notifier's copy of the config file is from its start-up; a rep's e-mail changed
    through the router's admin API while it runs is what the alerts use (the router names
    reps, and the owner's team and manager, as its config is now)."""
    box, smtp_port = mailbox
    clock_file = tmp_path / "clock"
    async with (
        alerts_stack(pg_server_url, bus, tmp_path, receiver, smtp_port, clock_file) as stack,
        admin_client(base_url=stack.urls()["capture"]) as capture,
        admin_client(base_url=stack.urls()["router"]) as router,
        bus.reader(LEAD_ASSIGNED, LEAD_SLA_BREACHED) as out,
    ):
        routing = (await router.get("/v1/admin/config")).json()["config"]
        uk = {"ana", "ben", "cara", "yara"}  # fashion-uk's reps, team uk
        for rep in routing["reps"]:
            if rep["id"] in uk:
                changed = rep | {"email": f"{rep['id']}.new@example.com"}
                answer = await router.put(f"/v1/admin/reps/{rep['id']}", json=changed)
                assert answer.status_code == 200, answer.text

        posted = await capture.post("/v1/leads", json=LEAD)
        assert posted.status_code == 202, posted.text

        def events(kind: str) -> list[dict[str, Any]]:
            return [r["data"] for r in out.records if r["type"] == f"io.leadflow.lead.{kind}.v1"]

        await out.wait_for(lambda r: len(events("assigned")) == 1, timeout=30, what="assigned")
        (first,) = events("assigned")
        rep1 = first["rep"]["rep_id"]
        assert rep1 in uk
        assert first["rep"]["email"] == f"{rep1}.new@example.com"
        assert first["rep"]["timezone"] == "Europe/London"
        assert first["team"]["name"] == "uk"
        assert first["team"]["manager"]["email"] == "zoe@example.com"

        # The deadline passes: the manager-email subscription mails the manager and the rep.
        write_clock_file(clock_file, T0 + FIRST_CONTACT + timedelta(minutes=1))
        await arrived("the breach's e-mails", lambda: len(box.messages) == 2, receiver, box)
        await asyncio.sleep(1.0)  # a stray mail to the old address would show by now
        assert len(box.to(f"{rep1}.new@example.com")) == 1
        assert box.to(f"{rep1}@example.com") == []
        assert len(box.to("zoe@example.com")) == 1
