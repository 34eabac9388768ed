"""Group commit for single-lead requests.

Each ``POST /v1/leads`` waits until its lead is committed, but concurrent requests share
one transaction: while one batch is being written, the next requests queue up and go in
the next batch. There is no added wait: a lone request is written at once; under load,
hundreds share one commit instead of paying one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.capture import domain, handlers
from shared.bus.consumer import is_transient
from shared.contracts.envelope import now_utc
from shared.db.outbox import OutboxRelay
from shared.db.uow import UnitOfWork
from shared.service import Runtime

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    lead: domain.CleanLead
    done: asyncio.Future[handlers.CaptureResult]


class IntakeBatcher:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        relay: OutboxRelay,
        *,
        max_batch: int = 500,
        writers: int = 2,
    ) -> None:
        self._make_uow = make_uow
        self._relay = relay
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writers = writers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_forever(), name=f"intake-writer-{i}")
            for i in range(self._writers)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def submit(self, lead: domain.CleanLead) -> handlers.CaptureResult:
        """Return once the lead (or the lead it matched) is durably stored."""
        pending = _Pending(lead, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(pending)
        return await pending.done

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [p for p in batch if not p.done.cancelled()]  # client went away
            if batch:
                await self._write(batch)

    async def _write(self, batch: list[_Pending]) -> None:
        uow = self._make_uow()
        try:
            results = await handlers.capture_leads(uow, [p.lead for p in batch], now_utc())
        except Exception as exc:
            if len(batch) > 1 and not is_transient(exc):
                # One bad lead must not fail its neighbours: write each on its own.
                log.warning("intake batch of %d failed (%s); writing one by one", len(batch), exc)
                for p in batch:
                    await self._write([p])
                return
            log.warning("intake of %d lead(s) failed: %s", len(batch), exc)
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(exc)
            return
        self._relay.enqueue(uow.committed)
        for p, result in zip(batch, results, strict=True):
            if not p.done.done():
                p.done.set_result(result)


@asynccontextmanager
async def running_intake(runtime: Runtime) -> AsyncIterator[None]:
    """The service's group-commit writer, available to the API as ``runtime.state['intake']``."""
    batcher = IntakeBatcher(runtime.uow, runtime.relay)
    batcher.start()
    runtime.state["intake"] = batcher
    try:
        yield
    finally:
        await batcher.stop()
