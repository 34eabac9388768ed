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
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.capture import domain, handlers, store
from services.capture.answers import Answer, lead_answer, replay
from services.capture.idempotency import RequestKey
from services.capture.matching import MatchRule
from shared import clock
from shared.bus.consumer import is_transient
from shared.db.uow import UnitOfWork

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    lead: domain.CleanLead
    key: RequestKey
    done: asyncio.Future[Answer]


class IntakeBatcher:
    """Built with the service's dependencies; writes once :meth:`start` gave it the database."""

    def __init__(
        self,
        *,
        max_batch: int = 500,
        writers: int = 2,
        match_rules: tuple[MatchRule, ...] = (),
    ) -> None:
        self._match_rules = match_rules
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writers = writers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, engine: AsyncEngine, make_uow: Callable[[], UnitOfWork]) -> None:
        self._engine = engine
        self._make_uow = make_uow
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

    async def submit(self, lead: domain.CleanLead, key: RequestKey) -> Answer:
        """Return once the lead (or the lead it matched) and the answer are durably stored;
        a request already answered (same key) gets its stored answer instead."""
        pending = _Pending(lead, key, asyncio.get_running_loop().create_future())
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
        try:
            firsts, twins = await self._answer_known(batch)
            given = await self._capture(firsts) if firsts else {}
        except Exception as exc:
            if len(batch) > 1 and not is_transient(exc):
                # One bad lead must not fail its neighbours: write each on its own.
                log.warning("intake batch of %d failed (%s); writing one by one", len(batch), exc)
                for p in batch:
                    if not p.done.done():
                        await self._write([p])
                return
            log.warning("intake of %d lead(s) failed: %s", len(batch), exc)
            _fail(batch, exc)
            return
        for p, first in twins:  # the same request twice in one batch: one answer
            _settle(p, replay, p.key, given[first.key.key])

    async def _answer_known(
        self, batch: list[_Pending]
    ) -> tuple[list[_Pending], list[tuple[_Pending, _Pending]]]:
        """Settle requests answered before; split the rest into first copies and twins."""
        now = clock.now()
        async with self._engine.connect() as conn:
            stored = await store.get_answers(conn, list({p.key.key for p in batch}), now)
        firsts: dict[str, _Pending] = {}
        twins: list[tuple[_Pending, _Pending]] = []
        for p in batch:
            if (answer := stored.get(p.key.key)) is not None:
                _settle(p, replay, p.key, answer)
            elif p.key.key in firsts:
                twins.append((p, firsts[p.key.key]))
            else:
                firsts[p.key.key] = p
        return list(firsts.values()), twins

    async def _capture(self, batch: list[_Pending]) -> dict[str, store.StoredAnswer]:
        """Capture the leads; settle each request; return the answers given, by key."""
        now = clock.now()
        lost: set[str] = set()

        async def remember(conn: AsyncConnection, results: list[handlers.CaptureResult]) -> None:
            fresh: dict[str, tuple[store.StoredAnswer, datetime]] = {}
            for p, result in zip(batch, results, strict=True):
                answer = lead_answer(result)
                stored = store.StoredAnswer(p.key.fingerprint, answer.status_code, answer.body)
                fresh[p.key.key] = (stored, p.key.expires_at(now))
            lost.update(set(fresh) - await store.remember_answers(conn, fresh, now))

        uow = self._make_uow()
        results = await handlers.capture_leads(
            uow, [p.lead for p in batch], now, remember, self._match_rules
        )
        theirs: dict[str, store.StoredAnswer] = {}
        if lost:  # a concurrent twin answered first: give its answer
            async with self._engine.connect() as conn:
                theirs = await store.get_answers(conn, sorted(lost), now)
        given: dict[str, store.StoredAnswer] = {}
        for p, result in zip(batch, results, strict=True):
            if p.key.key in theirs:
                given[p.key.key] = theirs[p.key.key]
                _settle(p, replay, p.key, theirs[p.key.key])
            else:
                answer = lead_answer(result)
                given[p.key.key] = store.StoredAnswer(
                    p.key.fingerprint, answer.status_code, answer.body
                )
                _settle(p, lambda _key, a: a, p.key, answer)
        return given


def _settle(
    pending: _Pending,
    answer: Callable[[RequestKey, Any], Answer],
    key: RequestKey,
    arg: Any,
) -> None:
    """Resolve a waiting request with its answer, or with the error computing it raised
    (e.g. an Idempotency-Key reused for another body)."""
    if pending.done.done():
        return
    try:
        pending.done.set_result(answer(key, arg))
    except Exception as exc:
        pending.done.set_exception(exc)


def _fail(batch: list[_Pending], exc: Exception) -> None:
    for p in batch:
        if not p.done.done():
            p.done.set_exception(exc)


@asynccontextmanager
async def running_intake(runtime: CaptureRuntime) -> AsyncIterator[None]:
    """The service's group-commit writer, writing while the service runs."""
    runtime.deps.intake.start(runtime.engine, runtime.uow)
    try:
        yield
    finally:
        await runtime.deps.intake.stop()
