"""First-contact SLAs against a real broker and database: warning, breach, reassignment and
escalation when nobody contacts the lead; a contact stops the clock; timers survive a
restart and fire once with two replicas."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.router.config.settings import Settings
from services.router.main import create_app
from shared import clock
from shared.contracts import LeadActivityRecorded
from shared.contracts.capture import ActivityKind
from shared.contracts.topics import (
    LEAD_ACTIVITY,
    LEAD_ASSIGNED,
    LEAD_SCORED,
    LEAD_SLA_BREACHED,
    LEAD_SLA_WARNING,
)
from tests.support.app import running_app
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

# No working hours: always at work, so the business-hours clock runs like the wall clock
# (the business-hours arithmetic itself is unit-tested).
CONFIG = """
routing:
  default_queue: sales
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
    - {id: boss, name: Boss, email: boss@example.com, timezone: Europe/London}
  queues:
    - name: sales
      department: sales
      region: uk
      members: [ana, ben]
      strategy: least_loaded   # looks at every member: the trace lists who was skipped
      sla:
        first_contact: 4s
        by_bucket: {hot: 2s}
        warn_before: 1s
        business_hours: true
        max_attempts: 2
        then: {rep: boss}
"""
SLA_TOPICS = (LEAD_ASSIGNED, LEAD_SLA_WARNING, LEAD_SLA_BREACHED)


def scored(lead_id: str, bucket: str) -> tuple[bytes, bytes]:
    return record(lead_scored(lead_id, bucket=bucket, country="GB"))


def contacted(lead_id: str, rep_id: str) -> tuple[bytes, bytes]:
    event = LeadActivityRecorded(
        lead_id=lead_id, activity_id=str(uuid.uuid4()), kind=ActivityKind.CONTACTED,
        occurred_at=clock.now(), recorded_at=clock.now(), channel="call", rep_id=rep_id,
    )  # fmt: skip
    return record(event)


def settings(database_url: str, bus: Bus, config: Path) -> Settings:
    return Settings(
        database_url=database_url,
        **bus.settings,
        config_file=config,
        waiting_retry_s=0.2,
        sla_tick_s=0.1,
        kafka_partitions=3,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    return path


def kind(record: dict[str, Any]) -> str:
    return str(record["type"]).split(".")[-2]  # io.leadflow.lead.sla_breached.v1 -> sla_breached


def of(records: list[dict[str, Any]], lead_id: str, *kinds: str) -> list[dict[str, Any]]:
    return [r["data"] for r in records if r["subject"] == lead_id and kind(r) in kinds]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_uncontacted_lead_is_warned_breached_reassigned_then_escalated(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        async with bus.reader(*SLA_TOPICS) as out:
            await bus.produce(LEAD_SCORED, [scored(lead, "hot")])
            await out.wait_for(
                lambda r: len(of(r, lead, "sla_breached")) >= 3, timeout=30,
                what="three breaches: ana, ben, then the escalated boss",
            )  # fmt: skip
            reps = (await client.get("/v1/reps")).json()
            view = (await client.get(f"/v1/leads/{lead}/assignment")).json()
            stats = {
                r: (await client.get(f"/v1/reps/{r}/stats")).json() for r in ("ana", "ben", "boss")
            }
            report = (await client.get("/v1/reports/reps")).json()
            tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
            later = (await client.get("/v1/reports/reps", params={"since": tomorrow})).json()

    assigned = of(out.records, lead, "assigned")
    warnings = of(out.records, lead, "sla_warning")
    breaches = of(out.records, lead, "sla_breached")
    # ana first, then ben (never ana again), then the manager as the escalation.
    owners = [(a["rep"]["rep_id"], a["attempt"], a["reassigned"], a["escalated"]) for a in assigned]
    assert owners == [("ana", 1, False, False), ("ben", 2, True, False), ("boss", 3, True, True)]
    assert [a["previous_rep"] for a in assigned] == [
        None,
        {"rep_id": "ana", "name": "Ana", "email": None, "timezone": "Europe/London"},
        {"rep_id": "ben", "name": "Ben", "email": None, "timezone": "Europe/London"},
    ]
    assert any(
        c
        == {
            "rep_id": "ana",
            "eligible": False,
            "reason": "sales: excluded (already had this lead)",
            "multiplier": None,  # no fairness policy: no multiplier applied
            "weight": 1,  # the configured weight (the default)
        }
        for c in assigned[1]["trace"]["candidates"]
    )
    assert assigned[2]["trace"]["strategy"] == "escalation"
    first = assigned[0]
    assert at(first["sla_due_at"]) == at(first["assigned_at"]) + timedelta(seconds=2)  # hot: 2s

    # Each rep was warned once, a second before the deadline, then breached at it.
    assert [w["rep"]["rep_id"] for w in warnings] == ["ana", "ben", "boss"]
    assert [b["rep"]["rep_id"] for b in breaches] == ["ana", "ben", "boss"]
    assert [b["action"] for b in breaches] == ["reassigned", "escalated", "kept"]
    assert [b["next_rep"] and b["next_rep"]["rep_id"] for b in breaches] == ["ben", "boss", None]
    for warning, breach, assignment in zip(warnings, breaches, assigned, strict=True):
        due = at(assignment["sla_due_at"])
        assert warning["assignment_id"] == breach["assignment_id"] == assignment["assignment_id"]
        assert at(warning["due_at"]) == at(breach["due_at"]) == due
        assert due - timedelta(seconds=1) <= at(warning["warned_at"]) < due
        assert at(breach["breached_at"]) >= due
        assert (breach["max_attempts"], breach["business_hours"]) == (2, True)
    assert breaches[0]["lead"]["email"] == f"{lead[:8]}@acme.example"

    # Capacity follows the lead: only the rep who has it now counts it as open.
    open_leads = {r["rep_id"]: r["open_leads"] for r in reps}
    assert open_leads == {"ana": 0, "ben": 0, "boss": 1}
    assert (view["rep_id"], view["assignment_id"]) == ("boss", assigned[2]["assignment_id"])
    assert view["sla"]["owners"] == ["ana", "ben", "boss"]
    assert (view["sla"]["status"], view["sla"]["escalated"], view["sla"]["pending"]) == (
        "breached",
        True,
        [],
    )

    def counts(s: dict[str, Any]) -> tuple[int, ...]:
        return (s["assigned"], s["breached"], s["reassigned_away"], s["contacted"], s["won"])

    assert counts(stats["ana"]) == (1, 1, 1, 0, 0)
    assert counts(stats["ben"]) == (1, 1, 1, 0, 0)
    assert counts(stats["boss"]) == (1, 1, 0, 0, 0)
    assert stats["ana"]["sla_met_rate"] == 0.0
    assert [r["rep_id"] for r in report["reps"]] == ["ana", "ben", "boss"]
    assert all(r["assigned"] == 0 for r in later["reps"])


async def test_contact_before_the_deadline_stops_the_clock(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead, won_lead = str(uuid.uuid4()), str(uuid.uuid4())
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        async with bus.reader(*SLA_TOPICS) as out:
            await bus.produce(LEAD_SCORED, [scored(lead, "warm")])
            await out.wait_for(lambda r: of(r, lead, "assigned") != [], what="the assignment")
            assignment = of(out.records, lead, "assigned")[0]
            assert assignment["rep"]["rep_id"] == "ana"
            await bus.produce(LEAD_ACTIVITY, [contacted(lead, "ana")])
            due = at(assignment["sla_due_at"])  # warm: 4s, warning at 3s
            while (now := clock.now()) < due + timedelta(seconds=1.5):
                await asyncio.sleep(min(0.2, (due + timedelta(seconds=1.5) - now).total_seconds()))
                await out.poll()
            view = (await client.get(f"/v1/leads/{lead}/assignment")).json()
            # A won lead counts for its owner and frees the capacity.
            await bus.produce(LEAD_SCORED, [scored(won_lead, "warm")])
            await out.wait_for(lambda r: of(r, won_lead, "assigned") != [], what="second lead")
            won = LeadActivityRecorded(
                lead_id=won_lead, activity_id=str(uuid.uuid4()), kind=ActivityKind.WON,
                occurred_at=clock.now(), recorded_at=clock.now(),
            )  # fmt: skip
            await bus.produce(LEAD_ACTIVITY, [record(won)])
            for _ in range(100):
                ben = (await client.get("/v1/reps/ben/stats")).json()
                if ben["won"]:
                    break
                await asyncio.sleep(0.1)
            ana = (await client.get("/v1/reps/ana/stats")).json()
            reps = {r["rep_id"]: r for r in (await client.get("/v1/reps")).json()}
            unknown = await client.get("/v1/reps/nobody/stats")
            bad_since = await client.get("/v1/reports/reps", params={"since": "last week"})

    assert of(out.records, lead, "sla_warning", "sla_breached") == []
    assert len(of(out.records, lead, "assigned")) == 1
    assert view["sla"]["status"] == "met" and view["sla"]["pending"] == []
    assert view["contacted_at"] is not None
    assert (ana["assigned"], ana["contacted"], ana["contacted_within_sla"], ana["breached"]) == (
        1,
        1,
        1,
        0,
    )
    assert ana["sla_met_rate"] == 1.0 and ana["avg_first_contact_s"] < 4
    assert (ben["assigned"], ben["won"], ben["contacted"]) == (1, 1, 1)  # won is a contact too
    assert reps["ben"]["open_leads"] == 0 and reps["ana"]["open_leads"] == 1
    assert unknown.status_code == 404
    assert bad_since.status_code == 422


async def test_timers_survive_a_restart_and_two_replicas_fire_each_once(
    database_url: str, bus: Bus, config: Path
) -> None:
    leads = [str(uuid.uuid4()) for _ in range(10)]
    async with running_app(create_app(settings(database_url, bus, config))):
        async with bus.reader(LEAD_ASSIGNED) as first:
            await bus.produce(LEAD_SCORED, [scored(i, "hot") for i in leads])
            await first.wait_for(lambda r: len(r) >= 10, what="ten assignments")
    # Down while every deadline (2s) passes.
    await asyncio.sleep(2.5)
    app_a = create_app(settings(database_url, bus, config))
    app_b = create_app(settings(database_url, bus, config))
    async with running_app(app_a), running_app(app_b):
        async with bus.reader(*SLA_TOPICS) as out:
            await out.wait_for(
                lambda r: len([x for x in r if kind(x) == "sla_breached"]) >= 30, timeout=40,
                what="every lead breached by its three reps",
            )  # fmt: skip
            await asyncio.sleep(0.5)
            await out.poll()
    breaches = Counter(
        (r["subject"], r["data"]["attempt"]) for r in out.records if kind(r) == "sla_breached"
    )
    assert set(breaches) == {(lead, n) for lead in leads for n in (1, 2, 3)}
    assert max(breaches.values()) == 1, "a timer fired twice"
    reassigned = Counter(
        (r["subject"], r["data"]["attempt"]) for r in out.records if kind(r) == "assigned"
    )
    assert reassigned == {(lead, n): 1 for lead in leads for n in (1, 2, 3)}
    warnings = Counter(
        (r["subject"], r["data"]["attempt"]) for r in out.records if kind(r) == "sla_warning"
    )
    # The first deadlines passed while the router was down: no late warnings for them.
    assert {n for _, n in warnings} == {2, 3} and max(warnings.values()) == 1
