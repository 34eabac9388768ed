"""Lifecycle stages, the use case: apply a batch's facts (qualifying scores, a rep's contacts,
meetings, outcomes, a lost lead placed again) to the stored stages and announce each move
(``LeadStageChanged``), in the transaction that records the facts themselves. Rules in
:mod:`services.router.domain.lifecycle`."""

from __future__ import annotations

from collections.abc import Sequence

from services.router.domain.lifecycle import StageFact, fold_stages
from services.router.store import stages as stage_store
from shared.contracts import LeadStageChanged, LifecycleStage
from shared.db.uow import UnitOfWork


async def record_stages(uow: UnitOfWork, facts: Sequence[StageFact]) -> None:
    """Move each lead on by its facts, in order, and announce every move with the lead's
    owner and queue as they stand after the batch's decisions (so the rep who just got a
    qualified lead, or kept a won one, is named). Run under the routing lock, after the
    batch's decisions are written (a new lead's row starts at captured)."""
    if not facts:
        return
    rows = await stage_store.load_stages(uow.conn, (f.lead_id for f in facts))
    current = {i: r.stage for i, r in rows.items() if r.stage is not None}
    stages, changes = fold_stages(current, facts)
    if not changes:
        return
    moved = {c.lead_id: stages[c.lead_id] for c in changes}
    stored = [
        stage_store.StoredChange(c, rows[c.lead_id].rep_id, rows[c.lead_id].queue) for c in changes
    ]
    await stage_store.save_changes(uow.conn, moved, stored)
    for s in stored:
        c = s.change
        uow.emit(
            LeadStageChanged(
                lead_id=c.lead_id, from_stage=LifecycleStage(c.from_stage),
                to_stage=LifecycleStage(c.to_stage), changed_at=c.at, rep_id=s.rep_id,
                queue=s.queue, cause=c.cause,
            ),
            causationid=c.causation,
        )  # fmt: skip
