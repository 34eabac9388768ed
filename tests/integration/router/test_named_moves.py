"""Moves to a named person against a real broker and database, on the router's fixed clock:
an SLA escalation lands on the rep the owner's team manager takes leads as
(``then: {manager: true}``), and a recycle policy sends leads to a named rep
(``{to: rep, rep: zoe}``), freeing the old owner."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from shared.contracts.capture import ActivityKind
from shared.contracts.topics import (
    LEAD_ACTIVITY,
    LEAD_ASSIGNED,
    LEAD_GONE_COLD,
    LEAD_RECYCLED,
    LEAD_SCORED,
    LEAD_SLA_BREACHED,
    LEAD_STAGE_CHANGED,
)
from tests.integration.router.test_cold_recycle import (
    T0,
    activity,
    app_for,
    clock_of,
    of,
    open_leads,
)
from tests.support.app import running_app
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
routing:
  default_queue: sales
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
    - {id: uma, name: Uma Manager, email: uma@example.com, timezone: Europe/London}
    - {id: zoe, name: Zoe, timezone: Europe/London}
  teams:
    - name: uk
      manager: {name: Uma Manager, email: uma@example.com, rep: uma}
      members: [ana, ben]
  queues:
    - name: sales
      department: sales
      region: uk
      members: [ana, ben]
      sla: {first_contact: 5m, max_attempts: 1, then: {manager: true}}
  gone_cold:
    no_touch: {hot: 2d}
  recycling:
    gone_cold: {to: rep, rep: zoe, after: 1d}
    lost: {to: rep, rep: zoe, after: 7d}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    return path


async def test_a_breached_lead_is_escalated_to_the_owners_manager_as_their_rep(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(LEAD_ASSIGNED, LEAD_SLA_BREACHED) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="warm", score=70))])
        await out.wait_for(lambda r: bool(of(r, lead, "assigned")), what="the assignment")
        assert of(out.records, lead, "assigned")[0]["rep"]["rep_id"] == "ana"

        clock.advance(timedelta(minutes=5, seconds=1))  # ana misses her only attempt
        await out.wait_for(lambda r: len(of(r, lead, "assigned")) == 2, what="the escalation")
        (breach,) = of(out.records, lead, "sla_breached")
        assert (breach["rep"]["rep_id"], breach["action"]) == ("ana", "escalated")
        assert breach["next_rep"]["rep_id"] == "uma"
        assert breach["team"]["manager"] == {
            "name": "Uma Manager", "email": "uma@example.com", "slack_user_id": None,
            "rep_id": "uma",
        }  # fmt: skip
        assert "escalated to the owner's manager" in breach["reason"]
        assert "Uma Manager (manager of team uk, as rep uma) takes it" in breach["reason"]
        escalated = of(out.records, lead, "assigned")[1]
        assert (escalated["rep"]["rep_id"], escalated["previous_rep"]["rep_id"]) == ("uma", "ana")
        assert (escalated["escalated"], escalated["reassigned"], escalated["attempt"]) == (
            True, True, 2,
        )  # fmt: skip
        assert escalated["trace"]["strategy"] == "escalation"
        assert (await open_leads(client))["ana"] == 0
        assert (await open_leads(client))["uma"] == 1


async def test_cold_and_lost_leads_are_recycled_to_the_named_rep(
    database_url: str, bus: Bus, config: Path
) -> None:
    cold, lost = str(uuid.uuid4()), str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    topics = (LEAD_ASSIGNED, LEAD_GONE_COLD, LEAD_RECYCLED, LEAD_STAGE_CHANGED)
    async with running_app(app) as client, bus.reader(*topics) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(cold, bucket="hot"))])
        await out.wait_for(lambda r: bool(of(r, cold, "assigned")), what="ana's lead")
        await bus.produce(LEAD_SCORED, [record(lead_scored(lost, bucket="warm", score=70))])
        await out.wait_for(lambda r: bool(of(r, lost, "assigned")), what="ben's lead")
        # Contacted at once (no breach); the warm lead is then lost, the hot one goes quiet.
        called = [activity(i, ActivityKind.CALLED, T0 + timedelta(minutes=1)) for i in (cold, lost)]
        await bus.produce(LEAD_ACTIVITY, called)
        lose = activity(lost, ActivityKind.LOST, T0 + timedelta(minutes=2), reason="price")
        await bus.produce(LEAD_ACTIVITY, [lose])
        await out.wait_for(lambda r: len(of(r, lost, "stage_changed")) == 3, what="lost")
        assert await open_leads(client) == {"ana": 1, "ben": 0, "uma": 0, "zoe": 0}

        clock.advance(timedelta(days=2, minutes=2))  # quiet for 2d: cold
        await out.wait_for(lambda r: bool(of(r, cold, "gone_cold")), what="gone cold")
        clock.advance(timedelta(days=1))  # the cool-off is over: to zoe
        await out.wait_for(lambda r: bool(of(r, cold, "recycled")), what="the cold recycle")
        moved = of(out.records, cold, "recycled")[0]
        assert (moved["cause"], moved["to"], moved["queue"]) == ("gone_cold", "assigned", "sales")
        assert (moved["rep"]["rep_id"], moved["previous_rep"]["rep_id"]) == ("zoe", "ana")
        assert "recycled to rep zoe in queue sales" in moved["explanation"]
        await out.wait_for(lambda r: len(of(r, cold, "assigned")) == 2, what="zoe's assignment")
        again = of(out.records, cold, "assigned")[1]
        assert (again["rep"]["rep_id"], again["trace"]["strategy"]) == ("zoe", "named_rep")
        assert again["trace"]["rule"] == "recycled"
        assert await open_leads(client) == {"ana": 0, "ben": 0, "uma": 0, "zoe": 1}

        clock.advance(timedelta(days=4))  # 7d after the loss: to zoe, back in the funnel
        await out.wait_for(lambda r: bool(of(r, lost, "recycled")), what="the lost recycle")
        back = of(out.records, lost, "recycled")[0]
        assert (back["cause"], back["rep"]["rep_id"], back["reason"]) == ("lost", "zoe", "price")
        await out.wait_for(lambda r: len(of(r, lost, "stage_changed")) == 4, what="re-entry")
        reentry = of(out.records, lost, "stage_changed")[3]
        assert (reentry["from_stage"], reentry["to_stage"], reentry["cause"]) == (
            "lost", "mql", "recycled",
        )  # fmt: skip
        assert (reentry["rep_id"], reentry["queue"]) == ("zoe", "sales")
        assert await open_leads(client) == {"ana": 0, "ben": 0, "uma": 0, "zoe": 2}
