"""SLA use cases: a first contact stops the lead's clock; the timer job warns before the
deadline, announces a breach at it, and hands the lead to the next rep or escalates it.

Breaches and handovers run under the routing lock, like any routing decision, so the old
rep's open-lead count drops and the new rep's rises against loads nobody else is changing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from services.router.domain.fairness import first_contact_kind
from services.router.domain.model import Routing, SlaPolicy
from services.router.domain.reassignment import Handover, Stay, after_breach, apply_handover
from services.router.domain.rules import lead_facts
from services.router.domain.sla import (
    SlaClock,
    breach,
    first_contact,
    is_breach,
    is_first_contact,
    is_handover_pending,
    should_warn,
)
from services.router.handlers.ledger import Ledger, RepEvent
from services.router.handlers.routing import (
    RoutingRound,
    candidate_traces,
    close_round,
    open_round,
    pool_trace,
    rep_ref,
    team_ref,
)
from services.router.handlers.source import RoutingSource
from services.router.store import leads as lead_store
from services.router.store import sla as sla_store
from services.router.store import stats as stats_store
from shared.config import duration_text
from shared.contracts import (
    ActivityKind,
    ContactSnapshot,
    LeadActivityRecorded,
    LeadAssigned,
    LeadProfile,
    LeadSlaBreached,
    LeadSlaWarning,
    RoutingTrace,
    SlaAction,
)
from shared.db.uow import UnitOfWork

CLOSING_ACTIVITIES = frozenset({ActivityKind.WON, ActivityKind.LOST})


def utc(at: datetime) -> datetime:
    """``at`` in UTC (a naive time is taken as UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def record_contacts(
    uow: UnitOfWork, activities: Sequence[LeadActivityRecorded], ledger: Ledger | None = None
) -> None:
    """The owner's first contact with an assigned lead stops its SLA clock and counts for the
    rep (contacted, within the SLA or not, and the time it took); a fast one is a ledger
    entry (``fast_first_contact``) when fairness is on."""
    earliest: dict[str, LeadActivityRecorded] = {}
    for a in activities:
        if is_first_contact(a.kind):
            seen = earliest.get(a.lead_id)
            if seen is None or utc(a.occurred_at) < utc(seen.occurred_at):
                earliest[a.lead_id] = a
    firsts = await lead_store.record_contacts(
        uow.conn, {lead: utc(a.occurred_at) for lead, a in earliest.items()}
    )
    if not firsts:
        return
    ids = [f.lead_id for f in firsts]
    await sla_store.drop_timers(uow.conn, ids)
    clocks = await sla_store.load_clocks(uow.conn, ids, lock=True)
    tally = stats_store.RepTally()
    stopped: list[SlaClock] = []
    for first in firsts:
        activity = earliest[first.lead_id]
        at = utc(activity.occurred_at)
        clock = clocks.get(first.lead_id)
        contact, after = first_contact(clock, first.rep_id, first.assigned_at, at, activity.rep_id)
        tally.add(contact.rep_id, at, "contacted")
        if contact.within_sla:
            tally.add(contact.rep_id, at, "contacted_within_sla")
        if contact.response is not None:
            tally.add(contact.rep_id, at, "responses")
            tally.add(contact.rep_id, at, "response_seconds", contact.response.total_seconds())
        if ledger is not None and ledger.policy is not None:
            kind = first_contact_kind(contact.response, ledger.policy)
            if kind is not None and contact.response is not None:
                reason = (
                    f"first contact {duration_text(contact.response)} after assignment"
                    f" (fast: within {duration_text(ledger.policy.fast_first_contact)})"
                )
                ledger.note(
                    RepEvent(contact.rep_id, kind, at, reason, activity.activity_id, first.lead_id)
                )
        if after is not None and after != clock:
            stopped.append(after)
    await sla_store.save_clocks(uow.conn, stopped)
    await stats_store.save_tally(uow.conn, tally)


async def close_won_lost(
    uow: UnitOfWork,
    activities: Sequence[LeadActivityRecorded],
    now: datetime,
    ledger: Ledger | None = None,
) -> list[tuple[str, str]]:
    """Won or lost closes the lead and frees the rep's capacity; a win counts for the rep
    (and is a ledger entry, ``won``, when fairness is on). Return (lead, rep) of each lead
    closed now."""
    closing = [a.lead_id for a in activities if a.kind in CLOSING_ACTIVITIES]
    if not closing:
        return []
    won = {a.lead_id: a for a in activities if a.kind == ActivityKind.WON}
    closed = await lead_store.close_leads(uow.conn, closing, now)
    await lead_store.release_load(uow.conn, [rep for _, rep in closed])
    tally = stats_store.RepTally()
    for lead_id, rep_id in closed:
        if lead_id in won:
            tally.add(rep_id, now, "won")
            if ledger is not None and rep_id:
                activity = won[lead_id]
                reason = "won a lead they owned" + (
                    f" ({activity.amount})" if activity.amount is not None else ""
                )
                at = utc(activity.occurred_at)
                ledger.note(RepEvent(rep_id, "won", at, reason, activity.activity_id, lead_id))
    await stats_store.save_tally(uow.conn, tally)
    return closed


async def fire_due_warnings(
    uow: UnitOfWork, source: RoutingSource, now: datetime, limit: int
) -> int:
    """Warn the rep's followers that a lead's deadline is close; return the timers claimed."""
    timers, due = await _claim_due(uow, [sla_store.WARNING], now, limit)
    if not timers:
        return 0
    routing = (await source.current(uow.conn)).routing
    for timer, clock, lead in due:
        if not should_warn(clock, timer.attempt, now):
            continue
        policy = _policy(routing, clock)
        uow.emit(
            LeadSlaWarning(
                **_clock_fields(routing, clock, lead, policy),
                warned_at=now,
                business_hours=policy.business_hours if policy else False,
            )
        )
    return len(timers)


async def fire_due_breaches(
    uow: UnitOfWork, source: RoutingSource, now: datetime, retry_after: timedelta, limit: int
) -> int:
    """Announce each missed deadline and hand the lead over (or escalate it, or keep it);
    offer breached leads nobody could take again. Return the timers claimed."""
    kinds = [sla_store.BREACH, sla_store.HANDOVER]
    if not await sla_store.has_due_timers(uow.conn, kinds, now):
        return 0
    rnd = await open_round(uow, source, now, [])  # the routing lock, routing config, loads, cursors
    routing = rnd.routing
    timers, due = await _claim_due(uow, kinds, now, limit, lock=True)
    moves: list[lead_store.Reassignment] = []
    changed: list[SlaClock] = []
    timers_next: list[sla_store.Timer] = []
    for timer, clock, lead in due:
        if lead.status != "assigned" or lead.closed_at:
            continue
        breaching = timer.kind == sla_store.BREACH
        pending = is_breach if breaching else is_handover_pending
        if not pending(clock, timer.attempt):
            continue  # contacted, or a timer of an earlier attempt
        facts = lead_facts(lead.profile, score=lead.score, bucket=lead.bucket)
        outcome = after_breach(
            clock, routing, rnd.loads, rnd.cursors, now, facts, str(uuid.uuid4())
        )
        if breaching:
            rnd.tally.add(clock.rep_id, now, "breached")
            rnd.note(
                RepEvent(clock.rep_id, "sla_breach", now, _breach_reason(clock),
                         f"sla:{clock.assignment_id}", clock.lead_id)
            )  # fmt: skip
            rnd.events.append((_breached(routing, clock, lead, outcome, now), None))
        if isinstance(outcome, Handover):
            _hand_over(rnd, clock, lead, outcome)
            moves.append(
                lead_store.Reassignment(clock.lead_id, outcome.queue, outcome.rep_id,
                                        outcome.clock.assignment_id, now, outcome.clock.due_at,
                                        rnd.version)
            )  # fmt: skip
            changed.append(outcome.clock)
            timers_next.extend(sla_store.timers_for(outcome.clock))
            continue
        if breaching:
            changed.append(breach(clock))
        if outcome.retry:
            timers_next.append(
                sla_store.Timer(clock.lead_id, sla_store.HANDOVER, clock.attempt, now + retry_after)
            )
    await lead_store.reassign_leads(uow.conn, moves)
    await sla_store.drop_timers(uow.conn, [m.lead_id for m in moves])  # the old attempt's warning
    await sla_store.save_clocks(uow.conn, changed)
    await sla_store.arm_timers(uow.conn, timers_next)
    await close_round(uow, rnd)
    return len(timers)


def _hand_over(rnd: RoutingRound, clock: SlaClock, lead: lead_store.LeadRow, h: Handover) -> None:
    """The old rep loses the lead (and a unit of load), the new rep gains it; announce it."""
    weight = rnd.routing.lead_weight(lead.bucket)
    rnd.loads, rnd.cursors = apply_handover(h, clock.rep_id, rnd.loads, rnd.cursors, weight)
    rnd.save_load_of(clock.rep_id)
    rnd.save_load_of(h.rep_id)
    rnd.tally.add(clock.rep_id, rnd.now, "reassigned_away")
    rnd.tally.add(h.rep_id, rnd.now, "assigned")
    profile = LeadProfile.model_validate(lead.profile)
    event = LeadAssigned(
        lead_id=lead.lead_id,
        assignment_id=h.clock.assignment_id,
        queue=h.queue,
        rep=rep_ref(rnd.routing, h.rep_id),
        team=team_ref(rnd.routing, h.rep_id),
        lead=ContactSnapshot.of(profile),
        score=lead.score,
        bucket=lead.bucket,
        source=profile.source,
        captured_at=lead.captured_at,
        assigned_at=rnd.now,
        sla_due_at=h.clock.due_at,
        trace=RoutingTrace(
            rule=lead.rule or "",
            queue=h.attempts[0].queue if h.attempts else clock.queue,
            strategy=h.strategy,
            candidates=candidate_traces(h.attempts, rnd.routing),
            pool=pool_trace(rnd.routing, h.attempts, h.rep_id),
            explanation=h.trace,
            config_version=rnd.version,
        ),
        reassigned=True,
        attempt=h.clock.attempt,
        previous_rep=rep_ref(rnd.routing, clock.rep_id),
        escalated=h.escalated,
    )
    rnd.events.append((event, None))


def _breach_reason(clock: SlaClock) -> str:
    """Why a breach entry is in the ledger (no personal data: the entry outlives the lead)."""
    return (
        f"missed the first-contact SLA in queue {clock.queue} (attempt {clock.attempt},"
        f" due {clock.due_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"
    )


def _breached(
    routing: Routing,
    clock: SlaClock,
    lead: lead_store.LeadRow,
    outcome: Handover | Stay,
    now: datetime,
) -> LeadSlaBreached:
    policy = _policy(routing, clock)
    return LeadSlaBreached(
        **_clock_fields(routing, clock, lead, policy),
        breached_at=now,
        business_hours=policy.business_hours if policy else False,
        action=SlaAction(outcome.action),
        next_rep=rep_ref(routing, outcome.rep_id) if isinstance(outcome, Handover) else None,
        reason=outcome.trace if isinstance(outcome, Handover) else outcome.reason,
    )


_Due = tuple[sla_store.Timer, SlaClock, lead_store.LeadRow]


async def _claim_due(
    uow: UnitOfWork, kinds: Sequence[str], now: datetime, limit: int, *, lock: bool = False
) -> tuple[list[sla_store.Timer], list[_Due]]:
    """Claim the due timers of ``kinds`` (each fires once, on one replica) and read their
    clocks (locked for update when ``lock``) and leads; the claimed timers, and those whose
    clock and lead still exist."""
    timers = await sla_store.claim_due_timers(uow.conn, kinds, now, limit)
    ids = [t.lead_id for t in timers]
    clocks = await sla_store.load_clocks(uow.conn, ids, lock=lock)
    leads = await lead_store.load_leads(uow.conn, ids)
    due = [
        (t, clocks[t.lead_id], leads[t.lead_id])
        for t in timers
        if t.lead_id in clocks and t.lead_id in leads
    ]
    return timers, due


def _clock_fields(
    routing: Routing, clock: SlaClock, lead: lead_store.LeadRow, policy: SlaPolicy | None
) -> dict[str, Any]:
    """The fields both SLA events take from the clock (``LeadSlaEvent``)."""
    return {
        "lead_id": clock.lead_id,
        "assignment_id": clock.assignment_id,
        "queue": clock.queue,
        "rep": rep_ref(routing, clock.rep_id),
        "lead": _contact(lead),
        "bucket": clock.bucket,
        "attempt": clock.attempt,
        "max_attempts": policy.max_attempts if policy else clock.attempt,
        "assigned_at": clock.started_at,
        "due_at": clock.due_at,
        "team": team_ref(routing, clock.rep_id),
    }


def _policy(routing: Routing, clock: SlaClock) -> SlaPolicy | None:
    queue = routing.queues.get(clock.queue)
    return queue.sla if queue is not None else None


def _contact(lead: lead_store.LeadRow) -> ContactSnapshot:
    return ContactSnapshot.of(LeadProfile.model_validate(lead.profile))
