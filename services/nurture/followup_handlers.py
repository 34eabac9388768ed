"""Follow-up plans for rep-owned leads, on the consumer's batches and in the timer job.

``LeadAssigned`` makes the plan of the lead's bucket (or moves an active plan's open touches
to the new rep); ``LeadActivityRecorded`` completes touches (a rep's call, e-mail, SMS,
meeting), adds suppressions (unsubscribe, bounce: e-mail touches are skipped from then on,
for good) and ends the plan on won/lost; ``LeadRoutedToNurture`` ends it too (the router took
the lead from its rep). Every change goes through
:func:`services.nurture.followup_replan.replan`; a touch settled for the first time (done,
late, missed) is announced as ``LeadFollowupClosed`` (the router's fairness ledger counts
late and missed ones). The caller holds the leads' lock (see
:func:`services.nurture.store.lock_leads`); :func:`load` reads what a batch needs in one
query per table and :func:`save` writes it back the same way.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.nurture import followup_store as fstore
from services.nurture import metrics
from services.nurture.contact_rules import ContactRules, ContactWindowNeverOpens
from services.nurture.followup import FollowupPlan, plan_end_reason, plan_for_bucket
from services.nurture.followup_replan import (
    OPEN,
    TouchRow,
    cancel_open,
    move_open,
    plan_of_rows,
    replan,
)
from services.nurture.followup_store import PlanRow, StoredActivity
from services.nurture.sequence_timing import StepContact
from services.nurture.suppression import Suppression, suppression_for_activity
from services.nurture.time_zones import TimeZoneRules, lead_time_zone
from services.nurture.touch_modes import modes_completed_by
from services.nurture.touch_status import ReportedActivity
from shared.contracts import LeadActivityRecorded, LeadAssigned, LeadFollowupClosed
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

# What a replan counts (a touch's announcement, 'due', is counted by the timer job).
_OUTCOMES = frozenset({"done", "late", "missed", "skipped"})
# A touch settles once: from open (or new) to one of these; LeadFollowupClosed says which.
_CLOSING = frozenset({"done", "late", "missed"})
_UNSETTLED = frozenset({"", *OPEN})
# Contacts older than this cannot share a local day or ISO week with a touch placed now.
CAP_HORIZON = timedelta(days=8)


@dataclass(frozen=True)
class FollowupRules:
    """``nurture.followups`` and ``nurture.contact`` as the service uses them."""

    plans: Mapping[str, FollowupPlan] = field(default_factory=dict)
    contact: ContactRules = field(default_factory=ContactRules)
    zones: TimeZoneRules = field(default_factory=TimeZoneRules)


@dataclass
class FollowupBatch:
    """The batch's leads' plans, touches, activities and suppressions, and what changed."""

    rules: FollowupRules
    now: datetime
    plans: dict[str, PlanRow]
    touches: dict[str, tuple[TouchRow, ...]]
    activities: dict[str, list[ReportedActivity]]
    suppressions: dict[str, list[Suppression]]
    steps: dict[str, list[StepContact]] = field(default_factory=dict)
    changed: dict[str, PlanRow] = field(default_factory=dict)
    new_activities: list[StoredActivity] = field(default_factory=list)
    new_suppressions: list[tuple[str, Suppression]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    closed: list[LeadFollowupClosed] = field(default_factory=list)

    def contacts_of(self, lead_id: str) -> list[datetime]:
        """Every touch to the lead that counts against its pressure caps when a nurture
        step is placed: the rep touches reported (any channel), the follow-up touches still
        open or announced and not done (a done one is its activity), the sequence steps."""
        reported = self.activities.get(lead_id, [])
        made = [a.at for a in reported if modes_completed_by(a.kind, a.channel)]
        known = (*self.plans.values(), *self.changed.values())  # active, or ended in this batch
        plans = {p.plan_id for p in known if p.lead_id == lead_id}
        owed = [r.due_at for p in plans for r in self.touches.get(p, ()) if _owed(r)]
        return made + owed + [c.due_at for c in self.steps.get(lead_id, [])]

    def refresh(self, plan: PlanRow) -> None:
        """Bring the plan's touches up to date with what the batch knows now."""
        config = plan_for_bucket(plan.bucket, self.rules.plans)
        rows = self.touches.get(plan.plan_id, ())
        if config is None and not rows:
            return
        stale = config is None or bool(
            rows and [r.mode for r in rows] != [t.mode.value for t in config.touches]
        )
        if stale or config is None:  # the config changed under a running plan: keep its due
            config = plan_of_rows(plan.bucket, rows, config)  # times, go on tracking them
        try:
            result = replan(
                config,
                rows,
                assigned_at=plan.assigned_at,
                rep=(plan.rep_id, plan.rep_name),
                zone=ZoneInfo(plan.zone),
                rules=self.rules.contact,
                activities=self.activities.get(plan.lead_id, []),
                suppressions=self.suppressions.get(plan.lead_id, []),
                now=self.now,
                keep_due=stale,
                others=[c.due_at for c in self.steps.get(plan.lead_id, [])],
            )
        except ContactWindowNeverOpens:
            log.error("no allowed contact time for a follow-up", extra={"plan": plan.plan_id})
            return
        self.touches[plan.plan_id] = result.touches
        self.outcomes.update(new for _step, _old, new in result.changes if new in _OUTCOMES)
        self.changed[plan.plan_id] = plan
        settled = {
            step for step, old, new in result.changes if old in _UNSETTLED and new in _CLOSING
        }
        for row in result.touches:
            if row.step in settled:
                self.closed.append(self.closed_event(plan, row))

    def closed_event(self, plan: PlanRow, row: TouchRow) -> LeadFollowupClosed:
        """The touch's settlement as the router and notifier read it."""
        return LeadFollowupClosed(
            lead_id=plan.lead_id, plan_id=plan.plan_id, bucket=plan.bucket, rep_id=row.rep_id,
            rep_name=row.rep_name, outcome=row.status, mode=row.mode, step=row.step,
            of=row.total, due_at=row.due_at, done_at=row.done_at, closes_at=row.closes_at,
            closed_at=self.now,
        )  # fmt: skip

    def end(self, lead_id: str, reason: str) -> None:
        """The lead's plan ends now (won, lost, routed to nurture): its open touches are
        cancelled after a last look at what was done or missed."""
        plan = self.plans.get(lead_id)
        if plan is None:
            return
        self.refresh(plan)
        plan.status, plan.reason, plan.ended_at = "ended", reason, self.now
        self.touches[plan.plan_id] = cancel_open(self.touches.get(plan.plan_id, ()))
        self.changed[plan.plan_id] = plan
        del self.plans[lead_id]


def _owed(row: TouchRow) -> bool:
    """A follow-up touch not done that the lead may get: open, or announced to the rep."""
    if row.done_at is not None or row.status == "skipped":
        return False
    return row.open or row.announced_at is not None


async def load(
    uow: UnitOfWork, rules: FollowupRules, leads: Sequence[str], now: datetime
) -> FollowupBatch:
    conn = uow.conn
    plans = await fstore.load_active_plans(conn, leads)
    contacts = await fstore.load_contacts(conn, leads, now - CAP_HORIZON)
    return FollowupBatch(
        rules=rules,
        now=now,
        plans=plans,
        touches=await fstore.load_touches(conn, [p.plan_id for p in plans.values()]),
        activities=contacts.activities,
        suppressions=contacts.suppressions,
        steps=contacts.steps,
    )


async def save(uow: UnitOfWork, batch: FollowupBatch) -> None:
    conn = uow.conn
    await fstore.insert_activities(conn, batch.new_activities)
    await fstore.insert_suppressions(conn, batch.new_suppressions)
    await fstore.save_plans(conn, list(batch.changed.values()))
    await fstore.save_touches(conn, {p: batch.touches[p] for p in batch.changed})
    for event in batch.closed:
        uow.emit(event)
    outcomes = Counter(batch.outcomes)
    uow.after_commit(lambda: metrics.count_touches(outcomes))


def on_assigned(batch: FollowupBatch, lead_id: str, event: LeadAssigned) -> None:
    """A new owner: make the bucket's plan, or give the running plan's open touches to them."""
    rep = (event.rep.rep_id, event.rep.name)
    plan = batch.plans.get(lead_id)
    if plan is not None:
        if event.assigned_at < plan.assigned_at:
            return  # an assignment older than the plan's
        plan.rep_id, plan.rep_name = rep
        batch.touches[plan.plan_id] = move_open(batch.touches.get(plan.plan_id, ()), rep)
        batch.refresh(plan)
        return
    config = plan_for_bucket(event.bucket, batch.rules.plans)
    if config is None:
        return
    zone = lead_time_zone(event.lead.country, event.lead.phone, batch.rules.zones)
    plan = PlanRow(
        plan_id=str(uuid.uuid4()),
        lead_id=lead_id,
        bucket=config.bucket,
        rep_id=rep[0],
        rep_name=rep[1],
        contact=event.lead.model_dump(mode="json"),
        zone=zone.zone.key,
        zone_source=zone.source.value,
        assigned_at=event.assigned_at,
    )
    batch.plans[lead_id] = plan
    batch.refresh(plan)


def on_activity(batch: FollowupBatch, lead_id: str, event: LeadActivityRecorded) -> None:
    """A rep's touch completes one; an opt-out suppresses its channel; won/lost end the plan."""
    kind, channel = str(event.kind), event.channel
    activity = ReportedActivity(kind, event.occurred_at, channel)
    changed = False
    if modes_completed_by(kind, channel):
        batch.activities.setdefault(lead_id, []).append(activity)
        batch.new_activities.append(StoredActivity(lead_id, event.activity_id, activity))
        changed = True
    blocked = suppression_for_activity(kind, channel)
    known = batch.suppressions.setdefault(lead_id, [])
    if blocked is not None and all(s.mode is not blocked[0] for s in known):
        suppression = Suppression(blocked[0], blocked[1], event.occurred_at)
        known.append(suppression)
        batch.new_suppressions.append((lead_id, suppression))
        changed = True
    plan = batch.plans.get(lead_id)
    if plan is None:
        return
    ends = plan_end_reason(kind)
    if ends is not None:
        batch.end(lead_id, ends)
    elif changed:
        batch.refresh(plan)


ROUTED_TO_NURTURE = "routed to nurture"


def on_routed_to_nurture(batch: FollowupBatch, lead_id: str) -> None:
    """The router took the lead from its rep and sent it to nurture (recycled: gone cold,
    lost, disqualified): the rep owes it no more touches."""
    batch.end(lead_id, ROUTED_TO_NURTURE)
