"""Background work: offer waiting leads again as reps come online or free capacity."""

from __future__ import annotations

import asyncio
import logging

from services.router import handlers
from services.router.config import Settings
from services.router.domain import Routing
from shared.contracts.envelope import now_utc
from shared.service import Runtime

log = logging.getLogger(__name__)


async def assign_waiting_leads(runtime: Runtime) -> None:
    routing: Routing = runtime.state["routing"]
    settings = runtime.settings
    interval = settings.waiting_retry_s if isinstance(settings, Settings) else 2.0
    while True:
        await asyncio.sleep(interval)
        try:
            uow = runtime.uow()
            async with uow:
                assigned = await handlers.retry_waiting(uow, routing, now_utc())
                await uow.commit()
            runtime.relay.enqueue(uow.committed)
            if assigned:
                log.info("assigned %d waiting lead(s)", assigned)
        except Exception:
            log.warning("retrying waiting leads failed", exc_info=True)
