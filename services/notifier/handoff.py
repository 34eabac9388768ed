"""Deliveries handed from the consumer to the delivery worker in memory.

The consumer inserts each new delivery already leased for its first attempt (in the same
transaction as its inbox claim) and, once that commits, hands it over here: the worker
POSTs it at once instead of finding it with a polling query, which took a claim statement
and a row update per delivery and up to a tick (100 ms) of latency. Nothing is lost if the
process dies first: the row's lease runs out and the worker's claim query takes it then,
as for any retry. A hand-over that waited in memory longer than ``ttl_s`` is dropped for
the same reason (its lease may be about to run out, and the claim query will have it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence

from services.notifier.store import ClaimedDelivery


class DeliveryHandoff:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._queue: deque[tuple[float, ClaimedDelivery]] = deque()
        self._ready = asyncio.Event()

    def put(self, deliveries: Sequence[ClaimedDelivery]) -> None:
        now = time.monotonic()
        self._queue.extend((now, d) for d in deliveries)
        if deliveries:
            self._ready.set()

    def take(self, limit: int) -> list[ClaimedDelivery]:
        """Up to ``limit`` handed-over deliveries, oldest first, skipping stale ones."""
        oldest_allowed = time.monotonic() - self.ttl_s
        taken: list[ClaimedDelivery] = []
        while self._queue and len(taken) < limit:
            handed_at, delivery = self._queue.popleft()
            if handed_at >= oldest_allowed:
                taken.append(delivery)
        if not self._queue:
            self._ready.clear()
        return taken

    async def wait(self, timeout_s: float) -> None:
        """Until something is handed over, or ``timeout_s`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._ready.wait()
