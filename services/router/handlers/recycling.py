"""Gone cold, recycling and snoozes, the use cases.

- A batch's touches and replies warm their leads up (and call off a gone-cold recycle still
  cooling off); a lost or disqualified lead gets its recycle timer per ``routing.recycling``.
- The gone-cold scan announces each lead due (``LeadGoneCold``, once) and arms its recycle.
- The recycle job moves leads whose timer is due (cool-off over, snooze over) under the
  routing lock, like any routing decision: the old owner's open count drops, the new
  owner's rises, and ``LeadRecycled`` says why next to the usual assignment or nurture event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.router.domain.cold import fold_contacts, gone_cold
from services.router.domain.lifecycle import StageFact, placed_again
from services.router.domain.owners import account_of
from services.router.domain.recycling import RecyclePolicy, recycle, release
from services.router.domain.routing import Assigned, RoutingDecision, ToNurture, route_lead
from services.router.domain.rules import lead_facts
from services.router.handlers.ledger import RepEvent, open_ledger, save_ledger
from services.router.handlers.routing import (
    LeadToRoute,
    RoutingRound,
    close_round,
    open_round,
    record_decision,
    rep_ref,
)
from services.router.handlers.source import RoutingSource
from services.router.handlers.stages import record_stages
from services.router.store import accounts as account_store
from services.router.store import cold as cold_store
from services.router.store import leads as lead_store
from shared.config import duration_text
from shared.contracts import (
    ActivityKind,
    ColdReason,
    ContactSnapshot,
    LeadActivityRecorded,
    LeadDisqualified,
    LeadGoneCold,
    LeadProfile,
    LeadRecycled,
    RecycleCause,
)
from shared.db import audit
from shared.db.uow import UnitOfWork


class UnknownLead(LookupError):
    """The router has no decision for the lead."""


async def note_touches(uow: UnitOfWork, activities: Sequence[LeadActivityRecorded]) -> None:
    """Touches and replies warm their open leads up: the quiet time starts again, a reply
    starts the touch count again, and a lead announced cold may be announced again later."""
    contacts = fold_contacts((a.lead_id, str(a.kind), a.occurred_at) for a in activities)
    warmed = await cold_store.note_contacts(uow.conn, contacts)
    await cold_store.drop(uow.conn, warmed, cold_store.GONE_COLD)


async def recycle_lost(
    uow: UnitOfWork,
    rnd: RoutingRound,
    activities: Sequence[LeadActivityRecorded],
    closed: Sequence[tuple[str, str]],
) -> None:
    """Each lead lost now keeps its reason, and gets its recycle timer (after the policy's
    cool-off) when ``routing.recycling`` says where lost leads, or leads lost for that
    reason, go."""
    lost = {a.lead_id: a for a in activities if a.kind == ActivityKind.LOST}
    ids = [lead for lead, _ in closed if lead in lost]
    if not ids:
        return
    await cold_store.note_lost_reasons(uow.conn, {i: lost[i].reason for i in ids})
    recycling = rnd.routing.recycling
    if recycling is None:
        return
    rows = await lead_store.load_leads(uow.conn, ids)
    timers = []
    for lead_id in ids:
        policy = recycling.for_lost(lost[lead_id].reason)
        if policy is None:
            continue
        timers.append(
            cold_store.RecycleTimer(lead_id, cold_store.LOST, rows[lead_id].assignment_id,
                                    rnd.now + policy.after, lost[lead_id].reason, rnd.now)
        )  # fmt: skip
    await cold_store.arm(uow.conn, timers)


async def recycle_disqualified(
    uow: UnitOfWork, rnd: RoutingRound, events: Sequence[LeadDisqualified]
) -> None:
    """An open lead whose score fell back below the threshold gets its recycle timer when
    ``routing.recycling.disqualified`` says where such leads go (a lead not assigned, or
    already closed, is left to the usual routing)."""
    recycling = rnd.routing.recycling
    then = recycling.for_disqualified() if recycling is not None else None
    if then is None or not events:
        return
    rows = await lead_store.load_leads(uow.conn, [e.lead_id for e in events])
    timers = []
    for e in events:
        row = rows.get(e.lead_id)
        if row is None or row.status != "assigned" or row.closed_at is not None:
            continue
        reason = f"score {e.score:g} below {e.threshold:g} ({e.trigger})"
        timers.append(
            cold_store.RecycleTimer(e.lead_id, cold_store.DISQUALIFIED, row.assignment_id,
                                    rnd.now + then.after, reason, rnd.now)
        )  # fmt: skip
    await cold_store.arm(uow.conn, timers)


async def scan_gone_cold(uow: UnitOfWork, source: RoutingSource, now: datetime, limit: int) -> int:
    """Announce every open assignment gone cold by the policy in force, once, and arm its
    recycle; with fairness on, each is a ``gone_cold`` entry in its rep's ledger. Return the
    leads looked at (``limit``: go round again)."""
    routing = (await source.current(uow.conn)).routing
    policy = routing.gone_cold
    if policy is None or not await cold_store.any_going_cold(uow.conn, policy, now):
        return 0
    await lead_store.lock_routing(uow.conn)  # ledger entries are written under it everywhere
    routing = (await source.current(uow.conn)).routing
    policy = routing.gone_cold
    if policy is None:
        return 0
    ledger = await open_ledger(uow.conn, routing.fairness, now)
    quiet = await cold_store.claim_going_cold(uow.conn, policy, now, limit)
    rows = await lead_store.load_leads(uow.conn, [q.warmth.lead_id for q in quiet])
    then = routing.recycling.for_cold() if routing.recycling is not None else None
    cold: list[str] = []
    timers: list[cold_store.RecycleTimer] = []
    for q in quiet:
        went = gone_cold(q.warmth, policy, now)
        row = rows.get(q.warmth.lead_id)
        if went is None or row is None:
            continue
        cold.append(went.lead_id)
        uow.emit(
            LeadGoneCold(
                lead_id=went.lead_id, assignment_id=q.assignment_id, queue=q.queue,
                rep=rep_ref(routing, went.rep_id), lead=_contact(row), bucket=went.bucket,
                reason=ColdReason(went.reason), since=went.since, touches=went.touches,
                gone_cold_at=now, explanation=went.detail,
                recycling=then.target if then is not None else None,
            )
        )  # fmt: skip
        if then is not None:
            timers.append(
                cold_store.RecycleTimer(went.lead_id, cold_store.GONE_COLD, q.assignment_id,
                                        now + then.after, went.reason, now)
            )  # fmt: skip
        if ledger.policy is not None:  # one entry per cold spell of an assignment
            source_id = f"cold:{q.assignment_id}:{went.since.isoformat()}"
            reason = f"lead gone cold: {went.detail}"
            ledger.note(RepEvent(went.rep_id, "gone_cold", now, reason, source_id, went.lead_id))
    await cold_store.mark_cold(uow.conn, cold, now)
    await cold_store.arm(uow.conn, timers)
    await save_ledger(uow.conn, ledger)
    return len(quiet)


async def fire_due_recycles(
    uow: UnitOfWork, source: RoutingSource, now: datetime, limit: int
) -> int:
    """Move every lead whose recycle or snooze is due, if it is still where the timer left it
    (a touched, reassigned or re-decided lead stays); return the timers claimed."""
    if not await cold_store.any_due(uow.conn, now):
        return 0
    rnd = await open_round(uow, source, now, [])  # the routing lock, config, loads, cursors
    timers = await cold_store.claim_due(uow.conn, now, limit)
    ids = [t.lead_id for t in timers]
    rows = await lead_store.load_leads(uow.conn, ids)
    cold = await cold_store.cold_leads(uow.conn, ids)
    fields = tuple(sorted(rnd.routing.account_fields))
    if fields:  # a snoozed lead routed again goes to its account's owner, as a new one would
        keys = {k for r in rows.values() for k in account_of(r.profile).keys(fields)}
        rnd.owners = await account_store.load_account_owners(uow.conn, keys)
    recycling = rnd.routing.recycling
    moved: list[str] = []
    placed: list[StageFact] = []
    for t in timers:
        row = rows.get(t.lead_id)
        if row is None:
            continue
        policy: RecyclePolicy | None = None
        if t.cause == cold_store.SNOOZE_ENDED:
            if row.status != "snoozed":
                continue
        elif row.status != "assigned" or row.assignment_id != t.assignment_id:
            continue  # it moved since (reassigned, recycled, snoozed)
        elif t.cause == cold_store.GONE_COLD:
            if row.closed_at is not None or t.lead_id not in cold:
                continue  # closed or warmed up since
            policy = recycling.for_cold() if recycling is not None else None
        elif t.cause == cold_store.DISQUALIFIED:
            if row.closed_at is not None:
                continue  # won or lost since
            policy = recycling.for_disqualified() if recycling is not None else None
        else:
            policy = recycling.for_lost(t.reason) if recycling is not None else None
        if t.cause != cold_store.SNOOZE_ENDED and policy is None:
            continue  # the config no longer recycles these
        _move(rnd, row, t, policy)
        moved.append(row.lead_id)
        cause = "snooze_ended" if t.cause == cold_store.SNOOZE_ENDED else "recycled"
        placed.append(placed_again(row.lead_id, cause, now))  # a lost lead re-enters at mql
    await cold_store.forget_clocks(uow.conn, moved)
    await close_round(uow, rnd)
    await record_stages(uow, placed)
    return len(timers)


def _move(
    rnd: RoutingRound,
    row: lead_store.LeadRow,
    timer: cold_store.RecycleTimer,
    policy: RecyclePolicy | None,
) -> None:
    """Free the old owner, place the lead (by the policy, or through the rules after a
    snooze) and announce why."""
    routing = rnd.routing
    previous = row.rep_id if row.status == "assigned" else None
    if previous is not None and row.closed_at is None:
        rnd.loads = release(rnd.loads, previous, routing.lead_weight(row.bucket))
        rnd.save_load_of(previous)
    facts = lead_facts(row.profile, score=row.score, bucket=row.bucket)
    why = _why(timer, row, policy)
    decision: RoutingDecision
    if policy is None:
        decision = route_lead(facts, row.bucket, routing, rnd.loads, rnd.cursors, rnd.now,
                              owners=rnd.owners)  # fmt: skip
    else:
        decision = recycle(policy, routing, rnd.loads, rnd.cursors, rnd.now, facts, row.bucket,
                           previous, why, row.queue)  # fmt: skip
    lead = LeadToRoute(row.lead_id, row.score, row.bucket, row.profile, row.captured_at)
    record_decision(rnd, lead, account_of(row.profile), decision)
    if isinstance(decision, Assigned) and previous is not None:  # say whose lead it was
        event, causation = rnd.events[-1]
        update = {"previous_rep": rep_ref(routing, previous)}
        rnd.events[-1] = (event.model_copy(update=update), causation)
    if isinstance(decision, ToNurture) and policy is not None:  # nurture picks by the cause
        event, causation = rnd.events[-1]
        rnd.events[-1] = (event.model_copy(update={"recycled": timer.cause}), causation)
    to, queue, rep = _place(decision)
    rnd.events.append(
        (
            LeadRecycled(
                lead_id=row.lead_id, cause=RecycleCause(timer.cause), to=to, queue=queue,
                rep=rep_ref(routing, rep) if rep else None,
                previous_rep=rep_ref(routing, previous) if previous else None,
                reason=timer.reason, recycled_at=rnd.now,
                explanation=why if policy is None else _explanation(decision),
            ),
            None,
        )
    )  # fmt: skip


def _why(
    timer: cold_store.RecycleTimer, row: lead_store.LeadRow, policy: RecyclePolicy | None
) -> str:
    owner = f" with {row.rep_id}" if row.rep_id else ""
    cool = f"; cool-off of {duration_text(policy.after)} over" if policy and policy.after else ""
    if timer.cause == cold_store.GONE_COLD:
        return f"gone cold ({timer.reason}){owner}{cool}"
    if timer.cause == cold_store.LOST:
        return f"lost ({timer.reason or 'no reason given'}){owner}{cool}"
    if timer.cause == cold_store.DISQUALIFIED:
        return f"disqualified: {timer.reason}{owner}{cool}"
    return f"snoozed until {timer.due_at:%Y-%m-%dT%H:%M:%SZ} ({timer.reason}); routed again"


def _place(decision: RoutingDecision) -> tuple[str, str | None, str | None]:
    if isinstance(decision, Assigned):
        return "assigned", decision.queue, decision.rep_id
    if isinstance(decision, ToNurture):
        return "nurture", None, None
    return "waiting", decision.queue, None


def _explanation(decision: RoutingDecision) -> str:
    return decision.reason if isinstance(decision, ToNurture) else decision.trace


async def snooze(
    uow: UnitOfWork,
    source: RoutingSource,
    lead_id: str,
    until: datetime,
    reason: str,
    now: datetime,
    actor: str,
) -> tuple[lead_store.LeadRow, str | None]:
    """Park the lead until ``until``: an open assignment frees its rep (and its SLA clock
    stops); at ``until`` the recycle job routes it again through the rules. Audited. Return
    the lead as it was and the rep it left (None: it had none open)."""
    rnd = await open_round(uow, source, now, [lead_id])
    row = rnd.known.get(lead_id)
    if row is None:
        raise UnknownLead(lead_id)
    previous = row.rep_id if row.status == "assigned" and row.closed_at is None else None
    if previous is not None:
        rnd.loads = release(rnd.loads, previous, rnd.routing.lead_weight(row.bucket))
        rnd.save_load_of(previous)
    await cold_store.park(uow.conn, lead_id, until, now)
    await cold_store.arm(
        uow.conn,
        [cold_store.RecycleTimer(lead_id, cold_store.SNOOZE_ENDED, None, until, reason, now)],
    )
    rnd.events.append(
        (
            LeadRecycled(
                lead_id=lead_id, cause=RecycleCause.SNOOZED, to="snoozed", until=until,
                previous_rep=rep_ref(rnd.routing, previous) if previous else None,
                reason=reason, recycled_at=now,
                explanation=f"snoozed by {actor} until {until:%Y-%m-%dT%H:%M:%SZ}: {reason}"
                + (f"; {previous} has one open lead fewer" if previous else ""),
            ),
            None,
        )
    )  # fmt: skip
    detail = {"until": until.isoformat(), "reason": reason, "was": row.status,
              "previous_rep": previous}  # fmt: skip
    await audit.append(uow.conn, actor, "lead.snoozed", lead_id, detail)
    await close_round(uow, rnd)
    return row, previous


def _contact(row: lead_store.LeadRow) -> ContactSnapshot:
    return ContactSnapshot.of(LeadProfile.model_validate(row.profile))
