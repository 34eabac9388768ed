"""Nurture's use cases: enroll a routed lead, stop it when it responds or gets a rep, and
keep the rep's follow-up plan (:mod:`services.nurture.followup_handlers`).

A batch of events is applied in one transaction (see ``shared.bus.consumer``): the leads it
touches are locked, their active enrollments and latest stops loaded in one query each, every
event decided in memory in batch order by the rules in ``domain``, and the changes written
with one statement per table. The HANDLERS table at the bottom lists what the service
reacts to.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.nurture import domain, followup_handlers, store
from services.nurture.followup_handlers import FollowupBatch, FollowupRules
from shared.bus.consumer import BatchHandler
from shared.bus.dispatch import batch_handler
from shared.clock import Clock, now
from shared.contracts import (
    ContactSnapshot,
    Envelope,
    Event,
    LeadActivityRecorded,
    LeadAssigned,
    LeadRoutedToNurture,
    NurtureStopped,
)
from shared.db import audit
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)


class NotEnrolled(LookupError):
    """The lead has no active nurture enrollment."""


@dataclass
class BatchState:
    """What a batch knows about its leads, and the changes it decided, before they are saved."""

    uow: UnitOfWork
    rules: domain.NurtureRules
    now: datetime
    active: dict[str, store.ActiveEnrollment]
    last_stop: dict[str, datetime]
    followups: FollowupBatch
    enrolled: list[store.NewEnrollment] = field(default_factory=list)
    stopped: list[store.EnrollmentStop] = field(default_factory=list)
    signals: dict[str, store.StopSignal] = field(default_factory=dict)

    def record_signal(self, signal: store.StopSignal) -> None:
        """Remember the latest stop signal per lead (for routings that arrive after it)."""
        known = self.last_stop.get(signal.lead_id)
        if known is None or signal.at > known:
            self.last_stop[signal.lead_id] = signal.at
            self.signals[signal.lead_id] = signal

    def stop(self, signal: store.StopSignal, causationid: str | None, *, manual: bool) -> bool:
        """End the lead's active enrollment if the signal applies to it; True if it did."""
        enrollment = self.active.get(signal.lead_id)
        if enrollment is None:
            return False
        if not manual and not domain.stop_applies(signal.at, enrollment.routed_at):
            log.info("stop signal older than the routing ignored", extra={"lead": signal.lead_id})
            return False
        del self.active[signal.lead_id]
        self.stopped.append(store.EnrollmentStop(enrollment.enrollment_id, signal.reason, self.now))
        self.uow.emit(
            NurtureStopped(
                lead_id=signal.lead_id,
                enrollment_id=enrollment.enrollment_id,
                sequence=enrollment.sequence,
                reason=signal.reason,
                stopped_at=self.now,
            ),
            causationid=causationid,
        )
        return True


Handler = Callable[[BatchState, Envelope], None]


def lead_key(lead_id: str) -> str:
    """Lead ids are UUIDs; one spelling per lead (a non-UUID id is poison: ValueError)."""
    return str(uuid.UUID(lead_id))


def enroll_routed_lead(state: BatchState, env: Envelope) -> None:
    """A lead routed to nurture joins its bucket's sequence, with every touch planned now."""
    event = env.data
    assert isinstance(event, LeadRoutedToNurture)
    lead_id = lead_key(event.lead_id)
    decision = domain.decide_enrollment(
        event.bucket,
        event.routed_at,
        state.rules.sequences,
        already_active=lead_id in state.active,
        last_stop_at=state.last_stop.get(lead_id),
    )
    if decision.sequence is None:
        log.info("lead not enrolled: %s", decision.skipped, extra={"lead": lead_id})
        return
    enrollment = store.NewEnrollment(
        enrollment_id=str(uuid.uuid4()),
        lead_id=lead_id,
        sequence=decision.sequence.name,
        contact=ContactSnapshot.of(event.lead).model_dump(mode="json"),
        routed_at=event.routed_at,
        enrolled_at=state.now,
        steps=domain.plan_steps(decision.sequence, state.now),
    )
    state.enrolled.append(enrollment)
    state.active[lead_id] = store.ActiveEnrollment(
        enrollment.enrollment_id, lead_id, enrollment.sequence, enrollment.routed_at
    )


def stop_on_activity(state: BatchState, env: Envelope) -> None:
    """An activity listed in stop_on (replied, unsubscribed, won...) ends the lead's sequence."""
    event = env.data
    assert isinstance(event, LeadActivityRecorded)
    reason = domain.stop_reason(event.kind, state.rules.stop_on)
    if reason is None:
        return
    signal = store.StopSignal(lead_key(event.lead_id), reason, event.recorded_at)
    state.record_signal(signal)
    state.stop(signal, env.id, manual=False)


def on_activity(state: BatchState, env: Envelope) -> None:
    """An activity may stop the lead's sequence, and complete, suppress or end follow-ups."""
    stop_on_activity(state, env)
    assert isinstance(env.data, LeadActivityRecorded)
    followup_handlers.on_activity(state.followups, lead_key(env.data.lead_id), env.data)


def on_assignment(state: BatchState, env: Envelope) -> None:
    """A lead with a rep leaves nurture, and gets (or moves) its follow-up plan."""
    stop_on_assignment(state, env)
    assert isinstance(env.data, LeadAssigned)
    followup_handlers.on_assigned(state.followups, lead_key(env.data.lead_id), env.data)


def stop_on_assignment(state: BatchState, env: Envelope) -> None:
    """A lead that got a rep leaves nurture: the rep follows up now."""
    event = env.data
    assert isinstance(event, LeadAssigned)
    signal = store.StopSignal(lead_key(event.lead_id), domain.ASSIGNED, event.assigned_at)
    state.record_signal(signal)
    state.stop(signal, env.id, manual=False)


async def _load(
    uow: UnitOfWork,
    rules: domain.NurtureRules,
    leads: list[str],
    now: datetime,
    followups: FollowupRules | None = None,
) -> BatchState:
    await store.lock_leads(uow.conn, leads)
    return BatchState(
        uow=uow,
        rules=rules,
        now=now,
        active=await store.load_active(uow.conn, leads),
        last_stop=await store.load_last_stops(uow.conn, leads),
        followups=await followup_handlers.load(uow, followups or FollowupRules(), leads, now),
    )


async def _save(uow: UnitOfWork, state: BatchState) -> None:
    conn = uow.conn
    await store.record_stops(conn, list(state.signals.values()))
    await store.insert_enrollments(conn, state.enrolled)
    await store.stop_enrollments(conn, state.stopped)
    await followup_handlers.save(uow, state.followups)


def make_batch_handler(
    rules: domain.NurtureRules, followups: FollowupRules | None = None, clock: Clock = now
) -> BatchHandler:
    """The consumer's batch handler: load the batch's leads, decide each event, save once."""

    async def load(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> BatchState:
        leads = sorted({lead_key(env.data.lead_id) for env in envelopes})
        return await _load(uow, rules, leads, clock(), followups)

    return batch_handler(HANDLERS, load, _save)


async def stop_manually(
    uow: UnitOfWork, lead_id: str, reason: str, now: datetime, actor: str
) -> store.EnrollmentStop:
    """An operator takes a lead out of its sequence at once; its pending touches are
    cancelled, and the audit trail records who did it."""
    lead = lead_key(lead_id)
    async with uow:
        state = await _load(uow, domain.NurtureRules(), [lead], now)
        signal = store.StopSignal(lead, domain.manual_stop_reason(reason), now)
        state.record_signal(signal)
        if not state.stop(signal, None, manual=True):
            raise NotEnrolled(lead)
        await _save(uow, state)
        await audit.append(uow.conn, actor, "nurture.stopped", lead_id, {"reason": reason})
        await uow.commit()
    return state.stopped[0]


HANDLERS: dict[type[Event], Handler] = {
    LeadRoutedToNurture: enroll_routed_lead,
    LeadActivityRecorded: on_activity,
    LeadAssigned: on_assignment,
}
