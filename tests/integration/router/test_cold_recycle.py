"""Gone cold, recycling and snoozes on the router's fixed clock (``LEADFLOW_FIXED_CLOCK``),
against a real broker and database: the test moves the clock, the jobs read it, nobody
sleeps through real days."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.router.config.settings import Settings
from services.router.main import create_app
from shared.clock import FixedClock
from shared.contracts import LeadActivityRecorded, LeadDisqualified
from shared.contracts.capture import ActivityKind
from shared.contracts.topics import (
    LEAD_ACTIVITY,
    LEAD_ASSIGNED,
    LEAD_DISQUALIFIED,
    LEAD_GONE_COLD,
    LEAD_RECYCLED,
    LEAD_ROUTED_TO_NURTURE,
    LEAD_SCORED,
)
from tests.support.app import running_app
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus, TopicReader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; the reps keep no hours
TOPICS = (LEAD_ASSIGNED, LEAD_GONE_COLD, LEAD_RECYCLED, LEAD_ROUTED_TO_NURTURE)
CONFIG = """
routing:
  default_queue: sales
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
    - {id: pat, name: Pat, timezone: Europe/London}
  queues:
    - {name: sales, department: sales, region: uk, members: [ana, ben]}
    - {name: pool, department: sales, region: uk, members: [pat]}
  gone_cold:
    no_touch: {hot: 2d, warm: 5d}
    no_reply_after: 3
  recycling:
    gone_cold: {to: queue, queue: pool, after: 1d}
    lost: {to: nurture, after: 30d}
    lost_reasons:
      spam: {to: none}
    disqualified: {to: queue, queue: pool}
  fairness: {}   # round_robin ignores multipliers; here for the ledger's gone_cold entries
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    return path


def app_for(database_url: str, bus: Bus, config: Path, at: datetime = T0) -> FastAPI:
    settings = Settings(
        database_url=database_url, **bus.settings, config_file=config, waiting_retry_s=0.2,
        sla_tick_s=0.1, cold_tick_s=0.1, kafka_partitions=3, fixed_clock=at,
    )  # fmt: skip
    return create_app(settings)


def clock_of(app: FastAPI) -> FixedClock:
    clock = app.state.runtime.deps.clock
    assert isinstance(clock, FixedClock)
    return clock


def activity(lead_id: str, kind: ActivityKind, at: datetime, **extra: Any) -> tuple[bytes, bytes]:
    event = LeadActivityRecorded(
        lead_id=lead_id, activity_id=str(uuid.uuid4()), kind=kind, occurred_at=at,
        recorded_at=at, rep_id="ana", **extra,
    )  # fmt: skip
    return record(event)


def of(records: list[dict[str, Any]], lead_id: str, kind: str) -> list[dict[str, Any]]:
    wanted = f"io.leadflow.lead.{kind}.v1"
    return [r["data"] for r in records if r.get("subject") == lead_id and r["type"] == wanted]


async def settle(out: TopicReader, ticks: float = 0.8) -> None:
    """Let the jobs run several ticks at the current fixed time, and read what they sent."""
    loop = asyncio.get_running_loop()
    until = loop.time() + ticks
    while loop.time() < until:
        await out.poll()


async def lead_view(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/leads/{lead_id}/assignment")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def open_leads(client: httpx.AsyncClient) -> dict[str, int]:
    reps = (await client.get("/v1/reps")).json()
    return {r["rep_id"]: r["open_leads"] for r in reps}


async def test_an_untouched_lead_goes_cold_once_warms_up_and_is_recycled_to_the_pool(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(*TOPICS) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="hot"))])
        await out.wait_for(lambda r: bool(of(r, lead, "assigned")), what="the assignment")
        assert of(out.records, lead, "assigned")[0]["rep"]["rep_id"] == "ana"

        clock.advance(timedelta(days=1, hours=23))  # quiet, not long enough for a hot lead
        await settle(out)
        assert of(out.records, lead, "gone_cold") == []

        clock.advance(timedelta(hours=1, minutes=1))  # 2d1m without a touch
        await out.wait_for(lambda r: bool(of(r, lead, "gone_cold")), what="gone cold")
        cold = of(out.records, lead, "gone_cold")[0]
        assert (cold["reason"], cold["rep"]["rep_id"], cold["touches"]) == ("no_touch", "ana", 0)
        assert cold["since"].startswith("2026-03-02T10:00")
        assert cold["recycling"] == "queue pool after 1d"

        clock.advance(timedelta(hours=12))  # still cold, cooling off: not announced again
        await settle(out)
        assert len(of(out.records, lead, "gone_cold")) == 1
        assert of(out.records, lead, "recycled") == []

        # Ana calls: the lead is warm again, its recycle is called off.
        await bus.produce(LEAD_ACTIVITY, [activity(lead, ActivityKind.CONTACTED, clock())])
        for _ in range(100):
            if (await lead_view(client, lead))["cold_since"] is None:
                break
            await asyncio.sleep(0.05)
        assert (await lead_view(client, lead))["touches"] == 1
        clock.advance(timedelta(days=1))  # past the old cool-off: nothing moves
        await settle(out)
        assert of(out.records, lead, "recycled") == []
        assert len(of(out.records, lead, "gone_cold")) == 1

        clock.advance(timedelta(days=1, minutes=1))  # 2d1m after the call: cold again
        await out.wait_for(lambda r: len(of(r, lead, "gone_cold")) == 2, what="cold again")
        assert await open_leads(client) == {"ana": 1, "ben": 0, "pat": 0}
        clock.advance(timedelta(days=1))  # the cool-off is over: to the pool
        await out.wait_for(lambda r: bool(of(r, lead, "recycled")), what="the recycle")
        moved = of(out.records, lead, "recycled")[0]
        assert (moved["cause"], moved["to"], moved["queue"]) == ("gone_cold", "assigned", "pool")
        assert (moved["rep"]["rep_id"], moved["previous_rep"]["rep_id"]) == ("pat", "ana")
        assert "gone cold (no_touch) with ana; cool-off of 1d over" in moved["explanation"]
        await out.wait_for(lambda r: len(of(r, lead, "assigned")) == 2, what="pat's assignment")
        again = of(out.records, lead, "assigned")[1]
        assert (again["rep"]["rep_id"], again["previous_rep"]["rep_id"]) == ("pat", "ana")
        assert again["trace"]["rule"] == "recycled" and again["reassigned"] is False
        assert await open_leads(client) == {"ana": 0, "ben": 0, "pat": 1}
        view = await lead_view(client, lead)
        assert (view["rep_id"], view["queue"], view["rule"], view["cold_since"]) == (
            "pat",
            "pool",
            "recycled",
            None,
        )
        await settle(out)
        assert len(of(out.records, lead, "gone_cold")) == 2
        ledger = (await client.get("/v1/reps/ana/ledger")).json()
        entries = [e for e in ledger["entries"] if e["kind"] == "gone_cold"]
        assert len(entries) == 2  # one per cold spell, each lowering ana's share
        assert all(e["effect"] < 0 for e in entries)
        assert ledger["multiplier"]["value"] < 1


async def test_touches_without_a_reply_make_a_lead_cold(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app), bus.reader(*TOPICS) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="warm"))])
        await out.wait_for(lambda r: bool(of(r, lead, "assigned")), what="the assignment")
        kinds = (ActivityKind.CONTACTED, ActivityKind.REPLIED, ActivityKind.CONTACTED)
        at = [clock() + timedelta(minutes=i) for i in range(5)]
        await bus.produce(LEAD_ACTIVITY, [activity(lead, k, at[i]) for i, k in enumerate(kinds)])
        await settle(out)
        assert of(out.records, lead, "gone_cold") == []  # one touch since the reply
        more = [activity(lead, ActivityKind.CONTACTED, at[i]) for i in (3, 4)]
        await bus.produce(LEAD_ACTIVITY, more)
        await out.wait_for(lambda r: bool(of(r, lead, "gone_cold")), what="gone cold")
        cold = of(out.records, lead, "gone_cold")[0]
        assert (cold["reason"], cold["touches"]) == ("no_reply", 3)


async def test_a_lost_lead_goes_to_nurture_after_the_cool_off_unless_its_reason_says_no(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead, spam = str(uuid.uuid4()), str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(*TOPICS) as out:
        clock = clock_of(app)
        scored = [record(lead_scored(i, bucket="warm")) for i in (lead, spam)]
        await bus.produce(LEAD_SCORED, scored)
        await out.wait_for(
            lambda r: bool(of(r, lead, "assigned") and of(r, spam, "assigned")), what="both"
        )
        clock.advance(timedelta(days=1))
        lost = [
            activity(lead, ActivityKind.LOST, clock(), reason="price"),
            activity(spam, ActivityKind.LOST, clock(), reason="Spam"),
        ]
        await bus.produce(LEAD_ACTIVITY, lost)
        for _ in range(100):
            if (await lead_view(client, spam))["closed_at"] is not None:
                break
            await asyncio.sleep(0.05)
        assert sum((await open_leads(client)).values()) == 0  # lost frees the reps at once

        clock.advance(timedelta(days=29, hours=23))
        await settle(out)
        assert of(out.records, lead, "recycled") == []
        assert of(out.records, lead, "gone_cold") == []  # a closed lead never goes cold

        clock.advance(timedelta(hours=1))
        await out.wait_for(
            lambda r: bool(of(r, lead, "routed_to_nurture") and of(r, lead, "recycled")),
            what="the recycle to nurture",
        )
        nurtured = of(out.records, lead, "routed_to_nurture")[0]
        assert nurtured["reason"].startswith("lost (price) with ")
        assert nurtured["reason"].endswith("cool-off of 30d over; recycled to nurture")
        assert nurtured["recycled"] == "lost"  # nurture picks the sequence by the cause
        moved = of(out.records, lead, "recycled")[0]
        assert (moved["cause"], moved["to"], moved["reason"]) == ("lost", "nurture", "price")
        assert (await lead_view(client, lead))["status"] == "nurture"
        await settle(out)
        assert of(out.records, spam, "recycled") == []  # spam: {to: none}
        assert (await lead_view(client, spam))["lost_reason"] == "Spam"


async def test_a_snoozed_lead_sleeps_then_is_routed_again_at_its_date(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(*TOPICS) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="hot"))])
        await out.wait_for(lambda r: bool(of(r, lead, "assigned")), what="the assignment")
        until = T0 + timedelta(days=10)
        past = await client.post(
            f"/v1/leads/{lead}:snooze", json={"until": T0.isoformat(), "reason": "later"}
        )
        assert past.status_code == 422
        assert past.json()["problems"][0]["field"] == "until"
        unknown = await client.post(
            f"/v1/leads/{uuid.uuid4()}:snooze", json={"until": until.isoformat(), "reason": "x"}
        )
        assert unknown.status_code == 404
        body = {"until": until.isoformat(), "reason": "budget in the spring"}
        response = await client.post(f"/v1/leads/{lead}:snooze", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["was"] == "assigned"
        assert response.json()["previous_rep"] == "ana"
        assert await open_leads(client) == {"ana": 0, "ben": 0, "pat": 0}
        await out.wait_for(lambda r: bool(of(r, lead, "recycled")), what="the snooze")
        parked = of(out.records, lead, "recycled")[0]
        assert (parked["cause"], parked["to"]) == ("snoozed", "snoozed")
        assert parked["until"].startswith("2026-03-12T10:00")
        async with app.state.runtime.engine.connect() as conn:
            audited = (
                await conn.execute(
                    text(
                        "SELECT actor, detail FROM audit_log WHERE action = 'lead.snoozed'"
                        " AND target = :lead"
                    ),
                    {"lead": lead},
                )  # fmt: skip
            ).all()
        assert len(audited) == 1 and audited[0][1]["reason"] == "budget in the spring"

        # Rescored while asleep: it stays asleep; silent for days: a sleeping lead is not cold.
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="hot", score=90))])
        clock.advance(timedelta(days=9, hours=23))
        await settle(out)
        assert (await lead_view(client, lead))["status"] == "snoozed"
        assert len(of(out.records, lead, "assigned")) == 1
        assert of(out.records, lead, "gone_cold") == []

        clock.advance(timedelta(hours=1))
        await out.wait_for(lambda r: len(of(r, lead, "recycled")) == 2, what="the wake-up")
        woke = of(out.records, lead, "recycled")[1]
        assert (woke["cause"], woke["to"], woke["queue"]) == ("snooze_ended", "assigned", "sales")
        assert woke["reason"] == "budget in the spring"
        await out.wait_for(lambda r: len(of(r, lead, "assigned")) == 2, what="a new owner")
        view = await lead_view(client, lead)
        assert (view["status"], view["snoozed_until"]) == ("assigned", None)


async def test_a_disqualified_open_lead_is_recycled_to_the_pool(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(*TOPICS) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="warm"))])
        await out.wait_for(lambda r: bool(of(r, lead, "assigned")), what="the assignment")
        fell = LeadDisqualified(
            lead_id=lead, score=31, bucket="cold", threshold=40, disqualified_at=clock(),
            trigger="decay",
        )  # fmt: skip
        await bus.produce(LEAD_DISQUALIFIED, [record(fell)])
        await out.wait_for(lambda r: len(of(r, lead, "assigned")) == 2, what="pat's assignment")
        await out.wait_for(lambda r: bool(of(r, lead, "recycled")), what="the recycle")
        moved = of(out.records, lead, "recycled")[0]
        assert (moved["cause"], moved["rep"]["rep_id"], moved["previous_rep"]["rep_id"]) == (
            "disqualified",
            "pat",
            "ana",
        )
        assert moved["reason"] == "score 31 below 40 (decay)"
        assert await open_leads(client) == {"ana": 0, "ben": 0, "pat": 1}


async def test_a_recycle_timer_survives_a_restart(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(*TOPICS) as out:
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="warm"))])
        await out.wait_for(lambda r: bool(of(r, lead, "assigned")), what="the assignment")
        await bus.produce(LEAD_ACTIVITY, [activity(lead, ActivityKind.LOST, T0, reason="price")])
        for _ in range(100):
            if (await lead_view(client, lead))["closed_at"] is not None:
                break
            await asyncio.sleep(0.05)
    # Down for 40 days; back on a later clock.
    later = app_for(database_url, bus, config, at=T0 + timedelta(days=40))
    async with running_app(later), bus.reader(*TOPICS) as out:
        await out.wait_for(lambda r: bool(of(r, lead, "routed_to_nurture")), what="nurture")
        await settle(out)
        assert len(of(out.records, lead, "recycled")) == 1
