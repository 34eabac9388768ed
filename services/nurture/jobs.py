"""The timer job: fire the nurture touches that are due.

Pending steps are rows with a due time, so timers survive restarts: touches that fell due
while the service was down fire as soon as it is back (catch-up), each exactly once, because
a step is marked sent in the same transaction that writes its NurtureStepDue to the outbox.
Several replicas can run the job: each claims its rows with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from services.nurture import store
from services.nurture.deps import NurtureRuntime
from services.nurture.handlers import complete_finished
from shared.contracts import ContactSnapshot, NurtureStepDue
from shared.db.uow import UnitOfWork
from shared.periodic import Job

log = logging.getLogger(__name__)

CLAIM_LIMIT = 500


def emit_due_steps(uow: UnitOfWork, steps: Sequence[store.DueStep]) -> None:
    """Announce each due touch (its mode says the channel: email, sms, call, task)."""
    for step in steps:
        uow.emit(
            NurtureStepDue(
                lead_id=step.lead_id,
                enrollment_id=step.enrollment_id,
                sequence=step.sequence,
                step=step.step,
                total_steps=step.total,
                mode=step.mode,
                template=step.template,
                due_at=step.due_at,
                lead=ContactSnapshot.model_validate(step.contact),
            )
        )


async def fire_due_steps_once(
    runtime: NurtureRuntime, now: datetime, limit: int = CLAIM_LIMIT
) -> int:
    """Claim, announce and mark sent the touches due by ``now``; return how many fired."""
    uow = runtime.uow()
    async with uow:
        steps = await store.claim_due_steps(uow.conn, now, limit)
        if not steps:
            return 0
        emit_due_steps(uow, steps)
        await store.mark_sent(uow.conn, steps, now)
        await complete_finished(uow, {s.enrollment_id: (s.lead_id, s.sequence) for s in steps}, now)
        await uow.commit()
    return len(steps)


def firing_due_steps(tick_s: float, clock: Callable[[], datetime]) -> Job[NurtureRuntime]:
    """Every tick, fire what is due by the service's clock (the real one, or the fixed one of
    ``LEADFLOW_NURTURE_FIXED_NOW`` / a test); a full claim goes round again at once
    (catching up)."""

    async def round_(runtime: NurtureRuntime) -> bool:
        return await fire_due_steps_once(runtime, clock()) >= CLAIM_LIMIT

    return Job("firing due nurture steps", tick_s, round_)
