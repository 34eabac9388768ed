"""An erasure reaches the webhook subscribers that ask for it (``lead.erased``), so downstream
CRMs can erase too: signed, once, with the lead id and erasure time only, and retried like
any delivery although the erase deleted everything else the notifier held about the lead.

Real PostgreSQL, a real broker, a real HTTP receiver (uvicorn on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.notifier.config import Settings
from services.notifier.handlers import delivery_id_for
from services.notifier.main import create_app
from shared.contracts import LeadErased
from shared.db.engine import make_engine
from tests.integration.notifier.test_service import (
    EMAIL,
    SECRET,
    Notifier,
    assigned,
    send,
    sql,
    wait_consumed,
)
from tests.support.app import running_app
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ERASED = "io.leadflow.lead.erased.v1"


@dataclass
class Post:
    subscription: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def type(self) -> str:
        kind: str = orjson.loads(self.body)["type"]
        return kind


@dataclass
class Receiver:
    """Records every POST; the subscriptions named in ``down`` are answered 503, others 200."""

    port: int = 0
    down: set[str] = field(default_factory=set)
    posts: list[Post] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        status = 503 if name in self.down else 200
        self.posts.append(Post(name, dict(request.headers), await request.body(), status))
        return Response(b"ok" if status == 200 else b"down for maintenance", status_code=status)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def of(self, subscription: str, event_type: str) -> list[Post]:
        return [p for p in self.posts if p.subscription == subscription and p.type == event_type]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hooks/{name}", rec.hook, methods=["POST"])])
    async with serving(app) as server:
        rec.port = server.port
        yield rec


def config(receiver: Receiver) -> dict[str, Any]:
    def sub(name: str, events: list[str], **more: Any) -> dict[str, Any]:
        return {"name": name, "url": receiver.url(name), "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                "events": events, **more}  # fmt: skip

    return {
        "notifier": {
            "retry": {"base_s": 0.05, "max_s": 0.2},
            "allow_private_targets": [f"127.0.0.1:{receiver.port}"],
            "subscriptions": [
                sub("crm", ["lead.assigned", "lead.erased"], max_attempts=30, timeout_s=2),
                # its condition reads the bucket, which an erasure does not carry
                sub(
                    "hot-leads",
                    ["lead.qualified", "lead.erased"],
                    when={"field": "bucket", "eq": "hot"},
                ),
                sub("archive", ["lead.assigned"]),  # does not ask for erasures
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
    monkeypatch.setenv("LEADFLOW_TEST_CRM_SECRET", SECRET)
    config_file = tmp_path / "leadflow.yaml"
    config_file.write_text(yaml.safe_dump(config(receiver)))
    settings = Settings(
        database_url=database_url,
        **bus.settings,
        config_file=config_file,
        kafka_partitions=2,
        delivery_tick_s=0.02,
        outbox_relay_interval_s=0.2,
    )
    app = create_app(settings)
    async with running_app(app, ready_timeout=20) as http:
        db = make_engine(settings.asyncpg_url, "notifier", pool_size=1)
        try:
            yield Notifier(http, bus, db, app.state.runtime)
        finally:
            await db.dispose()


async def held(n: Notifier, lead_id: str) -> dict[tuple[str, str], str]:
    """What the notifier holds for the lead: (subscription, event type) -> status."""
    async with n.db.begin() as conn:
        rows = await conn.execute(
            text("SELECT subscription, event_type, status FROM deliveries WHERE lead_id = :id"),
            {"id": lead_id},
        )
        return {(r.subscription, r.event_type): r.status for r in rows}


async def until_held(n: Notifier, lead_id: str, expected: dict[tuple[str, str], str]) -> None:
    async def reached() -> bool:
        return await held(n, lead_id) == expected

    await eventually(reached, what=f"deliveries of {lead_id} to be {expected}", every=0.02)


async def until(check: Any, what: str) -> None:
    async def holds() -> bool:
        return bool(check())

    await eventually(holds, what=what, every=0.02)


ASSIGNED = "io.leadflow.lead.assigned.v1"


async def test_an_erasure_reaches_its_subscribers_signed_once_with_the_lead_id_only(
    notifier: Notifier, receiver: Receiver
) -> None:
    receiver.down = {"crm"}  # the CRM is down: the lead's assignment waits there, retrying
    lead, other = assigned(), assigned()
    lead_event = await send(notifier, lead)
    await send(notifier, other)
    for event in (lead, other):
        await until_held(
            notifier,
            event.lead_id,
            {("crm", ASSIGNED): "pending", ("archive", ASSIGNED): "delivered"},
        )
    await until(lambda: len(receiver.of("crm", ASSIGNED)) >= 4, "the assignments to be retried")

    erasure = LeadErased(
        lead_id=lead.lead_id, erased_at=datetime.now(UTC), reason=f"asked by {EMAIL}"
    )
    erasure_id = await notifier.bus.send(erasure, source="capture", correlationid="corr-erase")
    await wait_consumed(notifier, erasure_id)

    # Everything the notifier held about the lead is gone, delivered or pending, attempts
    # too; what is left is one erasure notice per subscriber that asks for erasures.
    assert set(await held(notifier, lead.lead_id)) == {("crm", ERASED), ("hot-leads", ERASED)}
    erased_assignment = delivery_id_for("crm", lead_event)
    attempts_left = await sql(
        notifier,
        "SELECT count(*) FROM delivery_attempts WHERE delivery_id = CAST(:id AS uuid)",
        id=erased_assignment,
    )
    assert attempts_left == 0
    # The other lead is untouched.
    assert await held(notifier, other.lead_id) == {
        ("crm", ASSIGNED): "pending",
        ("archive", ASSIGNED): "delivered",
    }

    # hot-leads hears at once; the CRM, still down, has its erasure notice retried, while
    # the erased lead's assignment is no longer sent at all.
    await until(lambda: receiver.of("hot-leads", ERASED), "hot-leads to hear of the erasure")
    await until(lambda: len(receiver.of("crm", ERASED)) >= 3, "the erasure notice to be retried")
    assignment_posts = len(
        [p for p in receiver.posts if p.headers["webhook-id"] == erased_assignment]
    )
    await asyncio.sleep(0.5)
    assert assignment_posts == len(
        [p for p in receiver.posts if p.headers["webhook-id"] == erased_assignment]
    )

    receiver.down = set()  # the CRM is back
    await until_held(
        notifier, lead.lead_id, {("crm", ERASED): "delivered", ("hot-leads", ERASED): "delivered"}
    )
    await until_held(
        notifier,
        other.lead_id,
        {("crm", ASSIGNED): "delivered", ("archive", ASSIGNED): "delivered"},
    )
    await asyncio.sleep(0.3)  # nothing more arrives

    expected_data = erasure.model_dump(mode="json", include={"lead_id", "erased_at"})
    for name in ("crm", "hot-leads"):
        posts = receiver.of(name, ERASED)
        assert len({p.headers["webhook-id"] for p in posts}) == 1, "one delivery per subscriber"
        assert [p.status for p in posts].count(200) == 1, "accepted once"
        for post in posts:
            event = Webhook(SECRET).verify(post.body, post.headers)
            assert (event["id"], event["type"], event["source"]) == (erasure_id, ERASED, "capture")
            assert event["subject"] == lead.lead_id
            assert event["correlationid"] == "corr-erase"
            assert event["data"] == expected_data
            assert EMAIL.encode() not in post.body and b"Baker" not in post.body
    assert receiver.of("archive", ERASED) == []


async def test_a_redelivered_erasure_notifies_no_one_twice(
    notifier: Notifier, receiver: Receiver
) -> None:
    lead_id = str(uuid.uuid4())
    erasure = LeadErased(lead_id=lead_id, erased_at=datetime.now(UTC))
    erasure_id = await notifier.bus.send(erasure, source="capture")
    await until_held(
        notifier, lead_id, {("crm", ERASED): "delivered", ("hot-leads", ERASED): "delivered"}
    )
    # Even if the inbox forgot it: the notice is kept by the erase, so (subscription, event)
    # still holds and nothing is planned again.
    await sql(notifier, "DELETE FROM inbox WHERE event_id = :id", id=erasure_id)
    await notifier.bus.send(erasure, source="capture", event_id=erasure_id)
    await wait_consumed(notifier, erasure_id)
    await asyncio.sleep(0.3)
    assert len(receiver.of("crm", ERASED)) == 1
    assert len(receiver.of("hot-leads", ERASED)) == 1
