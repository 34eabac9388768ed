"""The follow-up timer job: announce the touches that fell due, close the ones missed.

Touches are rows with a due time, so the timers survive restarts: touches that fell due
while the service was down are announced as soon as it is back, each exactly once, because
``announced_at`` is set in the same transaction that writes its LeadFollowupDue to the
outbox. Replicas share the work (``FOR UPDATE SKIP LOCKED``). A touch still open when it
closes (the next touch fell due, or the plan's end) is replanned under the lead's lock and
counted missed; a missed touch announces nothing new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from services.nurture import followup_handlers, metrics, store
from services.nurture import followup_store as fstore
from services.nurture.deps import NurtureRuntime
from shared.contracts import ContactSnapshot, LeadFollowupDue, RepRef
from shared.periodic import Job

CLAIM_LIMIT = 500


async def announce_due_once(
    runtime: NurtureRuntime, now: datetime, limit: int = CLAIM_LIMIT
) -> int:
    """Claim, announce and mark the touches due by ``now``; return how many."""
    uow = runtime.uow()
    async with uow:
        due = await fstore.claim_due(uow.conn, now, limit)
        if not due:
            return 0
        for item in due:
            touch = item.touch
            uow.emit(
                LeadFollowupDue(
                    lead_id=item.lead_id,
                    plan_id=item.plan_id,
                    bucket=item.bucket,
                    rep=RepRef(rep_id=touch.rep_id, name=touch.rep_name),
                    mode=touch.mode,
                    step=touch.step,
                    of=touch.total,
                    due_at=touch.due_at,
                    lead=ContactSnapshot.model_validate(item.contact),
                )
            )
        await fstore.mark_announced(uow.conn, due, now)
        uow.after_commit(lambda: metrics.count_touches(Counter({"due": len(due)})))
        await uow.commit()
    return len(due)


async def close_missed_once(
    runtime: NurtureRuntime, now: datetime, limit: int = CLAIM_LIMIT
) -> int:
    """Replan the leads with a touch past its close (missed ones are counted); how many."""
    uow = runtime.uow()
    async with uow:
        leads = await fstore.leads_closing(uow.conn, now, limit)
        if not leads:
            return 0
        await store.lock_leads(uow.conn, leads)
        batch = await followup_handlers.load(uow, runtime.deps.followups, leads, now)
        for plan in list(batch.plans.values()):
            batch.refresh(plan)
        await followup_handlers.save(uow, batch)
        await uow.commit()
    return len(leads)


def running_followups(tick_s: float, clock: Callable[[], datetime]) -> Job[NurtureRuntime]:
    """Every tick, announce what is due, then close what was missed; a full claim goes
    round again at once (catching up)."""

    async def round_(runtime: NurtureRuntime) -> bool:
        now = clock()
        announced = await announce_due_once(runtime, now)
        closed = await close_missed_once(runtime, now)
        return announced >= CLAIM_LIMIT or closed >= CLAIM_LIMIT

    return Job("running follow-up touches", tick_s, round_)
