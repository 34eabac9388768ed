"""Periodic re-scoring: engagement points fade (half-life), so a lead nobody touches drifts
down through the buckets and may fall below the qualification threshold. Activities
re-score a lead at once; this job catches the leads with no new activity.

A changed bucket or qualification is announced (``LeadScored`` with trigger ``decay``,
``LeadDisqualified`` on a fall); a score that moved within its bucket is only stored, so
the job does not flood the topics. Replicas claim disjoint leads (``SKIP LOCKED``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.scorer import domain, store
from services.scorer.deps import ScorerRuntime
from services.scorer.handlers import announce, score_row
from shared import clock
from shared.db.uow import UnitOfWork
from shared.periodic import Job

log = logging.getLogger(__name__)

CLAIM_LIMIT = 500


async def rescore_stale(
    uow: UnitOfWork, model: domain.ScoringModel, now: datetime, older_than: timedelta
) -> int:
    """Re-score up to CLAIM_LIMIT leads scored before ``now - older_than``; return how many."""
    async with uow:
        stale = await store.claim_stale(uow.conn, now - older_than, CLAIM_LIMIT)
        if not stale:
            return 0
        activities = await store.load_activities(uow.conn, stale)
        rows: list[store.ScoreRow] = []
        for lead in stale.values():
            score = domain.score_lead(lead.profile, activities.get(lead.lead_id, []), model, now)
            rows.append(score_row(lead, score, model, now))
            if domain.rescore_is_news(lead.bucket, lead.qualified, score):
                announce(uow, lead, score, model, now, None, "decay")
        await store.save_scores(uow.conn, rows)
        await uow.commit()
    return len(stale)


def rescoring(older_than: timedelta) -> Job[ScorerRuntime]:
    """Every tick (a quarter of ``older_than``, at most a minute), re-score what is stale; a
    full claim goes round again at once."""

    async def run_once(runtime: ScorerRuntime) -> bool:
        done = await rescore_stale(runtime.uow(), runtime.deps.model, clock.now(), older_than)
        return done >= CLAIM_LIMIT

    return Job("periodic re-score", min(60.0, older_than.total_seconds() / 4), run_once)
