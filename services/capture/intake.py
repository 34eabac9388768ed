"""The one way leads come in: single (``POST /v1/leads``), batch (``POST /v1/leads:batch``),
vendor sources, CSV import and fetched records all end in :func:`capture`, and the requests
that answer once (single and batch) get their answer from :func:`answers.answer_once`, stored
in the capture's transaction.

Single leads are group-committed: each ``POST /v1/leads`` waits until its lead is committed,
but concurrent requests share one transaction: while one batch is being written, the next
requests queue up and go in the next batch. There is no added wait: a lone request is
written at once; under load, hundreds share one commit instead of paying one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from services.capture import handlers
from services.capture.answers import Answer, answer_once, answer_one, lead_answer
from services.capture.domain.identity import MatchRule
from services.capture.domain.lead import CleanLead, Problem
from services.capture.idempotency import RequestKey
from shared import clock
from shared.bus.consumer import is_transient
from shared.db import audit
from shared.db.uow import UnitOfWork
from shared.observability import metrics

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime

log = logging.getLogger(__name__)

Status = Literal["accepted", "duplicate", "rejected"]
BATCH_ROUTE = "/v1/leads:batch"


async def capture(
    uow: UnitOfWork,
    leads: Sequence[CleanLead],
    now: datetime,
    rules: tuple[MatchRule, ...],
    actors: Sequence[str],
) -> list[handlers.CaptureResult]:
    """Capture cleaned leads in the open unit of work, each with an audit entry naming who
    submitted it (``actors[i]``: a key, a token subject or ``source:<name>``); the flagged
    values are counted once it commits."""
    results = await handlers.capture_leads(uow, leads, now, rules)
    await audit.append_many(
        uow.conn,
        [
            (actor, "lead.merged" if r.duplicate else "lead.submitted", r.lead_id,
             {"source": lead.source})
            for actor, lead, r in zip(actors, leads, results, strict=True)
        ],
    )  # fmt: skip
    uow.after_commit(lambda: handlers.count_flags(leads))
    return results


@dataclass(frozen=True)
class Outcome:
    """What became of one lead of a request (or one CSV row)."""

    index: int
    status: Status
    lead_id: str | None = None
    problems: tuple[Problem, ...] = ()
    matched_by: str | None = None  # for a duplicate
    changed: tuple[str, ...] = ()  # for a duplicate: the fields the merge changed


async def capture_each(
    runtime: CaptureRuntime,
    count: int,
    valid: list[tuple[int, CleanLead]],
    rejected: dict[int, Outcome],
    actor: str,
) -> list[Outcome]:
    """Several leads in one transaction; each answered on its own, in request order."""
    if not valid:  # nothing to store: no transaction
        return [rejected[i] for i in range(count)]
    uow = runtime.uow()
    async with uow:
        outcomes = await _capture_each(uow, runtime, count, valid, rejected, actor)
        await uow.commit()
    return outcomes


async def _capture_each(
    uow: UnitOfWork,
    runtime: CaptureRuntime,
    count: int,
    valid: list[tuple[int, CleanLead]],
    rejected: dict[int, Outcome],
    actor: str,
) -> list[Outcome]:
    outcomes = dict(rejected)
    if valid:
        leads = [lead for _, lead in valid]
        actors = [actor] * len(leads)
        results = await capture(uow, leads, clock.now(), runtime.deps.match_rules, actors)
        for (i, _), r in zip(valid, results, strict=True):
            status: Status = "duplicate" if r.duplicate else "accepted"
            outcomes[i] = Outcome(i, status, r.lead_id, (), r.matched_by, r.changed)
    return [outcomes[i] for i in range(count)]


async def submit_batch(
    runtime: CaptureRuntime,
    key: RequestKey,
    count: int,
    valid: list[tuple[int, CleanLead]],
    rejected: dict[int, Outcome],
    actor: str,
) -> Answer:
    """``POST /v1/leads:batch``: each lead answered on its own, the answer given once."""

    async def effect(uow: UnitOfWork) -> Answer:
        outcomes = await _capture_each(uow, runtime, count, valid, rejected, actor)
        if rejected:
            inc = metrics.rejected_inputs.labels(BATCH_ROUTE, "invalid_lead").inc
            uow.after_commit(lambda: inc(len(rejected)))
        return Answer(200, _batch_body(outcomes))

    return await answer_one(runtime, key, effect)


def _batch_body(outcomes: list[Outcome]) -> dict[str, object]:
    """The body ``BatchOut`` documents (:mod:`services.capture.api.leads`), as JSON."""
    return {
        "accepted": sum(o.status == "accepted" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "results": [
            {
                "index": o.index,
                "status": o.status,
                "lead_id": o.lead_id,
                "matched_by": o.matched_by,
                "updated_fields": list(o.changed),
                "problems": [{"field": p.field, "problem": p.problem} for p in o.problems],
            }
            for o in outcomes
        ],
    }


@dataclass
class _Pending:
    lead: CleanLead
    key: RequestKey
    actor: str
    done: asyncio.Future[Answer]


class IntakeBatcher:
    """Built with the service's dependencies; writes once :meth:`start` gave it the runtime."""

    def __init__(self, *, max_batch: int = 500, writers: int = 2) -> None:
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writers = writers
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, runtime: CaptureRuntime) -> None:
        self._runtime = runtime
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

    async def submit(self, lead: CleanLead, key: RequestKey, actor: str) -> Answer:
        """Return once the lead (or the lead it matched) and the answer are durably stored;
        a request already answered (same key) gets its stored answer instead."""
        pending = _Pending(lead, key, actor, asyncio.get_running_loop().create_future())
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
        rules = self._runtime.deps.match_rules

        async def effect(uow: UnitOfWork, todo: list[int]) -> list[Answer]:
            chosen = [batch[i] for i in todo]
            results = await capture(
                uow, [p.lead for p in chosen], clock.now(), rules, [p.actor for p in chosen]
            )
            return [lead_answer(r) for r in results]

        try:
            answers = await answer_once(self._runtime, [p.key for p in batch], effect)
        except Exception as exc:
            if len(batch) > 1 and not is_transient(exc):
                # One bad lead must not fail its neighbours: write each on its own.
                log.warning("intake batch of %d failed (%s); writing one by one", len(batch), exc)
                for p in batch:
                    if not p.done.done():
                        await self._write([p])
                return
            log.warning("intake of %d lead(s) failed: %s", len(batch), exc)
            answers = [exc] * len(batch)
        for p, answer in zip(batch, answers, strict=True):
            if p.done.done():
                continue
            if isinstance(answer, Exception):
                p.done.set_exception(answer)
            else:
                p.done.set_result(answer)


@asynccontextmanager
async def running_intake(runtime: CaptureRuntime) -> AsyncIterator[None]:
    """The service's group-commit writer, writing while the service runs."""
    runtime.deps.intake.start(runtime)
    try:
        yield
    finally:
        await runtime.deps.intake.stop()
