"""Start-up and background work: compare the config file with the stored versions, offer
waiting leads again as reps come online or free capacity, fire the SLA timers, announce
leads gone cold and make due recycles and snoozes. Every job reads the runtime's clock
(``Deps.clock``: the wall clock, or the fixed one of ``LEADFLOW_FIXED_CLOCK``).

SLA timers are rows (``sla_timers``), so they survive restarts: what fell due while the
router was down fires when it is back. Each tick claims due rows with ``FOR UPDATE SKIP
LOCKED`` and deletes them in the transaction that writes their events to the outbox, so with
any number of replicas each timer fires exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from services.router.deps import RouterRuntime
from services.router.handlers.config import SYSTEM_ACTOR, import_file
from services.router.handlers.recycling import fire_due_recycles, scan_gone_cold
from services.router.handlers.routing import retry_waiting
from services.router.handlers.sla import fire_due_breaches, fire_due_warnings
from shared.periodic import Job

log = logging.getLogger(__name__)

CLAIM_LIMIT = 500


@asynccontextmanager
async def versioned_config(runtime: RouterRuntime) -> AsyncIterator[None]:
    """At start, the file's routing config becomes a new version when it changed since it
    was last read; then decisions may use the version in force (they waited until now)."""
    source = runtime.deps.routing
    path = runtime.settings.config_file
    uow = runtime.uow()
    async with uow:
        outcome = await import_file(
            uow, path, actor=SYSTEM_ACTOR, reason=f"read {path} at start",
            expected=None, now=runtime.deps.clock(), on_start=True,
        )  # fmt: skip
        await uow.commit()
    if outcome.changed:
        log.info("routing config version %d from %s (%s)", outcome.version, path, outcome.action)
    else:
        log.info("routing config version %d in force (%s unchanged)", outcome.version, path)
    source.open()
    async with runtime.engine.connect() as conn:
        await source.current(conn)  # a stored version this code cannot read stops the start
    yield


async def assign_waiting_leads(runtime: RouterRuntime) -> None:
    """Offer waiting leads again, with the routing config version in force at each round (a rep set
    online through the admin API is seen at once)."""
    uow = runtime.uow()
    async with uow:
        assigned = await retry_waiting(uow, runtime.deps.routing, runtime.deps.clock())
        await uow.commit()
    if assigned:
        log.info("assigned %d waiting lead(s)", assigned)


def assigning_waiting_leads(every: timedelta) -> Job[RouterRuntime]:
    """Every ``LEADFLOW_WAITING_RETRY_S``, offer waiting leads again."""
    return Job(
        "retrying waiting leads", every.total_seconds(), assign_waiting_leads, wait_first=True
    )


async def fire_sla_timers_once(
    runtime: RouterRuntime, now: datetime, retry_after: timedelta, limit: int = CLAIM_LIMIT
) -> int:
    """Warnings first (no routing lock), then breaches and handovers (under it); return the
    most timers either claimed. A breached lead nobody can take is offered again after
    ``retry_after``."""
    source = runtime.deps.routing
    uow = runtime.uow()
    async with uow:
        warned = await fire_due_warnings(uow, source, now, limit)
        await uow.commit()
    uow = runtime.uow()
    async with uow:
        breached = await fire_due_breaches(uow, source, now, retry_after, limit)
        await uow.commit()
    return max(warned, breached)


def firing_sla_timers(tick_s: float, retry_after: timedelta) -> Job[RouterRuntime]:
    """Every ``LEADFLOW_SLA_TICK_S``, fire what is due; a full claim goes round again at once."""

    async def run_once(runtime: RouterRuntime) -> bool:
        return await fire_sla_timers_once(runtime, runtime.deps.clock(), retry_after) >= CLAIM_LIMIT

    return Job("firing SLA timers", tick_s, run_once)


async def recycle_once(runtime: RouterRuntime, now: datetime, limit: int = CLAIM_LIMIT) -> int:
    """Announce leads gone cold (arming their recycles), then make the due recycles and
    snooze ends; return the most rows either took."""
    source = runtime.deps.routing
    uow = runtime.uow()
    async with uow:
        cold = await scan_gone_cold(uow, source, now, limit)
        await uow.commit()
    uow = runtime.uow()
    async with uow:
        moved = await fire_due_recycles(uow, source, now, limit)
        await uow.commit()
    if cold or moved:
        log.info("gone-cold scan looked at %d lead(s); %d recycle timer(s) fired", cold, moved)
    return max(cold, moved)


def recycling_leads(tick_s: float) -> Job[RouterRuntime]:
    """Every ``LEADFLOW_COLD_TICK_S``, the gone-cold scan and the recycle timers; a full
    claim goes round again at once."""

    async def run_once(runtime: RouterRuntime) -> bool:
        return await recycle_once(runtime, runtime.deps.clock()) >= CLAIM_LIMIT

    return Job("recycling leads", tick_s, run_once)
