"""Nurture's use cases: enroll a routed lead, stop it when it responds or gets a rep, and
keep the rep's follow-up plan (:mod:`services.nurture.followup_handlers`).

A sequence's touches obey the same contact rules as the follow-ups
(:mod:`services.nurture.sequence_timing`): placed inside the lead's hours in its zone, under
the per-lead caps shared with every follow-up touch and reported rep touch, and skipped (kept,
with the reason) when their mode is suppressed for the lead.

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
from services.nurture.contact_rules import ContactWindowNeverOpens
from services.nurture.followup_handlers import FollowupBatch, FollowupRules
from services.nurture.sequence_timing import StepContact, place_steps
from services.nurture.time_zones import lead_time_zone
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
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # enrollment, mode, why

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
        self.followups.steps[signal.lead_id] = [  # its pending touches no longer count
            c
            for c in self.followups.steps.get(signal.lead_id, [])
            if not (c.pending and c.enrollment_id == enrollment.enrollment_id)
        ]
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
    """A lead routed to nurture leaves its rep's follow-ups and joins its sequence (by
    recycle cause, else bucket), each touch dated from now, in the lead's hours,
    under its caps, a suppressed mode's touches skipped."""
    event = env.data
    assert isinstance(event, LeadRoutedToNurture)
    lead_id = lead_key(event.lead_id)
    last_stop = state.last_stop.get(lead_id)
    if last_stop is None or not domain.stop_applies(last_stop, event.routed_at):
        followup_handlers.on_routed_to_nurture(state.followups, lead_id)
    decision = domain.decide_enrollment(
        event.bucket,
        event.routed_at,
        state.rules.sequences,
        already_active=lead_id in state.active,
        last_stop_at=last_stop,
        recycled=event.recycled,
    )
    if decision.sequence is None:
        log.info("lead not enrolled: %s", decision.skipped, extra={"lead": lead_id})
        return
    rules = state.followups.rules
    zone = lead_time_zone(event.lead.country, event.lead.phone, rules.zones)
    try:
        steps = place_steps(
            # From when nurture takes the lead in, not from its routing: after an outage a
            # cadence starts late rather than firing its overdue touches in a burst.
            domain.plan_steps(decision.sequence, state.now),
            zone.zone,
            rules.contact,
            contacts=state.followups.contacts_of(lead_id),
            suppressions=state.followups.suppressions.get(lead_id, ()),
        )
    except ContactWindowNeverOpens:
        log.error("lead not enrolled: no allowed contact time", extra={"lead": lead_id})
        return
    if all(p.skipped is not None for p in steps):
        log.info("lead not enrolled: every touch's mode is suppressed", extra={"lead": lead_id})
        return
    enrollment = store.NewEnrollment(
        enrollment_id=str(uuid.uuid4()),
        lead_id=lead_id,
        sequence=decision.sequence.name,
        contact=ContactSnapshot.of(event.lead).model_dump(mode="json"),
        routed_at=event.routed_at,
        enrolled_at=state.now,
        steps=steps,
        zone=zone.zone.key,
        zone_source=zone.source.value,
    )
    state.enrolled.append(enrollment)
    state.active[lead_id] = store.ActiveEnrollment(
        enrollment.enrollment_id, lead_id, enrollment.sequence, enrollment.routed_at
    )
    state.followups.steps.setdefault(lead_id, []).extend(
        StepContact(enrollment.enrollment_id, p.step.due_at, pending=True)
        for p in steps
        if p.skipped is None
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
    """An activity may stop the lead's sequence, and complete, suppress or end follow-ups; a
    new suppression skips the sequence's pending touches of that mode."""
    stop_on_activity(state, env)
    assert isinstance(env.data, LeadActivityRecorded)
    lead_id = lead_key(env.data.lead_id)
    known = len(state.followups.new_suppressions)
    followup_handlers.on_activity(state.followups, lead_id, env.data)
    enrollment = state.active.get(lead_id)
    if enrollment is None:
        return
    for _lead, suppression in state.followups.new_suppressions[known:]:
        mode, reason = suppression.mode.value, suppression.reason.value
        state.skipped.append((enrollment.enrollment_id, mode, reason))


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


async def complete_finished(
    uow: UnitOfWork, enrollments: dict[str, tuple[str, str]], now: datetime
) -> list[str]:
    """Complete the enrollments (id -> lead, sequence) with no touch left to send: the last
    was sent, or the ones after it were skipped (a suppressed mode); announce each."""
    finished = await store.finished_enrollments(uow.conn, list(enrollments))
    for enrollment_id in finished:
        lead_id, sequence = enrollments[enrollment_id]
        uow.emit(
            NurtureStopped(
                lead_id=lead_id,
                enrollment_id=enrollment_id,
                sequence=sequence,
                reason=domain.COMPLETED,
                stopped_at=now,
            )
        )
    await store.complete_enrollments(uow.conn, finished, domain.COMPLETED, now)
    return finished


async def _save(uow: UnitOfWork, state: BatchState) -> None:
    conn = uow.conn
    await store.record_stops(conn, list(state.signals.values()))
    await store.insert_enrollments(conn, state.enrolled)
    await store.stop_enrollments(conn, state.stopped)
    if state.skipped:  # a sequence left with nothing to send is complete
        await store.skip_steps(conn, state.skipped)
        active = {e.enrollment_id: (e.lead_id, e.sequence) for e in state.active.values()}
        touched = {e: active[e] for e, _, _ in state.skipped if e in active}
        await complete_finished(uow, touched, state.now)
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
