"""Operating deliveries on the running notifier (real PostgreSQL, a real broker, a real HTTP
receiver): a 410 Gone disables the subscription, an operator enables it again, lists and
filters deliveries a page at a time, replays failed ones by filter and re-sends a delivered
one; per-subscription health shows in the metrics.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.contracts.topics import NOTIFICATION_SUBSCRIPTION_DISABLED
from tests.integration.notifier.test_service import (
    Notifier,
    assigned,
    deliveries,
    running_notifier,
    send,
    sql,
    wait_consumed,
)
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.metrics import read_metric
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SECRET = "whsec_" + base64.b64encode(b"leadflow-operations-test-secret!").decode()


@dataclass
class Hooks:
    """Webhook receivers by path: ``script[name]`` statuses first, then 200."""

    script: dict[str, list[int]] = field(default_factory=dict)
    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.got.append((name, dict(request.headers), await request.body()))
        queue = self.script.get(name) or []
        code = queue.pop(0) if queue else 200
        return Response(b"gone for good" if code == 410 else b"ok", status_code=code)

    def at(self, name: str) -> list[tuple[str, dict[str, str], bytes]]:
        return [g for g in self.got if g[0] == name]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    rec = Hooks()
    app = Starlette(routes=[Route("/hooks/{name}", rec.hook, methods=["POST"])])
    async with serving(app) as server:
        rec.port = server.port
        yield rec


def config(hooks: Hooks) -> dict[str, Any]:
    def hook(name: str, events: list[str], **more: Any) -> dict[str, Any]:
        return {
            "name": name,
            "url": hooks.url(name),
            "secret": "${LEADFLOW_TEST_OPS_SECRET}",
            "events": events,
            **more,
        }

    return {
        "notifier": {
            # A retried delivery waits 30 s: long enough to be still pending when the test
            # looks (and to be cancelled by a 410).
            "retry": {"base_s": 30, "max_s": 60},
            "allow_private_targets": [f"127.0.0.1:{hooks.port}"],
            "subscriptions": [
                hook("crm", ["lead.assigned"], max_attempts=3),
                hook("audit", ["lead.assigned"], max_attempts=1),
                hook("ops", ["notification.subscription_disabled"]),
            ],
        }
    }


@pytest.fixture
async def notifier(
    database_url: str,
    bus: Bus,
    hooks: Hooks,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Notifier]:
    monkeypatch.setenv("LEADFLOW_TEST_OPS_SECRET", SECRET)
    async with running_notifier(database_url, bus, config(hooks), tmp_path) as n:
        yield n


async def until(n: Notifier, what: str, count: int, **params: Any) -> list[dict[str, Any]]:
    """Wait until ``params`` match ``count`` deliveries; return them."""

    async def reached() -> bool:
        return len(await deliveries(n, **params)) == count

    await eventually(reached, what=what, timeout=15)
    return await deliveries(n, **params)


async def up(n: Notifier, subscription: str) -> float:
    return await read_metric(n.http, "leadflow_notifier_subscription_up", subscription=subscription)


async def seen(hooks: Hooks, name: str, count: int) -> None:
    async def arrived() -> bool:
        return len(hooks.at(name)) == count

    await eventually(arrived, what=f"{count} request(s) at {name}", timeout=15)


async def test_a_410_disables_the_subscription_until_an_operator_enables_it(
    notifier: Notifier, hooks: Hooks
) -> None:
    # A first delivery to crm is answered 503: pending, its retry 30 s away.
    hooks.script["crm"] = [503, 410]
    first = assigned()
    await send(notifier, first)
    await until(notifier, "crm's first attempt", subscription="crm", status="pending", count=1)
    await seen(hooks, "crm", 1)

    async with notifier.bus.reader(NOTIFICATION_SUBSCRIPTION_DISABLED) as out:
        second = assigned()
        await send(notifier, second)
        await out.wait_for(lambda r: len(r) >= 1, what="SubscriptionDisabled")
    (notice,) = out.records
    assert notice["type"] == "io.leadflow.notification.subscription_disabled.v1"
    data = notice["data"]
    assert (data["subscription"], data["channel"], data["status_code"]) == ("crm", "webhook", 410)
    assert (data["lead_id"], data["cancelled"]) == (second.lead_id, 1)
    assert data["target"] == hooks.url("crm")
    assert data["reason"] == "receiver gone (410); last error: HTTP 410: gone for good"

    gone = await deliveries(notifier, subscription="crm", lead_id=second.lead_id)
    assert [(d["status"], d["last_status_code"]) for d in gone] == [("failed", 410)]
    (parked,) = await deliveries(notifier, subscription="crm", lead_id=first.lead_id)
    assert (parked["status"], parked["next_attempt_at"]) == ("cancelled", None)
    assert parked["last_error"] == (
        "cancelled: subscription 'crm' was disabled: receiver gone (410); last error:"
        " HTTP 410: gone for good"
    )

    # The alert went out through the subscription that listens for it.
    await seen(hooks, "ops", 1)
    (alert,) = hooks.at("ops")
    assert orjson.loads(alert[2])["data"]["subscription"] == "crm"
    (told,) = await until(notifier, "the alert recorded", 1, subscription="ops", status="delivered")
    assert (told["status"], told["attempts"], told["event_type"]) == (
        "delivered",
        1,
        "io.leadflow.notification.subscription_disabled.v1",
    )

    # crm hears nothing more; the others still do.
    third = assigned()
    third_id = await send(notifier, third)
    await wait_consumed(notifier, third_id)
    assert [d["subscription"] for d in await deliveries(notifier, lead_id=third.lead_id)] == [
        "audit"
    ]
    subs = {
        s["name"]: s for s in (await notifier.http.get("/v1/subscriptions")).json()["subscriptions"]
    }
    assert (subs["crm"]["enabled"], subs["crm"]["receiving"]) == (True, False)
    assert subs["crm"]["disabled_reason"].startswith("receiver gone (410)")
    assert subs["audit"]["receiving"] is True
    assert await up(notifier, "crm") == 0
    assert await up(notifier, "audit") == 1

    # Cancelled deliveries are not replayed while the subscription is disabled.
    body = {"subscription": "crm", "status": "cancelled", "reason": "receiver back"}
    early = await notifier.http.post("/v1/deliveries:retry", json=body)
    assert (early.status_code, early.json()) == (202, {"retried": []})

    enabled = await notifier.http.post("/v1/subscriptions/crm:enable")
    assert (enabled.status_code, enabled.json()) == (200, {"name": "crm", "receiving": True})
    again = await notifier.http.post("/v1/subscriptions/crm:enable")
    assert (again.status_code, again.json()["error"]) == (409, "not_disabled")
    unknown = await notifier.http.post("/v1/subscriptions/nobody:enable")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_subscription")
    assert (
        await sql(notifier, "SELECT count(*) FROM audit_log WHERE action = 'subscription.enabled'")
        == 1
    )
    assert await up(notifier, "crm") == 1

    replayed = await notifier.http.post("/v1/deliveries:retry", json=body)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == {"retried": [parked["delivery_id"]]}
    reasons = await sql(
        notifier,
        "SELECT string_agg(detail->>'reason', ',') FROM audit_log"
        " WHERE action = 'delivery.retried' AND target = :id",
        id=parked["delivery_id"],
    )
    assert reasons == "receiver back"
    await until(notifier, "the replay", subscription="crm", status="delivered", count=1)

    fourth = assigned()
    await send(notifier, fourth)
    await until(notifier, "crm again", subscription="crm", lead_id=fourth.lead_id, count=1)


async def test_deliveries_are_listed_by_filter_a_page_at_a_time(notifier: Notifier) -> None:
    events = [assigned() for _ in range(5)]
    for event in events:
        await send(notifier, event)
    everything = await until(notifier, "10 deliveries", status="delivered", count=10)
    crm = [d for d in everything if d["subscription"] == "crm"]

    pages: list[list[dict[str, Any]]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"subscription": "crm", "limit": 2}
        if after:
            params["after"] = after
        page = (await notifier.http.get("/v1/deliveries", params=params)).json()
        pages.append(page["deliveries"])
        after = page["next_after"]
        if after is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d["delivery_id"] for p in pages for d in p] == [d["delivery_id"] for d in crm]

    assigned_type = "io.leadflow.lead.assigned.v1"
    by_channel = await deliveries(notifier, channel="webhook", event_type=assigned_type)
    assert len(by_channel) == 10
    assert await deliveries(notifier, channel="email") == []
    middle = crm[2]["created_at"]
    newer = {d["delivery_id"] for d in crm if d["created_at"] >= middle}
    older = {d["delivery_id"] for d in crm} - newer
    since = await deliveries(notifier, subscription="crm", since=middle)
    until_ = await deliveries(notifier, subscription="crm", until=middle)
    assert ({d["delivery_id"] for d in since}, {d["delivery_id"] for d in until_}) == (
        newer,
        older,
    )
    assert len(newer) >= 3

    bad = await notifier.http.get("/v1/deliveries", params={"after": "bm90LWEtY3Vyc29y"})
    assert bad.status_code == 400
    assert bad.json()["problems"] == [{"field": "after", "problem": "not a cursor this API gave"}]


async def test_failed_deliveries_are_replayed_by_filter_with_a_reason(
    notifier: Notifier, hooks: Hooks
) -> None:
    hooks.script["audit"] = [500, 500]  # one attempt only: both fail
    events = [assigned() for _ in range(2)]
    for event in events:
        await send(notifier, event)
    failed = await until(notifier, "2 failed", subscription="audit", status="failed", count=2)

    nothing = await notifier.http.post("/v1/deliveries:retry", json={"reason": "try again"})
    assert (nothing.status_code, nothing.json()["error"]) == (400, "no_deliveries_named")
    no_reason = await notifier.http.post("/v1/deliveries:retry", json={"all": True})
    assert no_reason.status_code == 422

    body = {"channel": "webhook", "subscription": "audit", "reason": "audit store fixed"}
    resp = await notifier.http.post("/v1/deliveries:retry", json=body)
    assert resp.status_code == 202, resp.text
    assert sorted(resp.json()["retried"]) == sorted(d["delivery_id"] for d in failed)
    await until(notifier, "the replays", subscription="audit", status="delivered", count=2)
    assert len(hooks.at("audit")) == 4
    again = await notifier.http.post("/v1/deliveries:retry", json=body)
    assert again.json() == {"retried": []}  # delivered ones are not failed any more


async def test_a_delivered_delivery_is_resent_as_a_new_linked_delivery(
    notifier: Notifier, hooks: Hooks
) -> None:
    event = assigned()
    await send(notifier, event)
    (original,) = await until(
        notifier, "crm delivered", subscription="crm", status="delivered", count=1
    )
    resp = await notifier.http.post(f"/v1/deliveries/{original['delivery_id']}:resend")
    assert resp.status_code == 202, resp.text
    copy = resp.json()
    assert copy["resent_from"] == original["delivery_id"]
    assert copy["delivery_id"] != original["delivery_id"]
    assert (copy["status"], copy["attempts"]) == ("pending", 0)

    both = await until(
        notifier,
        "the re-send",
        subscription="crm",
        status="delivered",
        lead_id=event.lead_id,
        count=2,
    )
    assert {d["delivery_id"]: d["resent_from"] for d in both} == {
        original["delivery_id"]: None,
        copy["delivery_id"]: original["delivery_id"],
    }
    first, second = hooks.at("crm")
    assert first[2] == second[2]  # the same CloudEvent
    assert (first[1]["webhook-id"], second[1]["webhook-id"]) == (
        original["delivery_id"],
        copy["delivery_id"],
    )
    detail = (await notifier.http.get(f"/v1/deliveries/{original['delivery_id']}")).json()
    assert (detail["attempts"], len(detail["attempt_log"])) == (1, 1)  # left as it was

    pending = await notifier.http.post(f"/v1/deliveries/{copy['delivery_id']}:retry")
    assert pending.status_code == 409
    unknown = await notifier.http.post("/v1/deliveries/00000000-0000-4000-8000-000000000000:resend")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_delivery")
    hooks.script["audit"] = [500]
    other = assigned()
    await send(notifier, other)
    (failed,) = await until(notifier, "failed", subscription="audit", lead_id=other.lead_id,
                            status="failed", count=1)  # fmt: skip
    refused = await notifier.http.post(f"/v1/deliveries/{failed['delivery_id']}:resend")
    assert (refused.status_code, refused.json()["error"]) == (409, "not_delivered")
    assert (
        await sql(
            notifier,
            "SELECT detail->>'resent_as' FROM audit_log WHERE action = 'delivery.resent'",
        )
        == copy["delivery_id"]
    )
