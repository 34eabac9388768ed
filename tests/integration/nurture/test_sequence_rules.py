"""Nurture sequences under the contact rules, on a real PostgreSQL and broker with the
service's clock fixed and moved by the test: a step due in the lead's night waits for its
working hours, the per-lead cap is shared with the rep's follow-up touches, an unsubscribed
lead gets its SMS step but no e-mail, a lead the router recycles joins the sequence of its
recycle cause (the example's cold-revive) and leaves its rep's plan, and a touch the rep
missed is announced once as lead.followup_closed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.nurture.config import Settings
from shared.contracts import (
    ActivityKind,
    ContactSnapshot,
    LeadActivityRecorded,
    LeadAssigned,
    LeadProfile,
    LeadRoutedToNurture,
)
from shared.contracts.topics import (
    LEAD_FOLLOWUP_CLOSED,
    LEAD_FOLLOWUP_DUE,
    NURTURE_STEP_DUE,
    NURTURE_STOPPED,
    all_topics,
)
from tests.integration.nurture.test_followups import (
    NEW_YORK_PHONE,
    MovableClock,
    activity,
    assigned,
    at,
    dues,
    quiet,
    running,
    utc,
    wait_handled,
)
from tests.support.events import record
from tests.support.kafka import Bus, create_topics

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
nurture:
  contact:
    window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}
    caps: {per_day: 1, per_week: 4}
    time_zones: {default: Europe/London}
  sequences:
    - name: standard
      buckets: [nurture]
      sales_cycle_weeks: 1
      weeks_between_touches: 1      # 1 / 1 + 1 = 2 touches
      touch_interval: 1h
      modes: [email, sms]
    - name: revive
      buckets: [cold]
      recycled: [gone_cold, lost, disqualified]
      sales_cycle_weeks: 1
      weeks_between_touches: 1
      touch_interval: 1d
      modes: [email]
  followups:
    hot:
      touches:
        - {mode: call}
        - {mode: call, after: 1d}
"""
STEP_DUE = "io.leadflow.nurture.step_due.v1"
STOPPED = "io.leadflow.nurture.stopped.v1"
CLOSED = "io.leadflow.lead.followup_closed.v1"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "nurture.yaml"


@pytest.fixture
def settings(database_url: str, bus: Bus, tmp_path: Path) -> Settings:
    config = tmp_path / "leadflow.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return _settings(database_url, bus, config)


def _settings(database_url: str, bus: Bus, config: Path) -> Settings:
    return Settings(
        database_url=database_url,
        **bus.settings,
        config_file=config,
        kafka_partitions=3,
        outbox_relay_interval_s=0.1,
        tick_s=0.1,
    )


def routed(
    lead_id: str,
    bucket: str,
    when: datetime,
    *,
    recycled: str | None = None,
    phone: str | None = NEW_YORK_PHONE,
    country: str = "US",
) -> LeadRoutedToNurture:
    return LeadRoutedToNurture(
        lead_id=lead_id,
        bucket=bucket,
        score=40.0,
        routed_at=when,
        lead=LeadProfile(email="lead@example.com", phone=phone, country=country, source="web"),
        reason="recycled to nurture" if recycled else "not sales-ready",
        recycled=recycled,
    )


def of(records: list[dict[str, Any]], kind: str, lead_id: str) -> list[dict[str, Any]]:
    return [r["data"] for r in records if r["type"] == kind and r["subject"] == lead_id]


async def enrollment(client: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/leads/{lead_id}/nurture")
    assert response.status_code == 200, response.text
    latest: dict[str, Any] = response.json()["enrollments"][-1]
    return latest


async def test_a_step_due_in_the_leads_night_lands_at_its_window_start_one_a_day(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    three_am = utc(2026, 12, 8, 8)  # Tuesday 03:00 in New York
    clock = MovableClock(three_am)
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with (
        bus.reader(NURTURE_STEP_DUE, NURTURE_STOPPED) as out,
        running(settings, clock) as client,
    ):
        await bus.produce(LeadRoutedToNurture.TOPIC, [record(routed(lead, "nurture", three_am))])
        await wait_handled(settings, 1)
        joined = await enrollment(client, lead)
        assert (joined["sequence"], joined["zone"], joined["zone_source"]) == (
            "standard",
            "America/New_York",
            "phone",
        )
        # 09:00 New York; the SMS an hour later would be a second touch that day (cap 1):
        # Wednesday 09:00.
        assert [(s["mode"], at(s["due_at"]), s["status"]) for s in joined["steps"]] == [
            ("email", utc(2026, 12, 8, 14), "pending"),
            ("sms", utc(2026, 12, 9, 14), "pending"),
        ]
        await quiet(out)
        assert of(out.records, STEP_DUE, lead) == []  # the lead's night: nothing yet

        clock.at = utc(2026, 12, 8, 14, 0, 1)
        await out.wait_for(lambda r: len(of(r, STEP_DUE, lead)) == 1, what="the e-mail")
        await quiet(out)
        clock.at = utc(2026, 12, 9, 14, 0, 1)
        await out.wait_for(lambda r: len(of(r, STOPPED, lead)) == 1, what="the sequence's end")
    fired = of(out.records, STEP_DUE, lead)
    assert [(d["step"], d["mode"], at(d["due_at"])) for d in fired] == [
        (1, "email", utc(2026, 12, 8, 14)),
        (2, "sms", utc(2026, 12, 9, 14)),
    ]
    assert of(out.records, STOPPED, lead)[0]["reason"] == "completed"


async def test_the_cap_holds_across_a_follow_up_touch_and_a_sequence_step_on_one_day(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    monday = utc(2026, 12, 7, 15)  # 10:00 in New York
    clock = MovableClock(monday)
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with bus.reader(LEAD_FOLLOWUP_DUE) as out, running(settings, clock) as client:
        await bus.produce(LeadAssigned.TOPIC, [record(assigned(lead, "hot", monday))])
        await out.wait_for(lambda r: len(dues(r, lead)) == 1, what="the rep's call")
        # An hour later the router recycles the lost lead to nurture (cold, cause lost).
        clock.at = monday + timedelta(hours=1)
        recycled = routed(lead, "cold", clock.at, recycled="lost")
        await bus.produce(LeadRoutedToNurture.TOPIC, [record(recycled)])
        await wait_handled(settings, 2)
        joined = await enrollment(client, lead)
        plans = (await client.get(f"/v1/leads/{lead}/followups")).json()["plans"]
    assert joined["sequence"] == "revive"
    # Monday's touch was the rep's call: the first e-mail waits for Tuesday 09:00.
    assert [(s["mode"], at(s["due_at"])) for s in joined["steps"]] == [
        ("email", utc(2026, 12, 8, 14)),
        ("email", utc(2026, 12, 9, 14)),
    ]
    [plan] = plans
    assert (plan["status"], plan["reason"]) == ("ended", "routed to nurture")
    assert [t["status"] for t in plan["touches"]] == ["cancelled", "cancelled"]


async def test_an_unsubscribed_lead_gets_its_sms_step_and_no_email(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    monday = utc(2026, 12, 7, 10)  # 10:00 in London
    clock = MovableClock(monday + timedelta(minutes=5))
    unsubscribed = activity(lead, ActivityKind.UNSUBSCRIBED, monday)
    london = routed(lead, "nurture", monday + timedelta(minutes=5), phone=None, country="GB")
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with (
        bus.reader(NURTURE_STEP_DUE, NURTURE_STOPPED) as out,
        running(settings, clock) as client,
    ):
        await bus.produce(LeadActivityRecorded.TOPIC, [record(unsubscribed)])
        await wait_handled(settings, 1)
        await bus.produce(LeadRoutedToNurture.TOPIC, [record(london)])
        await wait_handled(settings, 2)
        joined = await enrollment(client, lead)
        assert [(s["mode"], s["status"], s["skipped_by"]) for s in joined["steps"]] == [
            ("email", "skipped", "unsubscribed"),
            ("sms", "pending", None),
        ]
        # The skipped e-mail took no slot: the SMS keeps its time, an hour after enrolment.
        assert at(joined["steps"][1]["due_at"]) == monday + timedelta(hours=1, minutes=5)
        clock.at = monday + timedelta(days=2)
        await out.wait_for(lambda r: len(of(r, STOPPED, lead)) == 1, what="the sequence's end")
        await quiet(out)
    assert [(d["step"], d["mode"]) for d in of(out.records, STEP_DUE, lead)] == [(2, "sms")]
    assert of(out.records, STOPPED, lead)[0]["reason"] == "completed"


async def test_the_example_enrols_a_recycled_cold_lead_in_cold_revive(
    database_url: str, bus: Bus
) -> None:
    settings = _settings(database_url, bus, EXAMPLE)
    cold, hot = str(uuid.uuid4()), str(uuid.uuid4())
    friday = utc(2026, 12, 11, 12)  # noon in London
    clock = MovableClock(friday)
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with running(settings, clock) as client:
        events = [
            routed(cold, "cold", friday, recycled="disqualified", phone=None, country="GB"),
            routed(hot, "hot", friday, recycled="lost", phone=None, country="GB"),
        ]
        await bus.produce(LeadRoutedToNurture.TOPIC, [record(e) for e in events])
        await wait_handled(settings, 2)
        joined = {lead: await enrollment(client, lead) for lead in (cold, hot)}
    for lead in (cold, hot):
        steps = joined[lead]["steps"]
        assert joined[lead]["sequence"] == "cold-revive"
        assert [s["mode"] for s in steps] == ["email", "email", "sms", "email", "email"]
        # Three days after enrolment is Monday 12:00 in London, inside its hours; then six
        # weeks apart.
        assert at(steps[0]["due_at"]) == utc(2026, 12, 14, 12)
        assert at(steps[1]["due_at"]) - at(steps[0]["due_at"]) == timedelta(weeks=6)


async def test_a_missed_follow_up_touch_is_announced_once_as_closed(
    settings: Settings, bus: Bus
) -> None:
    lead = str(uuid.uuid4())
    monday = utc(2026, 12, 7, 15)  # 10:00 in New York
    clock = MovableClock(monday)
    event = assigned(lead, "hot", monday).model_copy(
        update={"lead": ContactSnapshot(phone=NEW_YORK_PHONE, country="US")}
    )
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with bus.reader(LEAD_FOLLOWUP_CLOSED) as out, running(settings, clock):
        await bus.produce(LeadAssigned.TOPIC, [record(event)])
        await wait_handled(settings, 1)
        clock.at = utc(2026, 12, 8, 15, 0, 1)  # touch 2 falls due: touch 1 closes, missed
        await out.wait_for(lambda r: len(of(r, CLOSED, lead)) == 1, what="touch 1 closed")
        await quiet(out, 1.0)
    [closed] = of(out.records, CLOSED, lead)
    assert (closed["outcome"], closed["step"], closed["of"], closed["mode"]) == (
        "missed",
        1,
        2,
        "call",
    )
    assert (closed["rep_id"], closed["rep_name"], closed["done_at"]) == ("ana", "Ana", None)
    assert at(closed["due_at"]) == monday
    assert at(closed["closes_at"]) == utc(2026, 12, 8, 15)


async def test_an_unsubscribe_during_a_sequence_skips_its_pending_emails_only(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    config = tmp_path / "leadflow.yaml"
    # Without unsubscribed in stop_on, the sequence goes on: its e-mails are skipped.
    config.write_text(CONFIG.replace("nurture:\n", "nurture:\n  stop_on: [replied]\n", 1))
    settings = _settings(database_url, bus, config)
    mixed, mails = str(uuid.uuid4()), str(uuid.uuid4())
    saturday = utc(2026, 12, 12, 11)  # the weekend in London: nothing is due before Monday
    clock = MovableClock(saturday)
    await create_topics(bus.bootstrap, *all_topics(bus.prefix), partitions=3)
    async with (
        bus.reader(NURTURE_STEP_DUE, NURTURE_STOPPED) as out,
        running(settings, clock) as client,
    ):
        await bus.produce(
            LeadRoutedToNurture.TOPIC,
            [
                record(routed(mixed, "nurture", saturday, phone=None, country="GB")),  # email, sms
                record(routed(mails, "cold", saturday, phone=None, country="GB")),  # two e-mails
            ],
        )
        await wait_handled(settings, 2)
        clock.at = saturday + timedelta(hours=1)
        await bus.produce(
            LeadActivityRecorded.TOPIC,
            [
                record(activity(lead, ActivityKind.UNSUBSCRIBED, clock.at))
                for lead in (mixed, mails)
            ],
        )
        await wait_handled(settings, 4)
        # Nothing left to send: that enrollment completes at once.
        await out.wait_for(lambda r: len(of(r, STOPPED, mails)) == 1, what="mails completed")
        steps = {lead: (await enrollment(client, lead))["steps"] for lead in (mixed, mails)}
        assert [(s["mode"], s["status"], s["skipped_by"]) for s in steps[mixed]] == [
            ("email", "skipped", "unsubscribed"),
            ("sms", "pending", None),
        ]
        assert {(s["status"], s["skipped_by"]) for s in steps[mails]} == {
            ("skipped", "unsubscribed")
        }
        clock.at = utc(2026, 12, 16)
        await out.wait_for(lambda r: len(of(r, STOPPED, mixed)) == 1, what="mixed completed")
        await quiet(out)
    assert [(d["step"], d["mode"]) for d in of(out.records, STEP_DUE, mixed)] == [(2, "sms")]
    assert of(out.records, STEP_DUE, mails) == []
    assert {of(out.records, STOPPED, lead)[0]["reason"] for lead in (mixed, mails)} == {"completed"}
