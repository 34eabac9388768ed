"""Start-up and background work: compare the config file with the stored versions, offer
waiting leads again as reps come online or free capacity, and fire the SLA timers.

SLA timers are rows (``sla_timers``), so they survive restarts: what fell due while the
router was down fires when it is back. Each tick claims due rows with ``FOR UPDATE SKIP
LOCKED`` and deletes them in the transaction that writes their events to the outbox, so with
any number of replicas each timer fires exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from services.router import handlers
from services.router.config import Settings
from services.router.handlers import RoutingSource, VersionedRouting
from shared import clock
from shared.service import Runtime

log = logging.getLogger(__name__)

CLAIM_LIMIT = 500


@asynccontextmanager
async def versioned_config(runtime: Runtime) -> AsyncIterator[None]:
    """At start, the file's routing section becomes a new version when it changed since it
    was last read; then decisions may use the version in force (they waited until now)."""
    source: VersionedRouting = runtime.state["routing"]
    settings = runtime.settings
    path = settings.config_file
    uow = runtime.uow()
    async with uow:
        outcome = await handlers.import_file(
            uow, path, actor=handlers.SYSTEM_ACTOR, reason=f"read {path} at start",
            expected=None, now=clock.now(), on_start=True,
        )  # fmt: skip
        await uow.commit()
    if outcome.changed:
        log.info("routing config version %d from %s (%s)", outcome.version, path, outcome.action)
    else:
        log.info("routing config version %d in force (%s unchanged)", outcome.version, path)
    source.open()
    async with runtime.engine.connect() as conn:
        await source.current(conn)  # a stored version this code cannot read stops the start
    if isinstance(settings, Settings) and settings.admin_token is None:
        log.warning(
            "LEADFLOW_ADMIN_TOKEN is not set: the admin API accepts config changes only from"
            " this machine (loopback clients); set it to allow them from elsewhere"
        )
    yield


async def assign_waiting_leads(runtime: Runtime) -> None:
    """Offer waiting leads again every ``LEADFLOW_WAITING_RETRY_S``, with the config version in
    force at each round (a rep set online through the admin API is seen at once)."""
    source: RoutingSource = runtime.state["routing"]
    settings = runtime.settings
    interval = settings.waiting_retry_s if isinstance(settings, Settings) else 2.0
    while True:
        await asyncio.sleep(interval)
        try:
            uow = runtime.uow()
            async with uow:
                assigned = await handlers.retry_waiting(uow, source, clock.now())
                await uow.commit()
            if assigned:
                log.info("assigned %d waiting lead(s)", assigned)
        except Exception:
            log.warning("retrying waiting leads failed", exc_info=True)


async def fire_sla_timers_once(runtime: Runtime, now: datetime, limit: int = CLAIM_LIMIT) -> int:
    """Warnings first (no routing lock), then breaches and handovers (under it); return the
    most timers either claimed."""
    source: RoutingSource = runtime.state["routing"]
    retry_after = timedelta(seconds=runtime.state["handover_retry_s"])
    uow = runtime.uow()
    async with uow:
        warned = await handlers.fire_due_warnings(uow, source, now, limit)
        await uow.commit()
    uow = runtime.uow()
    async with uow:
        breached = await handlers.fire_due_breaches(uow, source, now, retry_after, limit)
        await uow.commit()
    return max(warned, breached)


async def fire_sla_timers(runtime: Runtime) -> None:
    """Every ``LEADFLOW_SLA_TICK_S``, fire what is due; a full claim goes round again at once."""
    tick_s: float = runtime.state["sla_tick_s"]
    while True:
        try:
            fired = await fire_sla_timers_once(runtime, clock.now())
        except Exception:
            log.warning("firing SLA timers failed; retrying next tick", exc_info=True)
            fired = 0
        if fired < CLAIM_LIMIT:
            await asyncio.sleep(tick_s)
