"""Lifecycle stages against a real broker and database, on the router's fixed clock: a
qualifying score, a rep's call, a meeting and the outcome each move the lead once, with the
fact's own time; redelivered facts move nothing; a lost lead recycled re-enters at mql; the
history is readable and goes with the lead on erasure."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shared.contracts import LeadErased
from shared.contracts.capture import ActivityKind
from shared.contracts.topics import (
    LEAD_ACTIVITY,
    LEAD_ERASED,
    LEAD_RECYCLED,
    LEAD_SCORED,
    LEAD_STAGE_CHANGED,
)
from tests.integration.router.test_cold_recycle import (
    T0,
    activity,
    app_for,
    clock_of,
    of,
    settle,
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
  queues:
    - {name: sales, department: sales, region: uk, members: [ana]}
  recycling:
    lost: {to: nurture, after: 30d}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    return path


def moves(records: list[dict[str, Any]], lead: str) -> list[tuple[str, str, str]]:
    return [
        (m["from_stage"], m["to_stage"], m["cause"]) for m in of(records, lead, "stage_changed")
    ]


async def test_a_lead_moves_stage_by_stage_once_each_with_the_facts_time(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead, skipper = str(uuid.uuid4()), str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(LEAD_STAGE_CHANGED) as out:
        scored = lead_scored(lead, bucket="hot")
        await bus.produce(LEAD_SCORED, [record(scored), record(lead_scored(skipper))])
        await out.wait_for(lambda r: len(of(r, skipper, "stage_changed")) == 1, what="mql")
        first = of(out.records, lead, "stage_changed")[0]
        assert (first["from_stage"], first["to_stage"], first["cause"]) == (
            "captured", "mql", "qualified",
        )  # fmt: skip
        assert (first["rep_id"], first["queue"]) == ("ana", "sales")
        assert first["changed_at"] == scored.scored_at.isoformat().replace("+00:00", "Z")

        called = activity(lead, ActivityKind.CALLED, T0 + timedelta(minutes=3))
        await bus.produce(LEAD_ACTIVITY, [called])
        await out.wait_for(lambda r: len(of(r, lead, "stage_changed")) == 2, what="sql")
        sql = of(out.records, lead, "stage_changed")[1]
        assert (sql["from_stage"], sql["to_stage"], sql["cause"]) == ("mql", "sql", "called")
        assert sql["changed_at"].startswith("2026-03-02T10:03:00")

        meeting = activity(lead, ActivityKind.MEETING_BOOKED, T0 + timedelta(hours=2))
        won = activity(lead, ActivityKind.WON, T0 + timedelta(days=3), amount="1200")
        # Redelivered (the same events again) and repeated (another call): nothing moves.
        again = activity(lead, ActivityKind.CALLED, T0 + timedelta(days=1))
        await bus.produce(LEAD_ACTIVITY, [meeting, meeting, called, again, won, won])
        # A meeting booked on a lead nobody reported a call for: one mql -> opportunity.
        direct = activity(skipper, ActivityKind.MEETING_BOOKED, T0 + timedelta(hours=1))
        await bus.produce(LEAD_ACTIVITY, [direct, direct])
        await out.wait_for(lambda r: len(of(r, lead, "stage_changed")) >= 4, what="won")
        await out.wait_for(lambda r: len(of(r, skipper, "stage_changed")) >= 2, what="opportunity")
        await bus.produce(LEAD_ACTIVITY, [meeting, won])  # once more, in a later batch
        await settle(out)

        assert moves(out.records, lead) == [
            ("captured", "mql", "qualified"),
            ("mql", "sql", "called"),
            ("sql", "opportunity", "meeting_booked"),
            ("opportunity", "won", "won"),
        ]
        assert moves(out.records, skipper) == [
            ("captured", "mql", "qualified"),
            ("mql", "opportunity", "meeting_booked"),
        ]
        stages = (await client.get(f"/v1/leads/{lead}/stages")).json()
        assert stages["stage"] == "won"
        history = [(h["from_stage"], h["to_stage"], h["changed_at"][:19], h["rep_id"])
                   for h in stages["history"]]  # fmt: skip
        assert history[1:] == [
            ("mql", "sql", "2026-03-02T10:03:00", "ana"),
            ("sql", "opportunity", "2026-03-02T12:00:00", "ana"),
            ("opportunity", "won", "2026-03-05T10:00:00", "ana"),
        ]
        unknown = await client.get(f"/v1/leads/{uuid.uuid4()}/stages")
        assert unknown.status_code == 404


async def test_a_lost_lead_recycled_re_enters_at_mql_and_its_stages_go_with_erasure(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app) as client, bus.reader(LEAD_STAGE_CHANGED, LEAD_RECYCLED) as out:
        clock = clock_of(app)
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="warm", score=70))])
        lost = activity(lead, ActivityKind.LOST, T0 + timedelta(hours=1), reason="no_budget")
        await bus.produce(LEAD_ACTIVITY, [lost])
        await out.wait_for(lambda r: len(of(r, lead, "stage_changed")) == 2, what="lost")
        assert moves(out.records, lead)[1] == ("mql", "lost", "lost")

        clock.advance(timedelta(days=30, minutes=1))  # the cool-off is over: to nurture
        await out.wait_for(lambda r: len(of(r, lead, "stage_changed")) == 3, what="re-entry")
        back = of(out.records, lead, "stage_changed")[2]
        assert (back["from_stage"], back["to_stage"], back["cause"]) == ("lost", "mql", "recycled")
        assert (back["rep_id"], back["queue"]) == (None, None)  # in nurture: nobody owns it
        assert back["changed_at"].startswith("2026-04-01T10:01")
        assert of(out.records, lead, "recycled")[0]["to"] == "nurture"

        await bus.produce(LEAD_ERASED, [record(LeadErased(lead_id=lead, erased_at=clock()))])
        for _ in range(100):
            if (await client.get(f"/v1/leads/{lead}/stages")).status_code == 404:
                break
            await asyncio.sleep(0.05)
        assert (await client.get(f"/v1/leads/{lead}/stages")).status_code == 404
        async with app.state.runtime.engine.connect() as conn:
            left = await conn.scalar(
                text("SELECT count(*) FROM lead_stage_changes WHERE lead_id = :id"), {"id": lead}
            )
        assert left == 0


async def test_a_lead_lost_while_nurtured_re_enters_when_routed_to_a_rep(
    database_url: str, bus: Bus, config: Path
) -> None:
    lead = str(uuid.uuid4())
    app = app_for(database_url, bus, config)
    async with running_app(app), bus.reader(LEAD_STAGE_CHANGED) as out:
        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="nurture", score=65))])
        lost = activity(lead, ActivityKind.LOST, T0 + timedelta(hours=1), reason="no_budget")
        await bus.produce(LEAD_ACTIVITY, [lost])
        await out.wait_for(lambda r: len(of(r, lead, "stage_changed")) == 2, what="lost")
        nurtured = of(out.records, lead, "stage_changed")[1]
        assert (nurtured["to_stage"], nurtured["rep_id"], nurtured["queue"]) == ("lost", None, None)

        await bus.produce(LEAD_SCORED, [record(lead_scored(lead, bucket="hot", score=90))])
        await out.wait_for(lambda r: len(of(r, lead, "stage_changed")) == 3, what="re-entry")
        await settle(out)
        assert moves(out.records, lead) == [
            ("captured", "mql", "qualified"),
            ("mql", "lost", "lost"),
            ("lost", "mql", "routed"),  # the qualifying score in that batch adds nothing
        ]
        back = of(out.records, lead, "stage_changed")[2]
        assert (back["rep_id"], back["queue"]) == ("ana", "sales")
