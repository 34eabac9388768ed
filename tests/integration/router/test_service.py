"""The router against a real broker and database: scored leads in, assignments out."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from services.router.config import Settings
from services.router.main import create_app
from shared import clock
from shared.contracts import LeadActivityRecorded
from shared.contracts.capture import ActivityKind
from shared.contracts.topics import (
    LEAD_ACTIVITY,
    LEAD_ASSIGNED,
    LEAD_ROUTED_TO_NURTURE,
    LEAD_SCORED,
)
from tests.support.app import running_app
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
routing:
  default_queue: general
  nurture_buckets: [nurture]
  reps:
    - {id: ana, name: Ana, email: ana@example.com, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
    - {id: cat, name: Cat, timezone: Europe/London}
    - {id: dan, name: Dan, timezone: Europe/London, max_open: 2}
    - {id: eve, name: Eve, timezone: Europe/London, online: false}
  queues:
    - {name: fashion-uk, department: fashion, region: uk, members: [ana, ben, cat],
       strategy: round_robin, fallback: general, sla: 15m}
    - {name: capped, department: software, region: uk, members: [dan]}
    - {name: offline, department: software, region: us, members: [eve], fallback: general}
    - {name: general, department: general, region: global, members: [ben]}
  rules:
    - name: uk-shoes
      when: {all: [{field: country, eq: GB}, {field: interest, in: [shoes, apparel]}]}
      queue: fashion-uk
    - {name: capped-software, when: {field: interest, eq: software}, queue: capped}
    - {name: offline-hardware, when: {field: interest, eq: hardware}, queue: offline}
"""


def scored(lead_id: str, bucket: str = "hot", **profile: Any) -> tuple[bytes, bytes]:
    return record(lead_scored(lead_id, bucket=bucket, **profile))


def settings(database_url: str, bus: Bus, config: Path) -> Settings:
    return Settings(
        database_url=database_url,
        **bus.settings,
        config_file=config,
        waiting_retry_s=0.2,
        kafka_partitions=3,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    return path


def _more_than(n: int, records: list[dict[str, Any]]) -> bool:
    return len(records) > n


def lead_ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


async def test_routes_gb_shoes_round_robin_with_trace(
    database_url: str, bus: Bus, config: Path
) -> None:
    ids = lead_ids(9)
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        async with bus.reader(LEAD_ASSIGNED) as out:
            for done, lead_id in enumerate(ids):  # one at a time: rotation order is observable
                await bus.produce(LEAD_SCORED, [scored(lead_id, country="GB", interest="shoes")])
                await out.wait_for(partial(_more_than, done), what="assignment")
        reps = [r["data"]["rep"]["rep_id"] for r in out.records]
        assert reps == ["ana", "ben", "cat"] * 3
        first = out.records[0]["data"]
        assert first["queue"] == "fashion-uk"
        assert first["trace"]["rule"] == "uk-shoes"
        assert first["trace"]["strategy"] == "round_robin"
        assert first["lead"]["email"].endswith("@acme.example")
        assert first["sla_due_at"] is not None
        decision = (await client.get(f"/v1/leads/{ids[0]}/assignment")).json()
        assert decision["rep_id"] == "ana" and decision["status"] == "assigned"


async def test_nurture_bucket_goes_to_nurture_and_a_known_lead_keeps_its_owner(
    database_url: str, bus: Bus, config: Path
) -> None:
    cold, hot = lead_ids(2)
    async with running_app(create_app(settings(database_url, bus, config))):
        async with bus.reader(LEAD_ASSIGNED, LEAD_ROUTED_TO_NURTURE) as out:
            await bus.produce(LEAD_SCORED, [
                scored(cold, bucket="nurture", country="GB", interest="shoes"),
                scored(hot, country="GB", interest="shoes"),
                scored(hot, country="GB", interest="shoes"),  # re-scored: keeps its owner
                scored(cold, bucket="nurture", country="GB", interest="shoes"),  # stays
                scored(cold, bucket="hot", country="GB", interest="shoes"),  # qualified now
            ])  # fmt: skip
            await out.wait_for(lambda r: len(r) >= 3, what="three decisions")
            await asyncio.sleep(0.5)
            await out.poll()
        types = Counter((r["subject"], r["type"].split(".")[-2]) for r in out.records)
        assert types == {
            (cold, "routed_to_nurture"): 1,
            (cold, "assigned"): 1,
            (hot, "assigned"): 1,
        }


async def test_capacity_cap_holds_and_waiting_leads_are_assigned_when_capacity_frees(
    database_url: str, bus: Bus, config: Path
) -> None:
    ids = lead_ids(3)
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        async with bus.reader(LEAD_ASSIGNED) as out:
            await bus.produce(
                LEAD_SCORED, [scored(i, country="US", interest="software") for i in ids]
            )
            await out.wait_for(lambda r: len(r) >= 2, what="two assignments")
            await asyncio.sleep(0.6)  # the waiting retry runs every 0.2 s
            await out.poll()
            assert len(out.records) == 2, "dan's cap of 2 open leads was exceeded"
            waiting = [i for i in ids if i not in {r["subject"] for r in out.records}]
            decision = (await client.get(f"/v1/leads/{waiting[0]}/assignment")).json()
            assert decision["status"] == "waiting" and decision["queue"] == "capped"
            won = LeadActivityRecorded(
                lead_id=out.records[0]["subject"], activity_id=str(uuid.uuid4()),
                kind=ActivityKind.WON, occurred_at=clock.now(), recorded_at=clock.now(),
            )  # fmt: skip
            await bus.produce(LEAD_ACTIVITY, [record(won)])
            await out.wait_for(lambda r: len(r) >= 3, what="the waiting lead assigned")
        assert out.records[2]["subject"] == waiting[0]
        assert out.records[2]["data"]["rep"]["rep_id"] == "dan"


async def test_simulate_explains_without_side_effects(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with running_app(create_app(settings(database_url, bus, config))) as client:
        body = {"lead": {"source": "web", "country": "US", "interest": "hardware"}, "bucket": "hot"}
        first = (await client.post("/v1/routing:simulate", json=body)).json()
        second = (await client.post("/v1/routing:simulate", json=body)).json()
        assert first == second  # nothing moved
        assert first["outcome"] == "assigned"
        assert first["matched_queue"] == "offline" and first["queue"] == "general"
        assert any(c["rep_id"] == "eve" and not c["eligible"] for c in first["candidates"])
        bad = await client.post("/v1/routing:simulate", json={"lead": {"country": 3}})
        assert bad.status_code == 422
        assert {p["field"] for p in bad.json()["problems"]} >= {"lead.source"}


async def test_two_router_replicas_never_double_assign_and_stay_fair(
    database_url: str, bus: Bus, config: Path
) -> None:
    ids = lead_ids(300)
    app_a = create_app(settings(database_url, bus, config))
    app_b = create_app(settings(database_url, bus, config))
    async with running_app(app_a), running_app(app_b):
        async with bus.reader(LEAD_ASSIGNED) as out:
            await bus.produce(
                LEAD_SCORED, [scored(i, country="GB", interest="apparel") for i in ids]
            )
            await out.wait_for(lambda r: len({x["subject"] for x in r}) >= 300, timeout=60,
                               what="300 leads assigned")  # fmt: skip
            await asyncio.sleep(0.5)
            await out.poll()
    per_lead = Counter(r["subject"] for r in out.records)
    assert set(per_lead) == set(ids)
    assert max(per_lead.values()) == 1
    per_rep = Counter(r["data"]["rep"]["rep_id"] for r in out.records)
    assert max(per_rep.values()) - min(per_rep.values()) <= 1, per_rep
