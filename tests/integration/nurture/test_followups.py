"""Follow-up plans for rep-owned leads, end to end on a real PostgreSQL and broker, with the
service's clock fixed and moved by the test: touches fall due inside the lead's hours,
LeadFollowupDue is emitted once per touch and in order (across a restart too), activities
complete touches (late after the grace), an unsubscribe stops only the e-mail touches, a
reassignment moves the open touches and a won deal ends the plan."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.nurture.config import Settings
from services.nurture.main import create_app
from shared.contracts import (
    ActivityKind,
    ContactSnapshot,
    LeadActivityRecorded,
    LeadAssigned,
    RepRef,
    RoutingTrace,
)
from shared.contracts.topics import LEAD_FOLLOWUP_DUE, all_topics
from shared.db.engine import make_engine
from tests.support.app import running_app
from tests.support.events import record
from tests.support.kafka import Bus, TopicReader, create_topics
from tests.support.waits import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
nurture:
  contact:
    window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}
    caps: {per_day: 2, per_week: 4}
    time_zones: {default: Europe/London}
  followups:
    hot:
      grace: 2h
      touches:
        - {mode: call}
        - {mode: call, after: 1d}
        - {mode: meeting, after: 2d}
    warm:
      touches:
        - {mode: email}
        - {mode: call, after: 1d}
        - {mode: email, after: 2d}
"""
FOLLOWUP_DUE = "io.leadflow.lead.followup_due.v1"
NEW_YORK_PHONE = "+12125550123"  # +1 212: America/New_York (EST, UTC-5 in December)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


class MovableClock:
    """The service's clock: fixed at ``at`` until the test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def assigned(lead_id: str, bucket: str, at: datetime, rep: str = "ana") -> LeadAssigned:
    return LeadAssigned(
        lead_id=lead_id,
        assignment_id=str(uuid.uuid4()),
        queue="us-sales",
        rep=RepRef(rep_id=rep, name=rep.title()),
        lead=ContactSnapshot(email="lead@example.com", phone=NEW_YORK_PHONE, country="US"),
        score=85.0,
        bucket=bucket,
        source="web",
        captured_at=at,
        assigned_at=at,
        trace=RoutingTrace(
            rule="us", queue="us-sales", strategy="round_robin", candidates=[], explanation="-"
        ),
    )


def activity(
    lead_id: str, kind: ActivityKind, at: datetime, channel: str | None = None
) -> LeadActivityRecorded:
    return LeadActivityRecorded(
        lead_id=lead_id,
        activity_id=str(uuid.uuid4()),
        kind=kind,
        occurred_at=at,
        recorded_at=at,
        channel=channel,
        rep_id="ana",
    )


@pytest.fixture
def settings(database_url: str, bus: Bus, tmp_path: Path) -> Settings:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return Settings(
        database_url=database_url,
        **bus.settings,
        config_file=config,
        kafka_partitions=3,
        outbox_relay_interval_s=0.1,
        tick_s=0.1,
    )


def running(
    settings: Settings, clock: MovableClock
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return running_app(create_app(settings, clock=clock), ready_timeout=60)


async def wait_handled(settings: Settings, count: int) -> None:
    """Until the consumer has applied ``count`` events (its inbox holds their ids)."""
    engine = make_engine(settings.asyncpg_url, "nurture", pool_size=1)

    async def applied() -> bool:
        async with engine.connect() as conn:
            seen = (await conn.execute(text("SELECT count(*) FROM inbox"))).scalar_one()
        return bool(seen >= count)

    try:
        await eventually(applied, 20.0, what=f"the consumer to apply {count} events")
    finally:
        await engine.dispose()


def dues(records: list[dict[str, Any]], lead_id: str) -> list[dict[str, Any]]:
    return [r["data"] for r in records if r["type"] == FOLLOWUP_DUE and r["subject"] == lead_id]


async def touches(client: httpx.AsyncClient, lead_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/leads/{lead_id}/followups")
    assert response.status_code == 200, response.text
    plan = response.json()["plans"][-1]  # the latest
    found: list[dict[str, Any]] = plan["touches"]
    return found


async def quiet(out: TopicReader, seconds: float = 0.6) -> None:
    """Poll for a while: nothing more may arrive meanwhile."""
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while datetime.now(UTC) < deadline:
        await out.poll()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_hot_lead_assigned_on_friday_evening_is_called_on_monday_morning(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    friday_evening = utc(2026, 12, 4, 23, 30)  # 18:30 in New York
    clock = MovableClock(friday_evening + timedelta(minutes=1))
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with bus.reader(LEAD_FOLLOWUP_DUE) as out, running(settings, clock) as client:
        await bus.produce(LeadAssigned.TOPIC, [record(assigned(lead, "hot", friday_evening))])
        await wait_handled(settings, 1)
        planned = await touches(client, lead)
        assert [(t["step"], t["of"], t["mode"]) for t in planned] == [
            (1, 3, "call"),
            (2, 3, "call"),
            (3, 3, "meeting"),
        ]
        # Monday 09:00 in New York; then a day after it; then two days after that.
        assert [at(t["due_at"]) for t in planned] == [
            utc(2026, 12, 7, 14),
            utc(2026, 12, 8, 14),
            utc(2026, 12, 10, 14),
        ]
        assert {t["status"] for t in planned} == {"pending"}
        await quiet(out)
        assert dues(out.records, lead) == []  # the weekend: nothing is due

        clock.at = utc(2026, 12, 7, 14, 0, 1)
        await out.wait_for(lambda r: len(dues(r, lead)) == 1, what="touch 1")
        [first] = dues(out.records, lead)
        assert (first["step"], first["of"], first["mode"]) == (1, 3, "call")
        assert (first["rep"]["rep_id"], first["rep"]["name"]) == ("ana", "Ana")
        assert at(first["due_at"]) == utc(2026, 12, 7, 14)
        assert first["lead"]["phone"] == NEW_YORK_PHONE

        # The rep calls at noon New York time: three hours after due, past the 2h grace.
        clock.at = utc(2026, 12, 7, 17, 5)
        called = activity(lead, ActivityKind.CALLED, utc(2026, 12, 7, 17))
        await bus.produce(LeadActivityRecorded.TOPIC, [record(called)])
        await wait_handled(settings, 2)
        after_call = await touches(client, lead)
        assert (after_call[0]["status"], at(after_call[0]["done_at"])) == (
            "late",
            utc(2026, 12, 7, 17),
        )
        assert at(after_call[1]["due_at"]) == utc(2026, 12, 8, 17)  # a day after the call

        # Nobody calls again: touch 2 is missed when touch 3 falls due.
        clock.at = utc(2026, 12, 10, 17, 0, 1)
        await out.wait_for(lambda r: len(dues(r, lead)) == 3, what="touches 2 and 3")
        await eventually(
            lambda: _statuses(client, lead, ["late", "missed", "due"]), 10.0, what="missed"
        )
        await quiet(out)
        metrics = (await client.get("/metrics")).text
    announced = dues(out.records, lead)
    assert [d["step"] for d in announced] == [1, 2, 3]
    assert [d["mode"] for d in announced] == ["call", "call", "meeting"]
    assert 'leadflow_followup_touches_total{status="missed"}' in metrics


async def _statuses(client: httpx.AsyncClient, lead: str, wanted: list[str]) -> bool:
    return [t["status"] for t in await touches(client, lead)] == wanted


async def test_an_unsubscribe_stops_email_touches_only_and_timers_survive_a_restart(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    monday = utc(2026, 12, 7, 15)  # 10:00 in New York
    clock = MovableClock(monday)
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with bus.reader(LEAD_FOLLOWUP_DUE) as out:
        async with running(settings, clock) as client:
            await bus.produce(LeadAssigned.TOPIC, [record(assigned(lead, "warm", monday))])
            await out.wait_for(lambda r: len(dues(r, lead)) == 1, what="the first e-mail")
            unsubscribed = activity(lead, ActivityKind.UNSUBSCRIBED, monday + timedelta(hours=1))
            clock.at = monday + timedelta(hours=1, minutes=1)
            await bus.produce(LeadActivityRecorded.TOPIC, [record(unsubscribed)])
            await wait_handled(settings, 2)
            planned = await touches(client, lead)
        assert [(t["mode"], t["status"]) for t in planned] == [
            ("email", "skipped"),  # not done before the unsubscribe: the rep is not blamed
            ("call", "pending"),
            ("email", "skipped"),
        ]
        assert {planned[0]["skipped_by"], planned[2]["skipped_by"]} == {"unsubscribed"}
        assert at(planned[1]["due_at"]) == monday + timedelta(days=1)

        # The call falls due while no service runs; a new one announces it once, and never
        # the suppressed e-mail.
        clock.at = monday + timedelta(days=9)  # past the call's 7-day window too
        async with running(settings, clock) as client:
            await out.wait_for(lambda r: len(dues(r, lead)) == 2, what="the call")
            await eventually(
                lambda: _statuses(client, lead, ["skipped", "missed", "skipped"]),
                10.0,
                what="the call missed",
            )
            await quiet(out)
    announced = dues(out.records, lead)
    assert sorted(Counter(d["step"] for d in announced).items()) == [(1, 1), (2, 1)]
    assert [d["mode"] for d in announced] == ["email", "call"]


async def test_a_reassignment_moves_open_touches_and_a_won_deal_ends_the_plan(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    monday = utc(2026, 12, 7, 15)
    clock = MovableClock(monday + timedelta(minutes=1))
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with bus.reader(LEAD_FOLLOWUP_DUE) as out, running(settings, clock) as client:
        await bus.produce(LeadAssigned.TOPIC, [record(assigned(lead, "hot", monday))])
        await out.wait_for(lambda r: len(dues(r, lead)) == 1, what="touch 1 for ana")
        again = assigned(lead, "hot", monday + timedelta(hours=2), rep="bo")
        clock.at = monday + timedelta(hours=2)
        await bus.produce(LeadAssigned.TOPIC, [record(again)])
        await wait_handled(settings, 2)
        moved = await touches(client, lead)
        assert [t["rep_id"] for t in moved] == ["bo", "bo", "bo"]  # all still open

        clock.at = monday + timedelta(days=1, minutes=1)
        await out.wait_for(lambda r: len(dues(r, lead)) == 2, what="touch 2 for bo")
        won = activity(lead, ActivityKind.WON, monday + timedelta(days=1, hours=1))
        clock.at = monday + timedelta(days=1, hours=1)
        await bus.produce(LeadActivityRecorded.TOPIC, [record(won)])
        await wait_handled(settings, 3)
        clock.at = monday + timedelta(days=30)
        await quiet(out, 1.0)
        body = (await client.get(f"/v1/leads/{lead}/followups")).json()
        missing = await client.get(f"/v1/leads/{uuid.uuid4()}/followups")
    assert [(d["step"], d["rep"]["rep_id"]) for d in dues(out.records, lead)] == [
        (1, "ana"),
        (2, "bo"),
    ]
    [plan] = body["plans"]
    assert (plan["status"], plan["reason"], plan["rep_id"]) == ("ended", "converted: won", "bo")
    assert [t["status"] for t in plan["touches"]] == ["missed", "cancelled", "cancelled"]
    assert (missing.status_code, missing.json()["error"]) == (404, "unknown_lead")


EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "nurture.yaml"


async def test_the_example_config_gives_a_cold_lead_its_emails_inside_its_hours(
    database_url: str, bus: Bus
) -> None:
    settings = Settings(
        database_url=database_url,
        **bus.settings,
        config_file=EXAMPLE,
        kafka_partitions=3,
        outbox_relay_interval_s=0.1,
        tick_s=0.1,
    )
    lead = str(uuid.uuid4())
    saturday = utc(2026, 12, 12, 11)  # a weekend: the first e-mail waits for Monday 09:00
    clock = MovableClock(saturday)
    london = ContactSnapshot(email="lead@example.co.uk", country="GB")
    event = assigned(lead, "cold", saturday).model_copy(update={"lead": london})
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with bus.reader(LEAD_FOLLOWUP_DUE) as out, running(settings, clock) as client:
        await bus.produce(LeadAssigned.TOPIC, [record(event)])
        await wait_handled(settings, 1)
        clock.at = saturday + timedelta(weeks=8)
        await out.wait_for(lambda r: len(dues(r, lead)) == 4, what="the four e-mails")
        await quiet(out)
        plan = (await client.get(f"/v1/leads/{lead}/followups")).json()["plans"][0]
    announced = dues(out.records, lead)
    assert [(d["step"], d["of"], d["mode"]) for d in announced] == [
        (1, 4, "email"),
        (2, 4, "email"),
        (3, 4, "email"),
        (4, 4, "email"),
    ]
    due = [at(d["due_at"]) for d in announced]
    assert due[0] == utc(2026, 12, 14, 9)  # Monday 09:00 in London (GMT)
    assert [b - a for a, b in itertools.pairwise(due)] == [timedelta(weeks=2)] * 3
    assert (plan["zone"], plan["zone_source"]) == ("Europe/London", "country")
