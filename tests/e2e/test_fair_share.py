"""Reward and punishment across the services as real processes, on a driven clock: over 1,000 leads
in one queue, a rep who lets every lead breach its first-contact SLA ends up with a
measurably smaller share than one who calls within minutes, never past the policy's floor
and ceiling, and the rep's ledger (``GET /v1/reps/{id}/ledger``) explains every change.

Ten rounds of 100 leads go in through capture's batch API as a web back end would post them.
After each round the sales tool reports ``fast``'s first contacts at once, ``slow`` reports
nothing, and the test moves every service's clock past the 10-minute SLA, so ``slow``'s
leads breach by the clock, not by sleeping. Scoring and nurture are the example's (follow-up
plans off, to keep the run to the routing); the routing is the queue below.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.clock import write_clock_file
from shared.config import DEFAULT_CONFIG_FILE
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_SLA_BREACHED
from tests.conftest import create_database
from tests.support.auth import admin_client
from tests.support.kafka import Bus, TopicReader
from tests.support.stack import running_stack, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

T1 = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)
ROUNDS, PER_ROUND = 10, 100
SLA = timedelta(minutes=10)
FLOOR, CEILING = 0.5, 1.5

# Two reps always at work, one queue, every lead to it. A breach keeps the lead where it is
# (one attempt), so the shares are the rotation's alone.
ROUTING = yaml.safe_load(f"""
default_queue: sales
nurture_buckets: [nurture]
fairness:
  effects: {{sla_breach: -0.004, fast_first_contact: 0.002}}
  floor: {FLOOR}
  ceiling: {CEILING}
  window: 30d
  fast_first_contact: 5m
reps:
  - {{id: fast, name: Fay Fast, email: fay@example.com, timezone: Europe/London}}
  - {{id: slow, name: Sol Slow, email: sol@example.com, timezone: Europe/London}}
queues:
  - name: sales
    department: sales
    region: global
    members: [fast, slow]
    strategy: weighted_round_robin
    sla: {{first_contact: 10m, max_attempts: 1}}
""")


def lead(n: int) -> dict[str, Any]:
    """Fit 37 (core region, known interest, mid-market): cold, routed to a rep."""
    return {"email": f"share-{n:04d}@fair.example", "country": "GB", "interest": "software",
            "company_size": 200, "source": "web"}  # fmt: skip


def config(tmp_path: Path) -> Path:
    example = yaml.safe_load(DEFAULT_CONFIG_FILE.read_text())
    nurture = {k: v for k, v in example["nurture"].items() if k != "followups"}
    return write_config(tmp_path, routing=ROUTING, nurture=nurture, notifier={"subscriptions": []})


async def test_a_rep_who_breaches_slas_gets_a_smaller_share_within_the_bounds(
    pg_server_url: str, bus: Bus, tmp_path: Path
) -> None:
    database_url = await create_database(pg_server_url)
    clock_file = tmp_path / "clock"
    write_clock_file(clock_file, T1)
    env = {"LEADFLOW_CLOCK_FILE": str(clock_file), "LEADFLOW_SLA_TICK_S": "0.2"}
    async with running_stack(
        database_url, bus, tmp_path / "home", config(tmp_path), extra_env=env
    ) as stack:
        urls = stack.urls()
        async with (
            admin_client(base_url=urls["capture"]) as capture,
            admin_client(base_url=urls["router"]) as router,
            bus.reader(LEAD_ASSIGNED, LEAD_SLA_BREACHED) as reader,
        ):
            shares = await run_rounds(capture, router, reader, clock_file)
            fast = await ledger(router, "fast")
            slow = await ledger(router, "slow")

    slow_share = [s["slow"] for s in shares]
    fast_total, slow_total = sum(s["fast"] for s in shares), sum(slow_share)
    assert fast_total + slow_total == ROUNDS * PER_ROUND
    # Both start even; slow's share falls round after round until the bounds hold it at
    # 0.5 : 1.5, a quarter of the queue.
    # (slow: 1 - 50 x 0.004 = 0.8 against 1 + 50 x 0.002 = 1.1 -> 42 of the next 100, ...)
    assert slow_share == [50, 42, 34, 27, 25, 25, 25, 25, 25, 25]
    assert slow_total < 0.35 * ROUNDS * PER_ROUND, slow_share  # measurably smaller
    # never below what the floor and ceiling allow: 0.5 / (0.5 + 1.5) of every round
    assert all(s >= PER_ROUND * FLOOR / (FLOOR + CEILING) - 1 for s in slow_share), slow_share

    # The ledgers explain it: one entry per breach and per fast first contact, each with its
    # reason and lead, the multiplier after each change inside the bounds.
    breaches = [e for e in slow["entries"] if e["kind"] == "sla_breach"]
    assert len(breaches) == slow_total == len(slow["entries"])
    rewards = [e for e in fast["entries"] if e["kind"] == "fast_first_contact"]
    assert len(rewards) == fast_total == len(fast["entries"])
    for entry in breaches + rewards:
        assert entry["reason"] and entry["lead_id"] and entry["source_id"], entry
        assert FLOOR <= entry["multiplier_after"] <= CEILING, entry
    assert {e["effect"] for e in breaches} == {-0.004}
    assert {e["effect"] for e in rewards} == {0.002}
    assert (slow["multiplier"]["value"], slow["multiplier"]["bound"]) == (FLOOR, "floor")
    assert (fast["multiplier"]["value"], fast["multiplier"]["bound"]) == (CEILING, "ceiling")
    assert "floor" in slow["multiplier"]["explanation"]
    # after its first breaches slow's multiplier only went down, to the floor
    afters = [e["multiplier_after"] for e in reversed(breaches)]  # oldest first
    assert afters == sorted(afters, reverse=True) and afters[-1] == FLOOR


async def run_rounds(
    capture: httpx.AsyncClient, router: httpx.AsyncClient, reader: TopicReader, clock_file: Path
) -> list[dict[str, int]]:
    shares: list[dict[str, int]] = []
    now, breached = T1, 0
    for r in range(ROUNDS):
        leads = [lead(r * PER_ROUND + i) for i in range(PER_ROUND)]
        answer = await capture.post("/v1/leads:batch", json={"leads": leads})
        assert answer.status_code == 200, answer.text
        ids = {x["lead_id"] for x in answer.json()["results"]}
        assert len(ids) == PER_ROUND, answer.text
        await reader.wait_for(
            partial(_all_assigned, ids),
            timeout=40,
            what=f"round {r + 1}: {PER_ROUND} leads assigned",
        )
        owners = {
            x["subject"]: x["data"]["rep"]["rep_id"]
            for x in reader.records
            if _is(x, "assigned") and x["subject"] in ids
        }
        mine = [lead_id for lead_id, rep in owners.items() if rep == "fast"]
        shares.append({"fast": len(mine), "slow": PER_ROUND - len(mine)})
        contacts = [{"lead_id": lead_id, "kind": "contacted", "channel": "call", "rep_id": "fast"}
                    for lead_id in mine]  # fmt: skip
        answer = await capture.post("/v1/activities:batch", json={"activities": contacts})
        assert answer.status_code == 200, answer.text
        contacted = sum(s["fast"] for s in shares)
        await until(router, "fast", "fast_first_contact", contacted)
        # every service's clock past the SLA: slow's leads of this round breach
        now += SLA + timedelta(minutes=1)
        write_clock_file(clock_file, now)
        breached += shares[-1]["slow"]
        await reader.wait_for(
            partial(_breaches, breached),
            timeout=30,
            what=f"round {r + 1}: {breached} breaches",
        )
        await until(router, "slow", "sla_breach", breached)
    return shares


def _all_assigned(ids: set[str], records: list[dict[str, Any]]) -> bool:
    return ids <= {x["subject"] for x in records if _is(x, "assigned")}


def _breaches(n: int, records: list[dict[str, Any]]) -> bool:
    return sum(_is(x, "sla_breached") for x in records) >= n


def _is(record: dict[str, Any], kind: str) -> bool:
    return bool(record.get("type") == f"io.leadflow.lead.{kind}.v1")


async def ledger(router: httpx.AsyncClient, rep: str) -> dict[str, Any]:
    answer = await router.get(f"/v1/reps/{rep}/ledger", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def until(router: httpx.AsyncClient, rep: str, kind: str, n: int) -> None:
    """Until the rep's ledger holds ``n`` entries of ``kind`` (the router applied them)."""
    for _ in range(150):
        entries = (await ledger(router, rep))["entries"]
        if sum(e["kind"] == kind for e in entries) >= n:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{rep}: fewer than {n} {kind} entries: {len(entries)} entries")
