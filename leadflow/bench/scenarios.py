"""One scenario end to end: load, wait for every decision, then turn it all into figures.

The CPU window of a scenario runs from its first send until every accepted lead has a
decision and (with the bench's own receiver) every assignment's webhook was delivered, so
CPU per 1,000 leads covers all the work the leads caused, not just the HTTP part.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from leadflow.bench import ceilings, resources
from leadflow.bench.collect import TopicCollector
from leadflow.bench.load import LoadResult
from leadflow.bench.outcomes import judge
from leadflow.bench.stats import per_thousand, rate, summarize
from leadflow.bench.target import Target

Tick = Callable[[str, float, float], None]  # (description, completed, total)
NOT_LEADFLOW = ("bench", "receiver", "others", "steal")  # the rest is Leadflow's CPU
NOT_SERVICES = ("broker", "postgres", *NOT_LEADFLOW)


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # single | single-max | batch | batch-max
    offered_rate: float | None
    duration: float


@dataclass(frozen=True)
class Waits:
    decisions_s: float = 60.0
    webhooks_s: float = 30.0
    settle_s: float = 120.0
    busy_margin_pct: float = 25.0


async def settle(
    target: Target,
    collector: TopicCollector,
    backlog: set[str],
    idle_pct: dict[str, float | None],
    waits: Waits,
) -> float:
    """Wait until the last phase's work is done, so it is not counted in the next one's:
    every webhook still owed for an assigned lead (``backlog``) has arrived, then no service
    uses more than its idle CPU (``idle_pct``) plus a margin over one second."""
    started = time.time()
    deadline = started + waits.settle_s

    def owed() -> int:
        backlog.difference_update([lead for lead in backlog if _webhook_done(collector, lead)])
        return len(backlog)

    await collector.wait_for(owed, deadline)
    # The services only: the embedded broker's idle CPU grows as it fills, so it never
    # returns to its first idle level; a service still working shows the backlog anyway.
    services = [w for w in target.watched if w.name not in NOT_SERVICES]
    while time.time() < deadline:
        now = await ceilings.idle_cpu(services, 1.0)
        if all(
            pct is None or pct <= (idle_pct.get(name) or 0.0) + waits.busy_margin_pct
            for name, pct in now.items()
            if name not in ("others", "steal")
        ):
            break
    return round(time.time() - started, 1)


async def run_scenario(
    scenario: Scenario,
    drive: Callable[[LoadResult], Coroutine[Any, Any, LoadResult]],
    target: Target,
    collector: TopicCollector,
    arrivals: dict[str, float],
    backlog: set[str],
    waits: Waits,
    tick: Tick,
) -> dict[str, Any]:
    """Drive the load, wait for the pipeline to finish it, and measure.

    ``arrivals`` (lead id -> webhook arrival) is shared by every scenario of the bench, as a
    late webhook of one scenario may be collected during the next; the assigned leads whose
    webhook had not arrived when the scenario's window closed are added to ``backlog``.
    """
    result = LoadResult(scenario.name)
    decided_before = len(collector.decided)
    cpu_before = resources.sample(target.watched)
    started = time.time()
    load = asyncio.create_task(drive(result))
    while not load.done():
        elapsed = time.time() - started
        decided = len(collector.decided) - decided_before
        tick(
            f"{scenario.name}: {result.requests} requests, {len(result.sends)} accepted,"
            f" {decided} decided",
            elapsed,
            scenario.duration,
        )
        await asyncio.wait({load}, timeout=0.25)
    load.result()
    if result.unavailable:
        return {"kind": scenario.kind, "unavailable": result.unavailable}
    load_s = time.time() - started

    waiting = set(result.sends)

    def undecided() -> int:
        waiting.difference_update([lead for lead in waiting if lead in collector.decided])
        tick(f"{scenario.name}: waiting for decisions", len(result.sends) - len(waiting),
             len(result.sends))  # fmt: skip
        return len(waiting)

    await collector.wait_for(undecided, time.time() + waits.decisions_s)
    if target.receiver_url:
        unnotified = set(result.sends)

        def undelivered() -> int:
            unnotified.difference_update(
                [lead for lead in unnotified if _webhook_done(collector, lead)]
            )
            tick(f"{scenario.name}: waiting for webhooks", len(result.sends) - len(unnotified),
                 len(result.sends))  # fmt: skip
            return len(unnotified)

        await collector.wait_for(undelivered, time.time() + waits.webhooks_s)
        backlog.update(lead for lead in unnotified if lead in collector.decided)
    window_s = time.time() - started
    cpu = resources.cpu_used(cpu_before, resources.sample(target.watched))
    cpu["leadflow_total"] = round(
        sum(v for k, v in cpu.items() if v is not None and k not in NOT_LEADFLOW), 3
    )
    arrivals.update(await _take_arrivals(target.receiver_url))
    outcome = judge(result.sends, collector.traces, arrivals)
    return {
        "_lead_ids": list(result.sends),  # for the bench's final lost/doubled count
        "kind": scenario.kind,
        "offered_rate": scenario.offered_rate,
        "duration_s": scenario.duration,
        "load_s": round(load_s, 3),
        "window_s": round(window_s, 3),
        "requests": result.requests,
        "requests_per_s": rate(result.requests, started, started + load_s),
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "errors": dict(result.errors),
        "http_ms": summarize(result.http_latency).as_dict(),
        "generator_lag_ms": summarize(result.send_lag).as_dict() if result.send_lag else None,
        **outcome.as_dict(),
        "cpu_s": cpu,
        "cpu_s_per_1000_leads": {
            name: per_thousand(used, outcome.decided) if used is not None else None
            for name, used in cpu.items()
        },
        "cpu_util_pct": {
            name: round(100 * used / window_s, 1) if used is not None else None
            for name, used in cpu.items()
        },
        "bench_cpu_us_per_request": (
            round(1e6 * (cpu.get("bench") or 0.0) / result.requests, 1) if result.requests else None
        ),
    }


def _webhook_done(collector: TopicCollector, lead: str) -> bool:
    """No webhook is owed for the lead any more: it was delivered, or it is not due one
    (routed to nurture). An undecided lead is still owed one."""
    trace = collector.traces.get(lead)
    if trace is None or trace.decision is None:
        return False
    return trace.decision != "assigned" or trace.delivered_at is not None


async def _take_arrivals(receiver_url: str | None) -> dict[str, float]:
    if not receiver_url:
        return {}
    async with httpx.AsyncClient(timeout=30) as client:
        resp = await client.get(receiver_url + "/arrivals")
        resp.raise_for_status()
        arrivals: dict[str, float] = resp.json()
        return arrivals
