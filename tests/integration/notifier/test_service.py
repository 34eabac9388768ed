"""The notifier as it runs: real PostgreSQL, a real broker, a real HTTP receiver.

The receiver is a small Starlette app under uvicorn on 127.0.0.1 and an ephemeral port,
in this test process. It records every request and answers from a script of status codes
(then 200), so retries and give-ups are exercised over real HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.notifier.config import Settings
from services.notifier.deps import Deps
from services.notifier.main import create_app
from shared.contracts import (
    CandidateTrace,
    ContactSnapshot,
    LeadAssigned,
    LeadBucketChanged,
    LeadCaptured,
    LeadFollowupClosed,
    LeadFollowupDue,
    LeadProfile,
    LeadQualified,
    LeadRoutedToNurture,
    LeadStageChanged,
    LifecycleStage,
    NurtureStepDue,
    RepRef,
    RoutingTrace,
)
from shared.contracts.envelope import Event
from shared.contracts.topics import NOTIFICATION_DELIVERED
from shared.db.engine import make_engine
from shared.service import Runtime
from tests.support.app import running_app
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.waits import eventually

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.kafka,
]

SECRET = "whsec_" + base64.b64encode(b"leadflow-notifier-test-secret-32b").decode()
PAUSED_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
EMAIL = "tom.baker@example.co.uk"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver: records requests; answers ``script`` statuses first, then 200."""

    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.requests.append(Received(request.url.path, dict(request.headers), body))
        code = self.script.pop(0) if self.script else 200
        # A redirect points at another hook on this receiver: following it would show.
        headers = {"location": self.url("redirected")} if 300 <= code <= 399 else None
        return Response(
            b"ok" if code < 300 else b"receiver says no", status_code=code, headers=headers
        )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    async with serving(
        Starlette(routes=[Route("/hooks/{name}", rec.hook, methods=["POST"])])
    ) as server:
        rec.port = server.port
        yield rec


@dataclass
class Notifier:
    http: httpx.AsyncClient
    bus: Bus
    db: AsyncEngine  # sees the notifier's schema
    runtime: Runtime[Deps]


def notifier_config(receiver: Receiver) -> dict[str, Any]:
    return {
        "notifier": {
            "retry": {"base_s": 0.05, "max_s": 0.2},
            # The receiver is on this machine: the SSRF guard must be told to let it through.
            "allow_private_targets": [f"127.0.0.1:{receiver.port}"],
            "subscriptions": [
                {
                    "name": "crm",
                    "url": receiver.url("crm"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.assigned"],
                    "timeout_s": 2,
                    "max_attempts": 4,
                },
                {
                    "name": "hot-leads",
                    "url": receiver.url("hot-leads"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.qualified"],
                    "when": {"field": "bucket", "eq": "hot"},
                },
                {
                    "name": "call-reminders",
                    "url": receiver.url("call-reminders"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.followup_due"],
                    "when": {"field": "mode", "eq": "call"},
                },
                {
                    "name": "turned-hot",
                    "url": receiver.url("turned-hot"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.bucket_changed"],
                    "when": {"field": "to_bucket", "eq": "hot"},
                },
                {
                    "name": "missed-touches",
                    "url": receiver.url("missed-touches"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.followup_closed"],
                    "when": {"field": "outcome", "eq": "missed"},
                },
                {
                    "name": "new-leads",
                    "url": receiver.url("new-leads"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.captured"],
                },
                {
                    "name": "meetings",
                    "url": receiver.url("meetings"),
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.stage_changed"],
                    "when": {"field": "to_stage", "eq": "opportunity"},
                },
                {
                    "name": "paused",
                    "url": receiver.url("paused"),
                    "secret": "${LEADFLOW_TEST_PAUSED_SECRET}",
                    "events": ["lead.assigned", "nurture.step_due"],
                    "enabled": False,
                },
            ],
        }
    }


@pytest.fixture
async def notifier(
    database_url: str,
    bus: Bus,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Notifier]:
    # Secrets the two ways a deployment gives them: a variable, and a file a variable names.
    monkeypatch.setenv("LEADFLOW_TEST_CRM_SECRET", SECRET)
    (tmp_path / "paused-secret").write_text(PAUSED_SECRET + "\n")
    monkeypatch.setenv("LEADFLOW_TEST_PAUSED_SECRET_FILE", str(tmp_path / "paused-secret"))
    async with running_notifier(database_url, bus, notifier_config(receiver), tmp_path) as n:
        yield n


def notifier_settings(
    database_url: str, bus: Bus, config: dict[str, Any], tmp_path: Path
) -> Settings:
    """The notifier's settings for a test, with ``config`` written as its YAML file."""
    config_file = tmp_path / "leadflow.yaml"
    config_file.write_text(yaml.safe_dump(config))
    return Settings(
        database_url=database_url,
        **bus.settings,
        config_file=config_file,
        kafka_partitions=2,
        delivery_tick_s=0.02,
        outbox_relay_interval_s=0.2,
    )


@asynccontextmanager
async def running_notifier(
    database_url: str, bus: Bus, config: dict[str, Any], tmp_path: Path
) -> AsyncIterator[Notifier]:
    """The notifier app, started on ``config``, for the block."""
    settings = notifier_settings(database_url, bus, config, tmp_path)
    app = create_app(settings)
    async with running_app(app, ready_timeout=20) as http:
        db = make_engine(settings.asyncpg_url, "notifier", pool_size=1)
        try:
            yield Notifier(http, bus, db, app.state.runtime)
        finally:
            await db.dispose()


def assigned(lead_id: str | None = None) -> LeadAssigned:
    now = datetime.now(UTC)
    return LeadAssigned(
        lead_id=lead_id or str(uuid.uuid4()),
        assignment_id=str(uuid.uuid4()),
        queue="fashion-uk",
        rep=RepRef(rep_id="ana", name="Ana Silva", email="ana@example.com"),
        lead=ContactSnapshot(first_name="Tom", last_name="Baker", email=EMAIL, country="GB"),
        score=82.0,
        bucket="hot",
        source="web",
        captured_at=now,
        assigned_at=now,
        sla_due_at=now + timedelta(hours=1),
        trace=RoutingTrace(
            rule="gb-shoes",
            queue="fashion-uk",
            strategy="round_robin",
            candidates=[CandidateTrace(rep_id="ana", eligible=True, reason="next in rotation")],
            explanation="GB + shoes goes to Fashion UK; Ana is next in rotation",
        ),
    )


async def send(n: Notifier, event: Event, event_id: str | None = None) -> str:
    """Produce one CloudEvent to its real topic, as its producing service would."""
    return await n.bus.send(event, source="router", event_id=event_id, correlationid="corr-42")


async def deliveries(n: Notifier, **params: Any) -> list[dict[str, Any]]:
    resp = await n.http.get("/v1/deliveries", params=params)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["deliveries"]
    return items


async def wait_for_status(n: Notifier, lead_id: str, status: str) -> dict[str, Any]:
    async def reached() -> bool:
        return [d["status"] for d in await deliveries(n, lead_id=lead_id)] == [status]

    await eventually(reached, what=f"the delivery for {lead_id} to be {status}", every=0.02)
    (found,) = await deliveries(n, lead_id=lead_id)
    return found


async def sql(n: Notifier, statement: str, **params: Any) -> Any:
    """Run one statement in the notifier's schema; the first column of the first row."""
    async with n.db.begin() as conn:
        result = await conn.execute(text(statement), params)
        return result.scalar() if result.returns_rows else None


async def wait_consumed(n: Notifier, *event_ids: str) -> None:
    async def consumed() -> bool:
        count = await sql(
            n,
            "SELECT count(*) FROM inbox WHERE event_id = ANY(CAST(:ids AS text[]))",
            ids=list(event_ids),
        )
        return bool(count == len(event_ids))

    await eventually(consumed, what="the events to be consumed", every=0.02)


async def test_assigned_lead_is_delivered_once_as_a_signed_cloudevent(
    notifier: Notifier, receiver: Receiver
) -> None:
    event = assigned()
    async with notifier.bus.reader(NOTIFICATION_DELIVERED) as out:
        event_id = await send(notifier, event)
        await out.wait_for(lambda r: len(r) >= 1, what="NotificationDelivered")
    (req,) = receiver.requests
    assert req.path == "/hooks/crm"
    cloudevent = Webhook(SECRET).verify(req.body, req.headers)
    assert cloudevent["id"] == event_id
    assert cloudevent["type"] == "io.leadflow.lead.assigned.v1"
    assert cloudevent["subject"] == event.lead_id
    assert cloudevent["correlationid"] == "corr-42"
    assert cloudevent["data"]["lead"]["email"] == EMAIL
    assert req.headers["content-type"].startswith("application/cloudevents+json")
    (notice,) = out.records
    assert notice["type"] == "io.leadflow.notification.delivered.v1"
    assert notice["causationid"] == event_id
    assert notice["correlationid"] == "corr-42"
    assert notice["data"]["delivery_id"] == req.headers["webhook-id"]
    assert notice["data"]["lead_id"] == event.lead_id
    assert (notice["data"]["subscription"], notice["data"]["attempts"]) == ("crm", 1)
    assert notice["data"]["status_code"] == 200

    delivery = await wait_for_status(notifier, event.lead_id, "delivered")
    detail = (await notifier.http.get(f"/v1/deliveries/{delivery['delivery_id']}")).json()
    assert detail["event"] == cloudevent
    assert [a["status_code"] for a in detail["attempt_log"]] == [200]
    again = await notifier.http.post(f"/v1/deliveries/{delivery['delivery_id']}:retry")
    assert again.status_code == 409
    assert again.json()["error"] == "not_failed"
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1  # the disabled "paused" subscription got nothing


async def test_a_followup_due_call_is_delivered_to_its_reminder_subscription(
    notifier: Notifier, receiver: Receiver
) -> None:
    def due(mode: str) -> LeadFollowupDue:
        return LeadFollowupDue(
            lead_id=str(uuid.uuid4()),
            plan_id=str(uuid.uuid4()),
            bucket="hot",
            rep=RepRef(rep_id="ana", name="Ana Silva"),
            mode=mode,
            step=1,
            of=3,
            due_at=datetime.now(UTC),
            lead=ContactSnapshot(email=EMAIL, phone="+442071838750"),
        )

    call, email = due("call"), due("email")
    ids = [await send(notifier, e) for e in (call, email)]
    await wait_for_status(notifier, call.lead_id, "delivered")
    await wait_consumed(notifier, *ids)
    (req,) = receiver.requests
    assert req.path == "/hooks/call-reminders"
    cloudevent = Webhook(SECRET).verify(req.body, req.headers)
    assert cloudevent["type"] == "io.leadflow.lead.followup_due.v1"
    assert (cloudevent["data"]["step"], cloudevent["data"]["of"]) == (1, 3)
    assert cloudevent["data"]["rep"]["rep_id"] == "ana"
    assert await deliveries(notifier, lead_id=email.lead_id) == []  # not a call


async def test_a_missed_follow_up_touch_reaches_its_manager_alert_and_a_done_one_does_not(
    notifier: Notifier, receiver: Receiver
) -> None:
    def closed(outcome: str) -> LeadFollowupClosed:
        due = datetime.now(UTC) - timedelta(days=1)
        return LeadFollowupClosed(
            lead_id=str(uuid.uuid4()), plan_id=str(uuid.uuid4()), bucket="hot", rep_id="ana",
            rep_name="Ana Silva", outcome=outcome, mode="call", step=2, of=3, due_at=due,
            done_at=due if outcome == "done" else None, closes_at=due + timedelta(hours=20),
            closed_at=due + timedelta(hours=20),
        )  # fmt: skip

    missed, done = closed("missed"), closed("done")
    ids = [await send(notifier, e) for e in (missed, done)]
    await wait_for_status(notifier, missed.lead_id, "delivered")
    await wait_consumed(notifier, *ids)
    (req,) = receiver.requests
    assert req.path == "/hooks/missed-touches"
    cloudevent = Webhook(SECRET).verify(req.body, req.headers)
    assert cloudevent["type"] == "io.leadflow.lead.followup_closed.v1"
    assert (cloudevent["data"]["outcome"], cloudevent["data"]["rep_id"]) == ("missed", "ana")
    assert await deliveries(notifier, lead_id=done.lead_id) == []  # done in time: no alert


async def test_a_lead_turning_hot_is_delivered_and_one_cooling_down_is_not(
    notifier: Notifier, receiver: Receiver
) -> None:
    def moved(from_bucket: str, to_bucket: str) -> LeadBucketChanged:
        return LeadBucketChanged(
            lead_id=str(uuid.uuid4()),
            from_bucket=from_bucket,
            to_bucket=to_bucket,
            score=85 if to_bucket == "hot" else 65,
            contributions=[],
            trigger="activity",
            changed_at=datetime.now(UTC),
        )

    turned_hot, cooled = moved("warm", "hot"), moved("hot", "warm")
    ids = [await send(notifier, e) for e in (turned_hot, cooled)]
    await wait_for_status(notifier, turned_hot.lead_id, "delivered")
    await wait_consumed(notifier, *ids)
    (req,) = receiver.requests
    assert req.path == "/hooks/turned-hot"
    cloudevent = Webhook(SECRET).verify(req.body, req.headers)
    assert cloudevent["type"] == "io.leadflow.lead.bucket_changed.v1"
    assert (cloudevent["data"]["from_bucket"], cloudevent["data"]["to_bucket"]) == ("warm", "hot")
    assert await deliveries(notifier, lead_id=cooled.lead_id) == []  # not to hot


async def test_a_stage_change_to_opportunity_is_delivered_and_others_are_not(
    notifier: Notifier, receiver: Receiver
) -> None:
    def moved(from_stage: str, to_stage: str, cause: str) -> LeadStageChanged:
        return LeadStageChanged(
            lead_id=str(uuid.uuid4()),
            from_stage=LifecycleStage(from_stage),
            to_stage=LifecycleStage(to_stage),
            changed_at=datetime.now(UTC),
            rep_id="ana",
            queue="fashion-uk",
            cause=cause,
        )

    meeting, call = moved("mql", "opportunity", "meeting_booked"), moved("mql", "sql", "called")
    ids = [await send(notifier, e) for e in (meeting, call)]
    await wait_for_status(notifier, meeting.lead_id, "delivered")
    await wait_consumed(notifier, *ids)
    (req,) = receiver.requests
    assert req.path == "/hooks/meetings"
    cloudevent = Webhook(SECRET).verify(req.body, req.headers)
    assert cloudevent["type"] == "io.leadflow.lead.stage_changed.v1"
    data = cloudevent["data"]
    assert (data["from_stage"], data["to_stage"], data["cause"]) == (
        "mql",
        "opportunity",
        "meeting_booked",
    )
    assert await deliveries(notifier, lead_id=call.lead_id) == []  # not to opportunity


async def test_a_captured_lead_is_a_new_lead_alert(notifier: Notifier, receiver: Receiver) -> None:
    lead = LeadCaptured(
        lead_id=str(uuid.uuid4()),
        captured_at=datetime.now(UTC),
        lead=LeadProfile(source="web", email=EMAIL),
    )
    await send(notifier, lead)
    await wait_for_status(notifier, lead.lead_id, "delivered")
    (req,) = receiver.requests
    assert req.path == "/hooks/new-leads"
    cloudevent = Webhook(SECRET).verify(req.body, req.headers)
    assert cloudevent["type"] == "io.leadflow.lead.captured.v1"
    assert cloudevent["data"]["lead"]["email"] == EMAIL


async def test_failing_receiver_is_retried_until_it_accepts(
    notifier: Notifier, receiver: Receiver
) -> None:
    receiver.script = [500, 503]
    event = assigned()
    async with notifier.bus.reader(NOTIFICATION_DELIVERED) as out:
        await send(notifier, event)
        await out.wait_for(lambda r: len(r) >= 1, what="NotificationDelivered")
    assert out.records[0]["data"]["attempts"] == 3
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    for req in receiver.requests:
        Webhook(SECRET).verify(req.body, req.headers)
    delivery = await wait_for_status(notifier, event.lead_id, "delivered")
    assert delivery["attempts"] == 3
    detail = (await notifier.http.get(f"/v1/deliveries/{delivery['delivery_id']}")).json()
    log = detail["attempt_log"]
    assert [(a["attempt"], a["status_code"]) for a in log] == [(1, 500), (2, 503), (3, 200)]
    assert log[0]["error"] == "HTTP 500: receiver says no"
    assert log[2]["error"] is None


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    notifier: Notifier, receiver: Receiver
) -> None:
    receiver.script = [302]
    event = assigned()
    await send(notifier, event)
    delivery = await wait_for_status(notifier, event.lead_id, "delivered")
    assert [r.path for r in receiver.requests] == ["/hooks/crm", "/hooks/crm"]
    detail = (await notifier.http.get(f"/v1/deliveries/{delivery['delivery_id']}")).json()
    assert [(a["attempt"], a["status_code"]) for a in detail["attempt_log"]] == [(1, 302), (2, 200)]


async def test_gone_receiver_fails_after_one_attempt_and_can_be_retried_once_enabled(
    notifier: Notifier, receiver: Receiver
) -> None:
    receiver.script = [410]
    event = assigned()
    await send(notifier, event)
    failed = await wait_for_status(notifier, event.lead_id, "failed")
    assert (failed["attempts"], failed["last_status_code"]) == (1, 410)
    assert failed["last_error"].startswith("receiver gone (410)")
    assert failed["next_attempt_at"] is None
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1

    # The 410 disabled the subscription: retrying waits until an operator enables it.
    refused = await notifier.http.post(f"/v1/deliveries/{failed['delivery_id']}:retry")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "subscription_disabled"
    enabled = await notifier.http.post("/v1/subscriptions/crm:enable")
    assert enabled.json() == {"name": "crm", "receiving": True}
    retried = await notifier.http.post(f"/v1/deliveries/{failed['delivery_id']}:retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending"
    delivered = await wait_for_status(notifier, event.lead_id, "delivered")
    assert delivered["attempts"] == 2
    assert len(receiver.requests) == 2


async def test_delivery_whose_hand_over_was_lost_is_sent_when_its_lease_runs_out(
    notifier: Notifier, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process dies between the consumer's commit and the in-memory hand-over: the row is
    # stored, leased for a first attempt that never happens.
    handoff = notifier.runtime.deps.handoff
    monkeypatch.setattr(handoff, "put", lambda deliveries: None)
    event = assigned()
    event_id = await send(notifier, event)
    await wait_consumed(notifier, event_id)
    (leased,) = await deliveries(notifier, lead_id=event.lead_id)
    assert (leased["status"], leased["attempts"]) == ("pending", 1)
    await asyncio.sleep(0.3)
    assert receiver.requests == []  # leased: the claim query leaves it alone

    await sql(notifier, "UPDATE deliveries SET next_attempt_at = now()")  # the lease runs out
    delivered = await wait_for_status(notifier, event.lead_id, "delivered")
    assert delivered["attempts"] == 2
    (req,) = receiver.requests
    assert req.headers["webhook-id"] == leased["delivery_id"]


async def test_redelivered_event_makes_one_delivery(notifier: Notifier, receiver: Receiver) -> None:
    event = assigned()
    event_id = await send(notifier, event)
    await send(notifier, event, event_id=event_id)
    await wait_for_status(notifier, event.lead_id, "delivered")
    # Even if the inbox forgot the event (e.g. a purge), the (subscription, event) key holds.
    await sql(notifier, "DELETE FROM inbox WHERE event_id = :id", id=event_id)
    await send(notifier, event, event_id=event_id)
    await wait_consumed(notifier, event_id)
    await asyncio.sleep(0.3)
    assert len(await deliveries(notifier, lead_id=event.lead_id)) == 1
    assert len(receiver.requests) == 1


async def test_events_nobody_subscribed_to_make_no_delivery(
    notifier: Notifier, receiver: Receiver
) -> None:
    lead_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    contact = ContactSnapshot(email=EMAIL)
    warm = LeadQualified(
        lead_id=lead_id, score=61, bucket="warm", threshold=60, qualified_at=now
    )  # hot-leads only wants bucket hot
    nurtured = LeadRoutedToNurture(
        lead_id=lead_id,
        bucket="nurture",
        score=12,
        routed_at=now,
        lead=LeadProfile(email=EMAIL, source="web"),
        reason="score below 40",
    )
    step = NurtureStepDue(  # only the disabled subscription lists nurture.step_due
        lead_id=lead_id,
        enrollment_id=str(uuid.uuid4()),
        sequence="fashion-nurture",
        step=1,
        total_steps=4,
        mode="email",
        due_at=now,
        lead=contact,
    )
    ids = [await send(notifier, e) for e in (warm, nurtured, step)]
    await wait_consumed(notifier, *ids)
    await asyncio.sleep(0.3)
    assert await deliveries(notifier) == []
    assert receiver.requests == []


async def test_delivery_of_a_removed_subscription_fails_with_the_reason(
    notifier: Notifier, receiver: Receiver
) -> None:
    delivery_id = str(uuid.uuid4())
    await sql(
        notifier,
        "INSERT INTO deliveries (delivery_id, subscription, event_id, event_type, lead_id, url,"
        " body, next_attempt_at) VALUES (:id, 'old-crm', 'e-1', 'io.leadflow.lead.assigned.v1',"
        " 'lead-1', 'http://127.0.0.1:9/gone', CAST('{}' AS bytea), now())",
        id=uuid.UUID(delivery_id),
    )
    failed = await wait_for_status(notifier, "lead-1", "failed")
    assert failed["last_error"] == "not sent: subscription 'old-crm' is no longer in the config"
    assert receiver.requests == []


async def test_api_refuses_bad_queries_and_never_shows_secrets(notifier: Notifier) -> None:
    too_many = await notifier.http.get("/v1/deliveries", params={"limit": 501})
    assert too_many.status_code == 422
    assert too_many.json()["problems"][0]["field"] == "query:limit"
    bad_status = await notifier.http.get("/v1/deliveries", params={"status": "lost"})
    assert bad_status.status_code == 422
    unknown = await notifier.http.get(f"/v1/deliveries/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_delivery")
    not_an_id = await notifier.http.get("/v1/deliveries/not-a-uuid")
    assert not_an_id.status_code == 404
    wrong_method = await notifier.http.get(f"/v1/deliveries/{uuid.uuid4()}:retry")
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "POST")
    retry_unknown = await notifier.http.post(f"/v1/deliveries/{uuid.uuid4()}:retry")
    assert retry_unknown.status_code == 404

    subs = await notifier.http.get("/v1/subscriptions")
    assert subs.status_code == 200
    listed = {s["name"]: s for s in subs.json()["subscriptions"]}
    assert set(listed) == {
        "crm",
        "hot-leads",
        "call-reminders",
        "turned-hot",
        "new-leads",
        "meetings",
        "missed-touches",
        "paused",
    }
    assert listed["crm"]["events"] == ["lead.assigned"]
    assert listed["paused"]["enabled"] is False
    assert "secret" not in subs.text
    assert SECRET.removeprefix("whsec_") not in subs.text
