"""Load that reflects effort, and reward and punishment, against a real broker and database:
a rep who breaches SLAs gets a smaller share of a queue (within the policy's bounds) than one
who contacts fast, the ledger explains each change, a manager's override is audited and
wins; open leads weigh by bucket in least-loaded and in capacity."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.router.config.settings import Settings
from services.router.main import create_app
from shared import clock
from shared.auth.scopes import Scope
from shared.contracts import LeadActivityRecorded, LeadFollowupClosed
from shared.contracts.capture import ActivityKind
from shared.contracts.topics import (
    LEAD_ACTIVITY,
    LEAD_ASSIGNED,
    LEAD_FOLLOWUP_CLOSED,
    LEAD_SCORED,
    LEAD_SLA_BREACHED,
)
from tests.support.app import running_app
from tests.support.auth import bearer, scope_key
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus, TopicReader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

# Hot leads have 5 s to be contacted and one attempt (a breach leaves the lead where it is);
# warm leads an hour, so the leads that measure the shares breach nothing while they run.
FAIRNESS_CONFIG = """
routing:
  default_queue: sales
  fairness:
    effects: {sla_breach: -0.2, fast_first_contact: 0.1}
    floor: 0.5
    ceiling: 1.5
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
  queues:
    - name: sales
      department: sales
      region: uk
      members: [ana, ben]
      strategy: weighted_round_robin
      sla: {first_contact: 1h, by_bucket: {hot: 5s}, max_attempts: 1}
"""

WEIGHTED_CONFIG = """
routing:
  default_queue: sales
  load_weights: {hot: 3, warm: 2, cold: 1}
  reps:
    - {id: ana, name: Ana, timezone: Europe/London, max_per_week: 50, max_per_month: 150}
    - {id: ben, name: Ben, timezone: Europe/London, max_open: 5}
  queues:
    - {name: sales, department: sales, region: uk, members: [ana, ben], strategy: least_loaded}
"""
ACTOR = {"X-Actor": "manager@example.com"}


def settings(database_url: str, bus: Bus, path: Path) -> Settings:
    return Settings(database_url=database_url, **bus.settings, config_file=path,
                    waiting_retry_s=0.2, sla_tick_s=0.1, kafka_partitions=3)  # fmt: skip


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(text)
    return path


async def assign(out: TopicReader, bus: Bus, bucket: str, n: int) -> list[dict[str, Any]]:
    """Produce ``n`` scored leads of ``bucket``; their assignments, in the order decided."""
    ids = [str(uuid.uuid4()) for _ in range(n)]
    await bus.produce(LEAD_SCORED, [record(lead_scored(i, bucket=bucket)) for i in ids])
    await out.wait_for(partial(_has_all, set(ids)), timeout=90, what=f"{n} assignments")
    found = [r["data"] for r in out.records if r["subject"] in ids]
    return sorted(found, key=lambda a: a["assigned_at"])


def _has_all(ids: set[str], records: list[dict[str, Any]]) -> bool:
    return ids <= {r["subject"] for r in records}


def activity(lead_id: str, rep_id: str, kind: ActivityKind) -> tuple[bytes, bytes]:
    now = clock.now()
    return record(
        LeadActivityRecorded(lead_id=lead_id, activity_id=str(uuid.uuid4()), kind=kind,
                             occurred_at=now, recorded_at=now, channel="call", rep_id=rep_id)
    )  # fmt: skip


async def ledger(client: httpx.AsyncClient, rep_id: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/reps/{rep_id}/ledger", headers=_reports())
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _reports() -> dict[str, str]:
    return bearer(scope_key(Scope.REPORTS_READ))


async def until_entries(client: httpx.AsyncClient, rep_id: str, kind: str, n: int) -> None:
    for _ in range(300):
        entries = (await ledger(client, rep_id))["entries"]
        if sum(e["kind"] == kind for e in entries) >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{rep_id}: fewer than {n} {kind} entries: {entries}")


def picked(assignment: dict[str, Any]) -> dict[str, Any]:
    rep = assignment["rep"]["rep_id"]
    return next(c for c in assignment["trace"]["candidates"] if c["rep_id"] == rep)


async def test_breaches_shrink_a_reps_share_within_bounds_and_the_ledger_explains_it(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    path = config_file(tmp_path, FAIRNESS_CONFIG)
    async with running_app(create_app(settings(database_url, bus, path))) as client:
        async with bus.reader(LEAD_ASSIGNED, LEAD_SLA_BREACHED) as out:
            # Twelve hot leads, six each: ana calls hers at once, ben never calls his.
            first = await assign(out, bus, "hot", 12)
            mine = Counter(a["rep"]["rep_id"] for a in first)
            assert mine == {"ana": 6, "ben": 6}
            assert all(picked(a)["multiplier"] is None for a in first)  # everyone at 1
            calls = [
                activity(a["lead_id"], "ana", ActivityKind.CONTACTED)
                for a in first
                if a["rep"]["rep_id"] == "ana"
            ]
            await bus.produce(LEAD_ACTIVITY, calls)
            await until_entries(client, "ana", "fast_first_contact", 6)
            await until_entries(client, "ben", "sla_breach", 6)

            ana, ben = await ledger(client, "ana"), await ledger(client, "ben")
            # Every change is an entry with its reason; the multiplier after each says where
            # the rep stood (ben: 0.8, 0.6, then held at the floor).
            breaches = list(reversed(ben["entries"]))
            assert [e["kind"] for e in breaches] == ["sla_breach"] * 6
            assert [e["effect"] for e in breaches] == [-0.2] * 6
            assert [e["multiplier_after"] for e in breaches] == [0.8, 0.6, 0.5, 0.5, 0.5, 0.5]
            assert all(
                e["reason"].startswith("missed the first-contact SLA in queue sales (attempt 1")
                and e["lead_id"] in {a["lead_id"] for a in first}
                and e["source_id"].startswith("sla:")
                for e in breaches
            )
            assert ben["fairness"] is True
            assert ben["multiplier"]["value"] == 0.5
            assert ben["multiplier"]["bound"] == "floor"
            assert len(ben["multiplier"]["contributions"]) == 6
            assert ben["multiplier"]["explanation"].startswith("0.50 = 1 -0.200 sla_breach")
            assert ben["multiplier"]["explanation"].endswith("held at the floor")
            calls_entries = list(reversed(ana["entries"]))
            assert [e["multiplier_after"] for e in calls_entries] == [1.1, 1.2, 1.3, 1.4, 1.5, 1.5]
            assert all(
                e["kind"] == "fast_first_contact"
                and e["reason"].endswith("after assignment (fast: within 5m)")
                for e in calls_entries
            )
            assert (ana["multiplier"]["value"], ana["multiplier"]["bound"]) == (1.5, "ceiling")

            # 300 more leads: ben gets floor / (floor + ceiling) of them, a quarter.
            second = await assign(out, bus, "warm", 300)
            shares = Counter(a["rep"]["rep_id"] for a in second)
            assert shares == {"ana": 225, "ben": 75}
            assert 0.5 / (0.5 + 1.5) <= shares["ben"] / 300 < 0.5
            # The decision trace shows the multiplier each pick applied.
            assert {(a["rep"]["rep_id"], picked(a)["multiplier"]) for a in second} == {
                ("ana", 1.5),
                ("ben", 0.5),
            }
            assert (
                "x multiplier 0.50"
                in picked(next(a for a in second if a["rep"]["rep_id"] == "ben"))["reason"]
            )
            reps = {r["rep_id"]: r for r in (await client.get("/v1/reps")).json()}
            assert (reps["ana"]["multiplier"], reps["ben"]["multiplier"]) == (1.5, 0.5)

            # A manager holds ben at 1.5 for a day: audited, in the ledger, and it wins.
            until = (clock.now() + timedelta(days=1)).isoformat()
            body = {"value": 1.5, "reason": "covered the trade show", "until": until}
            denied = await client.put("/v1/admin/reps/ben/multiplier", json=body,
                                      headers=_reports())  # fmt: skip
            assert denied.status_code == 403
            bad = await client.put("/v1/admin/reps/ben/multiplier", headers=ACTOR,
                                   json={**body, "value": 0})  # fmt: skip
            assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "value"
            unknown = await client.put("/v1/admin/reps/zed/multiplier", json=body, headers=ACTOR)
            assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_rep"
            answer = await client.put("/v1/admin/reps/ben/multiplier", json=body, headers=ACTOR)
            assert answer.status_code == 200, answer.text
            held = answer.json()
            assert held["value"] == 1.5 and held["override"]["by"].endswith("(manager@example.com)")
            assert held["explanation"].startswith("1.50: override by ")
            third = await assign(out, bus, "warm", 40)
            assert Counter(a["rep"]["rep_id"] for a in third) == {"ana": 20, "ben": 20}

            # A win is an entry too (ben stays held by the override).
            bens = next(a["lead_id"] for a in third if a["rep"]["rep_id"] == "ben")
            await bus.produce(LEAD_ACTIVITY, [activity(bens, "ben", ActivityKind.WON)])
            await until_entries(client, "ben", "won", 1)
            over = {**ACTOR, "X-Reason": "show is over"}
            cleared = await client.delete("/v1/admin/reps/ben/multiplier", headers=over)
            assert cleared.status_code == 200 and cleared.json()["value"] == 0.5
            audit = (await client.get("/v1/audit", params={"target": "rep:ben"})).json()["entries"]

    actions = [(e["action"], e["detail"].get("reason")) for e in audit]
    assert ("rep.multiplier_overridden", "covered the trade show") in actions
    assert ("rep.multiplier_override_cleared", "show is over") in actions
    assert "rep.ledger_read" in {a for a, _ in actions}


async def route_one(out: TopicReader, bus: Bus, bucket: str) -> dict[str, Any]:
    (assignment,) = await assign(out, bus, bucket, 1)
    return assignment


async def test_open_leads_weigh_by_bucket_in_least_loaded_and_capacity(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    path = config_file(tmp_path, WEIGHTED_CONFIG)
    async with running_app(create_app(settings(database_url, bus, path))) as client:
        async with bus.reader(LEAD_ASSIGNED) as out:
            order = [(await route_one(out, bus, b))["rep"]["rep_id"]
                     for b in ("hot", "cold", "cold", "cold", "hot")]  # fmt: skip
            # ana: hot, hot (6); ben: cold x3 (3). Counting leads, ana (2) would be lighter.
            assert order == ["ana", "ben", "ben", "ben", "ana"]
            nxt = await route_one(out, bus, "cold")
            assert nxt["rep"]["rep_id"] == "ben"
            reasons = {c["rep_id"]: c["reason"] for c in nxt["trace"]["candidates"]}
            assert reasons == {
                "ana": "sales: eligible, 2 open leads weighing 6",
                "ben": "sales: lightest load (3 open leads weighing 3)",
            }
            # ben (max_open 5) carries 4: a hot lead (3) would take him past it.
            hot = await route_one(out, bus, "hot")
            assert hot["rep"]["rep_id"] == "ana"
            reasons = {c["rep_id"]: c["reason"] for c in hot["trace"]["candidates"]}
            assert reasons["ben"] == (
                "sales: at capacity: max_open 5 reached (weighted load 4 + this lead's 3)"
            )
            reps = {r["rep_id"]: r for r in (await client.get("/v1/reps")).json()}

    assert {r: (v["open_leads"], v["open_weight"]) for r, v in reps.items()} == {
        "ana": (3, 9),
        "ben": (4, 4),
    }
    ana = reps["ana"]
    assert (ana["assigned_today"], ana["assigned_week"], ana["assigned_month"]) == (3, 3, 3)
    assert (ana["max_per_week"], ana["max_per_month"], ana["multiplier"]) == (50, 150, 1.0)


TOUCH_CONFIG = """
routing:
  default_queue: sales
  fairness:
    effects: {touch_late: -0.02, touch_missed: -0.05}
    floor: 0.5
    ceiling: 1.5
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
  queues:
    - {name: sales, department: sales, region: uk, members: [ana]}
"""


def closed(lead_id: str, outcome: str, step: int) -> LeadFollowupClosed:
    due = clock.now() - timedelta(days=2)
    return LeadFollowupClosed(
        lead_id=lead_id, plan_id=str(uuid.uuid4()), bucket="hot", rep_id="ana", rep_name="Ana",
        outcome=outcome, mode="call", step=step, of=3, due_at=due,
        done_at=due + timedelta(hours=3) if outcome != "missed" else None,
        closes_at=due + timedelta(days=1), closed_at=due + timedelta(days=1),
    )  # fmt: skip


async def test_late_and_missed_follow_up_touches_are_ledger_entries_once_each(
    database_url: str, bus: Bus, tmp_path: Path
) -> None:
    path = config_file(tmp_path, TOUCH_CONFIG)
    lead = str(uuid.uuid4())
    missed_id = str(uuid.uuid4())
    missed = record(closed(lead, "missed", 1), event_id=missed_id, source="nurture")
    late = closed(lead, "late", 2)
    in_time = closed(lead, "done", 3)
    async with running_app(create_app(settings(database_url, bus, path))) as client:
        # The missed touch is delivered twice (a redelivery); one lead: one partition, in order.
        await bus.produce(
            LEAD_FOLLOWUP_CLOSED, [missed, missed, record(in_time), record(late, source="nurture")]
        )
        await until_entries(client, "ana", "touch_late", 1)
        entries = list(reversed((await ledger(client, "ana"))["entries"]))
    assert [(e["kind"], e["effect"], e["lead_id"]) for e in entries] == [
        ("touch_missed", -0.05, lead),
        ("touch_late", -0.02, lead),
    ]
    assert entries[0]["source_id"] == missed_id
    assert entries[0]["reason"].startswith("follow-up touch 1 of 3 (call) due ")
    assert "missed: not done by" in entries[0]["reason"]
    assert entries[1]["reason"].endswith("done 3.0h after it was due")
    # Dated when missed (closed a day ago) and when done (45 hours ago), each effect has
    # faded that much of the 30-day window: 1 - 0.05 * 29/30 = 0.9517, then
    # - 0.02 * (1 - 1.875/30) = 0.9329.
    assert [e["multiplier_after"] for e in entries] == [0.9517, 0.9329]
