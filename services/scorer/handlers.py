"""The scorer's use case: apply a batch of captured leads and activities, re-score, announce.

A batch is applied in three steps, with one query per table whatever its size:

1. each event is *noted* into a :class:`BatchPlan` by its entry in ``HANDLERS`` (the shared
   dispatcher, ``shared.bus.dispatch``, calls them in batch order);
2. :func:`leads_to_score` decides which leads changed: a lead captured for the first time,
   or a known lead with an activity not seen before (an activity whose lead is unknown is
   only stored; a second ``LeadCaptured`` for a known lead changes nothing);
3. each changed lead is scored once, over all its stored activities, with
   ``domain.score_lead``; the score is saved and announced (``LeadScored``;
   ``LeadBucketChanged`` when a scored lead moves to another bucket; ``LeadQualified`` when
   it first reaches the threshold).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from services.scorer import domain, store
from shared.bus.consumer import BatchHandler
from shared.bus.dispatch import batch_handler
from shared.clock import Clock, now
from shared.contracts import (
    LeadActivityRecorded,
    LeadBucketChanged,
    LeadCaptured,
    LeadDisqualified,
    LeadProfile,
    LeadQualified,
    LeadScored,
    LeadUpdated,
    ScoreContribution,
)
from shared.contracts.envelope import Envelope, Event
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trigger:
    """The event that changed a lead: its position in the batch and its id (the causation)."""

    position: int
    event_id: str


@dataclass
class BatchPlan:
    """What a batch brings, before anything is loaded: new captures and new activities."""

    captured: dict[str, tuple[Trigger, LeadCaptured]] = field(default_factory=dict)
    activities: dict[str, tuple[Trigger, LeadActivityRecorded]] = field(default_factory=dict)
    updated: dict[str, tuple[Trigger, LeadUpdated]] = field(default_factory=dict)
    noted: int = 0  # events noted so far: the next one's position in the batch

    def trigger(self, env: Envelope) -> Trigger:
        """The event as a cause: its position in the batch and its id."""
        self.noted += 1
        return Trigger(self.noted - 1, env.id)

    def lead_ids(self) -> set[str]:
        activity_leads = {a.lead_id for _, a in self.activities.values()}
        return set(self.captured) | activity_leads | set(self.updated)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _require_uuid(value: str, name: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a UUID") from None


def note_captured(plan: BatchPlan, env: Envelope) -> None:
    """A lead is captured once: within a batch, its first LeadCaptured wins."""
    event = env.data
    assert isinstance(event, LeadCaptured)
    _require_uuid(event.lead_id, "lead_id")
    plan.captured.setdefault(event.lead_id, (plan.trigger(env), event))


def note_activity(plan: BatchPlan, env: Envelope) -> None:
    """An activity counts once, whichever event delivered it first."""
    event = env.data
    assert isinstance(event, LeadActivityRecorded)
    _require_uuid(event.lead_id, "lead_id")
    _require_uuid(event.activity_id, "activity_id")
    plan.activities.setdefault(event.activity_id, (plan.trigger(env), event))


def note_updated(plan: BatchPlan, env: Envelope) -> None:
    """A merged profile replaces the stored one: the latest update in the batch wins."""
    event = env.data
    assert isinstance(event, LeadUpdated)
    _require_uuid(event.lead_id, "lead_id")
    plan.updated[event.lead_id] = (plan.trigger(env), event)


def leads_to_score(
    plan: BatchPlan, known: set[str], inserted_activities: set[str]
) -> dict[str, Trigger]:
    """A lead is re-scored when first captured, or when a known lead gets a new activity.

    Returns each such lead with the latest event of the batch that changed it.
    """
    triggers: dict[str, Trigger] = {
        lead_id: trigger for lead_id, (trigger, _) in plan.captured.items() if lead_id not in known
    }
    for lead_id, (trigger, _) in plan.updated.items():
        current = triggers.get(lead_id)
        if current is None or trigger.position > current.position:
            triggers[lead_id] = trigger
    for activity_id in inserted_activities:
        trigger, activity = plan.activities[activity_id]
        lead_id = activity.lead_id
        if lead_id not in known and lead_id not in triggers:
            continue  # stored; counted once the lead's captured event arrives
        current = triggers.get(lead_id)
        if current is None or trigger.position > current.position:
            triggers[lead_id] = trigger
    return triggers


def _activity_row(event: LeadActivityRecorded) -> store.ActivityRow:
    return store.ActivityRow(
        activity_id=event.activity_id,
        lead_id=event.lead_id,
        kind=event.kind.value,
        occurred_at=_as_utc(event.occurred_at),
        channel=event.channel,
        details=event.details,
    )


def _new_lead(event: LeadCaptured) -> store.StoredLead:
    profile = event.lead.model_dump(mode="json")
    return store.StoredLead(event.lead_id, profile, _as_utc(event.captured_at), None)


async def score_batch(
    uow: UnitOfWork, plan: BatchPlan, model: domain.ScoringModel, now: datetime
) -> None:
    """Store the batch's facts, then score each changed lead once and announce its score."""
    conn = uow.conn
    known = await store.load_leads(conn, plan.lead_ids())
    inserted = await store.insert_activities(
        conn, [_activity_row(event) for _, event in plan.activities.values()]
    )
    triggers = leads_to_score(plan, set(known), inserted)
    if not triggers:
        return
    leads = {**{lid: _new_lead(ev) for lid, (_, ev) in plan.captured.items()}, **known}
    for lead_id, (_, update) in plan.updated.items():
        profile = update.lead.model_dump(mode="json")
        lead = leads.get(lead_id)
        leads[lead_id] = (
            replace(lead, profile=profile)
            if lead is not None  # an update before its capture: the update is the lead
            else store.StoredLead(lead_id, profile, _as_utc(update.updated_at), None)
        )
    activities = await store.load_activities(conn, triggers)
    rows: list[store.ScoreRow] = []
    for lead_id, trigger in sorted(triggers.items(), key=lambda item: item[1].position):
        lead = leads[lead_id]
        score = domain.score_lead(lead.profile, activities.get(lead_id, []), model, now)
        rows.append(score_row(lead, score, model, now))
        announce(uow, lead, score, model, now, trigger.event_id, _why(plan, lead_id, known))
    await store.save_scores(conn, rows)


def _why(plan: BatchPlan, lead_id: str, known: Mapping[str, store.StoredLead]) -> ScoreTrigger:
    if lead_id in plan.updated:
        return "profile_updated"
    return "activity" if lead_id in known else "captured"


def score_row(
    lead: store.StoredLead, score: domain.Score, model: domain.ScoringModel, now: datetime
) -> store.ScoreRow:
    return store.ScoreRow(
        lead_id=lead.lead_id,
        profile=lead.profile,
        captured_at=lead.captured_at,
        score=score.total,
        fit=score.fit,
        engagement=score.engagement,
        bucket=score.bucket,
        qualified=score.qualified,
        contributions=[
            {"rule": c.rule, "group": c.group, "points": c.points} for c in score.contributions
        ],
        model_version=model.version,
        scored_at=now,
    )


ScoreTrigger = Literal["captured", "activity", "profile_updated", "decay"]


def announce(
    uow: UnitOfWork,
    lead: store.StoredLead,
    score: domain.Score,
    model: domain.ScoringModel,
    now: datetime,
    cause: str | None,
    why: ScoreTrigger,
) -> None:
    """Every score is announced; a scored lead moving to another bucket is announced (so a
    "hot" alert catches warm leads turning hot); a lead reaching the threshold is announced
    qualified once per crossing, and disqualified (recycled) once per fall back below it."""
    contributions = [
        ScoreContribution(rule=c.rule, group=c.group, points=c.points) for c in score.contributions
    ]
    uow.emit(
        LeadScored(
            lead_id=lead.lead_id,
            score=score.total,
            fit=score.fit,
            engagement=score.engagement,
            bucket=score.bucket,
            qualified=score.qualified,
            model_version=model.version,
            contributions=contributions,
            scored_at=now,
            captured_at=lead.captured_at,
            lead=LeadProfile.model_validate(lead.profile),
            trigger=why,
        ),
        causationid=cause,
    )
    moved = domain.bucket_change(lead.bucket, score.bucket)
    if moved is not None and why != "captured":
        uow.emit(
            LeadBucketChanged(
                lead_id=lead.lead_id,
                from_bucket=moved[0],
                to_bucket=moved[1],
                score=score.total,
                contributions=contributions,
                trigger=why,
                changed_at=now,
            ),
            causationid=cause,
        )
    change = domain.qualification_change(lead.qualified, score.qualified)
    if change == "disqualified" and why != "captured":
        uow.emit(
            LeadDisqualified(
                lead_id=lead.lead_id,
                score=score.total,
                bucket=score.bucket,
                threshold=model.threshold,
                disqualified_at=now,
                trigger=why,
            ),
            causationid=cause,
        )
    if change == "qualified":
        uow.emit(
            LeadQualified(
                lead_id=lead.lead_id,
                score=score.total,
                bucket=score.bucket,
                threshold=model.threshold,
                qualified_at=now,
            ),
            causationid=cause,
        )


def make_batch_handler(model: domain.ScoringModel, clock: Clock = now) -> BatchHandler:
    """The consumer's batch handler: note every event, then score the batch at ``clock()``."""

    async def load(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> BatchPlan:
        return BatchPlan()

    async def save(uow: UnitOfWork, plan: BatchPlan) -> None:
        await score_batch(uow, plan, model, clock())

    return batch_handler(HANDLERS, load, save)


Note = Callable[[BatchPlan, Envelope], None]

HANDLERS: dict[type[Event], Note] = {
    LeadCaptured: note_captured,
    LeadActivityRecorded: note_activity,
    LeadUpdated: note_updated,
}
