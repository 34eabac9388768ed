"""Routing at scale with real router processes: several ``leadflow run router`` replicas in
one consumer group, on one database and one broker, fed thousands of scored leads.

A sales tool's view (a plain consumer of ``leadflow.lead.assigned`` from the beginning)
must show every lead assigned exactly once, an exact rotation in the round-robin queue and
no rep above a cap; the router's own HTTP API must show the leads beyond the capped
queue's capacity waiting; and every replica must have done part of the work.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.router.config.model import load_routing
from services.router.config.settings import Settings
from services.router.handlers.events import make_batch_handler
from services.router.main import MIGRATIONS
from shared import clock
from shared.contracts import LeadScored
from shared.contracts.envelope import Envelope
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_SCORED
from shared.db.engine import make_engine
from shared.db.migrate import migrate
from shared.db.uow import UnitOfWork
from tests.support.auth import admin_client
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus, TopicReader
from tests.support.processes import ServiceProcess, running_replicas, wait_group_stable
from tests.support.stack import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

LEADS = 3000
PARTITIONS = 6  # divisible by 2 and 3: each replica owns 3 or 2 partitions of every topic
WAITING_RETRY_S = 1.0
SCORED_TYPE = LeadScored.TYPE
POOL = ["rr-ana", "rr-ben", "rr-cat", "rr-dan", "rr-eve"]
# The capped queue's reps and their caps; capacity = what each can take before a cap binds.
CAPS: dict[str, dict[str, int]] = {
    "cap-fay": {"max_open": 30},
    "cap-gus": {"max_per_day": 20},
    "cap-hal": {"max_open": 40, "max_per_day": 25},
    "cap-ivy": {"max_open": 10, "max_per_day": 50},
}
CAPACITY = sum(min(caps.values()) for caps in CAPS.values())  # 30 + 20 + 25 + 10 = 85


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now, so no rep's local day (and with it
    ``max_per_day``) rolls over while the test runs."""
    offset = (12 - now.astimezone(UTC).hour + 12) % 24 - 12  # hours east of UTC, -12..11
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign is inverted


def routing_section(zone: str) -> dict[str, Any]:
    reps: list[dict[str, Any]] = [{"id": r, "name": r.title(), "timezone": zone} for r in POOL]
    reps += [{"id": r, "name": r.title(), "timezone": zone, **caps} for r, caps in CAPS.items()]
    return {
        "default_queue": "pool",
        "nurture_buckets": ["nurture"],
        "reps": reps,
        "queues": [
            {"name": "pool", "department": "fashion", "region": "global", "members": POOL,
             "strategy": "round_robin"},
            {"name": "capped", "department": "software", "region": "global",
             "members": list(CAPS), "strategy": "round_robin"},  # no fallback: leads wait
        ],
        "rules": [
            {"name": "software-to-capped", "when": {"field": "interest", "eq": "software"},
             "queue": "capped"},
            {"name": "fashion-to-pool", "when": {"field": "interest", "in": ["shoes", "apparel"]},
             "queue": "pool"},
        ],
    }  # fmt: skip


def scored_leads(n: int, seed: int) -> list[tuple[str, str]]:
    """``(lead_id, interest)``; about one lead in ten is software (the capped queue)."""
    rng = random.Random(seed)
    return [
        (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "software" if rng.random() < 0.1 else rng.choice(["shoes", "apparel", "hats"]),
        )
        for _ in range(n)
    ]


def scored_event(lead_id: str, interest: str) -> LeadScored:
    return lead_scored(
        lead_id, score=82, fit=55, engagement=27, model_version="replicas-1", country="GB",
        interest=interest,
    )  # fmt: skip


def scored_record(lead_id: str, interest: str) -> tuple[bytes, bytes]:
    """A ``LeadScored`` event as the scorer publishes it: CloudEvents JSON keyed by lead id."""
    return record(scored_event(lead_id, interest), source="scorer")


def decisions(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """lead id -> {event id: assignment}; the same event twice (an outbox re-publish) is one
    entry, a second *different* assignment event is a second entry."""
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        if r.get("type") == "io.leadflow.lead.assigned.v1":
            out[r["subject"]][r["id"]] = r["data"]
    return out


async def wait_for_assignments(reader: TopicReader, expected: int, timeout: float) -> None:
    """Poll until ``expected`` leads have an assignment or the timeout passes (the
    assertions afterwards say what is missing), then a little longer so that a late extra
    assignment (a cap broken by the waiting-lead retry, a double) has time to show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(decisions(reader.records)) < expected and loop.time() < deadline:
        await reader.poll()
    settle = loop.time() + 2.5 * WAITING_RETRY_S
    while loop.time() < settle:
        await reader.poll()


async def scored_handled(proc: ServiceProcess) -> float:
    return await proc.counter("leadflow_events_handled_total", group="router", type=SCORED_TYPE)


@pytest.mark.parametrize(
    ("replicas", "kill_one"),
    [(2, False), (3, False), (3, True)],
    ids=["2-replicas", "3-replicas", "3-replicas-one-sigkilled-and-restarted"],
)
async def test_router_replicas_assign_every_lead_once_in_rotation_within_caps(
    replicas: int, kill_one: bool, database_url: str, bus: Bus, tmp_path: Path
) -> None:
    leads = scored_leads(LEADS, seed=replicas * 10 + kill_one)
    interest = dict(leads)
    to_capped = [lead for lead, i in leads if i == "software"]
    to_pool = [lead for lead, i in leads if i != "software"]
    assert len(to_capped) > CAPACITY + 50, "the capped queue must be over capacity"
    config = write_config(tmp_path, routing=routing_section(midday_zone(clock.now())))
    handled_before_kill = 0.0
    async with running_replicas(
        "router", replicas, database_url=database_url, bus=bus,
        config_file=config, home=tmp_path / "home", partitions=PARTITIONS,
        extra_env={"LEADFLOW_WAITING_RETRY_S": str(WAITING_RETRY_S)},
    ) as procs:  # fmt: skip
        await wait_group_stable(bus.bootstrap, bus.group("router"), replicas)
        async with bus.reader(LEAD_ASSIGNED) as reader:
            records = [scored_record(lead, i) for lead, i in leads]
            if not kill_one:
                await bus.produce(LEAD_SCORED, records)
            else:
                await bus.produce(LEAD_SCORED, records[:2000])
                await reader.wait_for(
                    lambda r: len(decisions(r)) >= 300, timeout=60, what="routing under way"
                )
                # the victim: a replica that is routing now (a slow one may not have started)
                so_far = [await scored_handled(p) for p in procs]
                victim = procs[max(range(replicas), key=lambda i: so_far[i])]
                handled_before_kill = max(so_far)
                await asyncio.to_thread(victim.kill)  # mid-stream: most of 2,000 still to route
                # its partitions moved
                await wait_group_stable(bus.bootstrap, bus.group("router"), replicas - 1)
                await asyncio.to_thread(victim.start)
                await victim.wait_ready()
                await wait_group_stable(bus.bootstrap, bus.group("router"), replicas)
                await bus.produce(LEAD_SCORED, records[2000:])
            await wait_for_assignments(reader, len(to_pool) + CAPACITY, timeout=90)
        by_lead = decisions(reader.records)
        handled = [await scored_handled(p) for p in procs]
        async with admin_client(timeout=60) as client:  # a few hundred reads at once
            queues = {q["name"]: q for q in (await client.get(f"{procs[0].url}/v1/queues")).json()}
            reps = {r["rep_id"]: r for r in (await client.get(f"{procs[-1].url}/v1/reps")).json()}
            waiting = [lead for lead in to_capped if lead not in by_lead]
            answers = await asyncio.gather(*(
                client.get(f"{procs[i % replicas].url}/v1/leads/{lead}/assignment")
                for i, lead in enumerate(waiting + to_pool[:100])
            ))  # fmt: skip

    # Exactly once: every pool lead assigned, no lead with two different assignments.
    doubled = {lead: list(events) for lead, events in by_lead.items() if len(events) > 1}
    assert not doubled, f"{len(doubled)} lead(s) assigned more than once: {doubled}"
    assignment = {lead: next(iter(events.values())) for lead, events in by_lead.items()}
    assert set(assignment) <= set(interest), "an assignment for a lead that was never scored"
    missing = [lead for lead in to_pool if lead not in assignment]
    assert not missing, f"{len(missing)} pool lead(s) never assigned, e.g. {missing[:3]}"
    assert all(assignment[lead]["queue"] == "pool" for lead in to_pool)

    # Rotation: an exact round robin over the five pool reps, across every replica.
    per_pool_rep = Counter(assignment[lead]["rep"]["rep_id"] for lead in to_pool)
    assert set(per_pool_rep) == set(POOL)
    assert max(per_pool_rep.values()) - min(per_pool_rep.values()) <= 1, per_pool_rep

    # Caps: each capped rep takes exactly what its binding cap allows, the rest wait.
    capped = [assignment[lead] for lead in to_capped if lead in assignment]
    per_capped_rep = Counter(a["rep"]["rep_id"] for a in capped)
    assert all(a["queue"] == "capped" for a in capped)
    for rep_id, caps in CAPS.items():
        assert per_capped_rep[rep_id] <= min(caps.values()), (rep_id, per_capped_rep)
    assert len(capped) == CAPACITY, per_capped_rep  # no cap exceeded, none left unused
    for rep_id, caps in CAPS.items():
        load = reps[rep_id]
        assert load["open_leads"] == per_capped_rep[rep_id], load
        assert load["assigned_today"] == per_capped_rep[rep_id], load
        assert load["open_leads"] <= caps.get("max_open", load["open_leads"]), load
        assert load["assigned_today"] <= caps.get("max_per_day", load["assigned_today"]), load

    # The router's HTTP API agrees: how many are open and how many wait, lead by lead.
    assert (queues["pool"]["open"], queues["pool"]["waiting"]) == (len(to_pool), 0)
    assert queues["capped"]["open"] == CAPACITY
    assert queues["capped"]["waiting"] == len(to_capped) - CAPACITY == len(waiting)
    for lead, resp in zip(waiting + to_pool[:100], answers, strict=True):
        assert resp.status_code == 200, resp.text
        decision = resp.json()
        if lead in assignment:
            assert decision["status"] == "assigned"
            assert decision["rep_id"] == assignment[lead]["rep"]["rep_id"]
            assert decision["assignment_id"] == assignment[lead]["assignment_id"]
        else:
            assert (decision["status"], decision["queue"], decision["rep_id"]) == (
                "waiting", "capped", None,
            ), decision  # fmt: skip

    # Every replica routed part of the stream (its own partitions; counted after the inbox).
    assert all(n > 0 for n in handled), f"a replica routed nothing: {handled}"
    if kill_one:
        assert handled_before_kill > 0, "the killed replica had routed nothing before the kill"
    else:
        assert sum(handled) == LEADS, f"scored events applied {sum(handled)} times: {handled}"


async def test_daily_cap_holds_when_replicas_rounds_straddle_midnight(
    database_url: str, tmp_path: Path
) -> None:
    """Two replicas near a rep's local midnight: A reads its clock at 23:59:59 and waits for
    the routing lock that B, which read 00:00:01, holds. Whatever order the rounds run in,
    the rep must not get more than ``max_per_day`` leads stamped on the new day.

    In-process with the handler's own ``clock`` parameter, because a real process's clock
    cannot be set (the router has no clock setting) and the race needs two clocks.
    """
    config = write_config(tmp_path, routing={
        "default_queue": "solo", "reps": [
            {"id": "sol", "name": "Sol", "timezone": "UTC", "max_per_day": 2}],
        "queues": [{"name": "solo", "department": "any", "region": "any", "members": ["sol"]}],
    })  # fmt: skip
    routing = load_routing(config)
    engine = make_engine(Settings(database_url=database_url).asyncpg_url, "router")
    midnight = datetime(2026, 3, 3, tzinfo=UTC)

    async def route_round(at: datetime, *lead_ids: str) -> None:
        handle = make_batch_handler(routing, clock=lambda: at)
        envelopes = [
            Envelope(str(uuid.uuid4()), "scorer", LeadScored.TYPE, at, lead_id,
                     scored_event(lead_id, "shoes"))
            for lead_id in lead_ids
        ]  # fmt: skip
        async with UnitOfWork(engine, "router") as uow:
            await handle(uow, envelopes)
            await uow.commit()

    try:
        await migrate(engine, "router", MIGRATIONS)
        first, late, *next_day = (str(uuid.uuid4()) for _ in range(4))
        await route_round(midnight + timedelta(seconds=1), first)  # B: took the lock first
        await route_round(midnight - timedelta(seconds=1), late)  # A: its clock read earlier
        await route_round(midnight + timedelta(seconds=2), *next_day)  # the next round
        async with engine.connect() as conn:
            on_new_day = (
                await conn.execute(
                    text("SELECT count(*) FROM leads WHERE rep_id = 'sol' AND assigned_at >= :d"),
                    {"d": midnight},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert on_new_day <= 2, f"sol got {on_new_day} leads on the new day; max_per_day is 2"
