"""What happens after a rep misses the first-contact SLA, pure: the next rep of the queue
(never one who already had the lead), or, after the last attempt, the escalation target: a
pool queue, a named rep, or the rep the owner's team manager takes leads as (``then:
{manager: true}``; the owner is the rep who missed the last deadline, else the latest
earlier owner with such a manager)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.router.domain.model import Escalation, Rep, RepLoad, Routing, SlaPolicy
from services.router.domain.routing import Offer, QueueAttempt, offer_lead
from services.router.domain.sla import SlaClock, sla_deadline
from services.router.domain.strategies import check_rep, incoming_weight

ESCALATION_STRATEGY = "escalation"


@dataclass(frozen=True)
class Handover:
    """The lead goes to another rep: ``queue`` is where the rep was found, ``clock`` the
    new attempt's clock, ``next_cursor`` that queue's new cursor (None for a named rep)."""

    rep_id: str
    queue: str
    strategy: str
    next_cursor: int | None
    attempts: tuple[QueueAttempt, ...]
    trace: str
    clock: SlaClock

    @property
    def escalated(self) -> bool:
        return self.clock.escalated

    @property
    def action(self) -> str:
        return "escalated" if self.escalated else "reassigned"


@dataclass(frozen=True)
class Stay:
    """Nobody else takes the lead: it stays with its rep. With ``retry`` the handover is
    tried again later (someone may come online); without, the lead stays for good."""

    reason: str
    retry: bool
    attempts: tuple[QueueAttempt, ...] = ()

    @property
    def action(self) -> str:
        return "retrying" if self.retry else "kept"


BreachOutcome = Handover | Stay


def after_breach(
    clock: SlaClock,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    facts: Mapping[str, Any],
    assignment_id: str,
) -> BreachOutcome:
    """Before the last attempt the queue's strategy picks the next rep, skipping everyone who
    already had the lead (then the fallback chain, as for any lead); after the last attempt,
    or when nobody else can take it, the lead is escalated to the pool queue or the named
    rep. Escalation is final: if that rep misses the SLA too, the lead stays with them."""
    queue = routing.queues.get(clock.queue)
    policy = queue.sla if queue is not None else None
    if policy is None:
        return Stay(f"queue {clock.queue} has no SLA any more; stays with {clock.rep_id}", False)
    if clock.escalated:
        return Stay(f"{clock.rep_id} got the lead by escalation; it stays with them", False)
    exclude = frozenset(clock.owners)
    head = (
        f"SLA breached by {clock.rep_id} in {clock.queue} "
        f"(attempt {clock.attempt} of {policy.max_attempts}, due {clock.due_at:%Y-%m-%dT%H:%M:%SZ})"
    )
    if clock.attempt < policy.max_attempts:
        offer = offer_lead(clock.queue, routing, loads, cursors, now, facts, exclude)
        if offer.found is not None:
            return _handover(clock, policy, routing, offer, now, assignment_id, head, False)
        nobody = f"nobody else can take it now (tried {offer.tried})"
        if policy.then is None:
            retry = not offer.only_excluded(exclude)
            return Stay(f"{head}; {nobody}; stays with {clock.rep_id}", retry, offer.attempts)
        why = f"{nobody}; escalated early to {policy.then.target}"
    else:
        if policy.then is None:
            reason = f"{head}; no escalation set; stays with {clock.rep_id}"
            return Stay(reason, False)
        why = f"all {policy.max_attempts} attempts missed; escalated to {policy.then.target}"
    return _escalate(clock, policy, policy.then, routing, loads, cursors, now, facts,
                     assignment_id, f"{head}; {why}")  # fmt: skip


def apply_handover(
    handover: Handover,
    previous_rep: str,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    weight: int = 1,
) -> tuple[dict[str, RepLoad], dict[str, int]]:
    """The rep who missed the SLA has one open lead (of ``weight``) fewer, their counts and
    multiplier unchanged; the new rep one more (and one more assigned this day, week and
    month); the queue the new rep came from moves its rotation on."""
    old = loads.get(previous_rep) or RepLoad(previous_rep)
    new = loads.get(handover.rep_id) or RepLoad(handover.rep_id)
    open_weight = None if old.open_weight is None else max(old.open_weight - weight, 0)
    updated = {
        **loads,
        previous_rep: replace(old, open_leads=max(old.open_leads - 1, 0), open_weight=open_weight),
    }
    updated[handover.rep_id] = new.plus_one(weight)
    if handover.next_cursor is None:
        return updated, dict(cursors)
    return updated, {**cursors, handover.queue: handover.next_cursor}


def _escalate(
    clock: SlaClock,
    policy: SlaPolicy,
    then: Escalation,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    facts: Mapping[str, Any],
    assignment_id: str,
    head: str,
) -> BreachOutcome:
    exclude = frozenset(clock.owners)
    if then.queue is not None:
        offer = offer_lead(then.queue, routing, loads, cursors, now, facts, exclude)
        if offer.found is not None:
            return _handover(clock, policy, routing, offer, now, assignment_id, head, True)
        reason = f"{head}; nobody can take it now (tried {offer.tried}); stays with {clock.rep_id}"
        return Stay(reason, not offer.only_excluded(exclude), offer.attempts)
    named, who = _named_rep(then, routing, clock.owners)
    if named is None:
        return Stay(f"{head}; {who}; stays with {clock.rep_id}", False)
    rep = routing.reps.get(named)
    if rep is None:
        return Stay(f"{head}; rep {named} is not configured; stays with {clock.rep_id}", False)
    if rep.id in exclude:
        return Stay(f"{head}; {rep.id} already had the lead; stays with {clock.rep_id}", False)
    # A named rep is checked like any rep (availability, caps), but not for the queue's
    # skills or language: the queue's own members are the ones who missed it.
    plain = replace(routing.queues[clock.queue], required_skills=frozenset(), match_language=False)
    load = loads.get(rep.id) or RepLoad(rep.id)
    ok, why = check_rep(rep, plain, load, now, facts, incoming=incoming_weight(routing, facts))
    if not ok:
        return Stay(f"{head}; {rep.id} cannot take it now: {why}; stays with {clock.rep_id}", True)
    return _hand_to(clock, policy, rep, now, assignment_id, queue=clock.queue,
                    strategy=ESCALATION_STRATEGY, next_cursor=None, attempts=(),
                    trace=f"{head}; {who or rep.id} takes it ({why})", escalated=True)  # fmt: skip


def _named_rep(
    then: Escalation, routing: Routing, owners: tuple[str, ...]
) -> tuple[str | None, str]:
    """The rep an escalation names and how the trace introduces them: ``then.rep``, or the
    rep of the owner's team manager. The owner is the rep who missed the last deadline; when
    they have no such manager (a rep of a fallback queue who got the lead on a reassignment),
    the latest earlier owner who has one: the first owner is a member of the queue, which the
    config checked. None, with the reason, when nobody has (the config changed since)."""
    if not then.manager:
        return then.rep, ""
    for owner in reversed(owners):
        team = routing.team_of(owner)
        if team is not None and team.manager.rep is not None:
            m = team.manager
            whose = "" if owner == owners[-1] else f"{owner}'s manager, "
            return m.rep, f"{m.name} ({whose}manager of team {team.name}, as rep {m.rep})"
    who = ", ".join(owners)
    return None, f"no owner of the lead ({who}) has a team manager who takes leads"


def _handover(
    clock: SlaClock,
    policy: SlaPolicy,
    routing: Routing,
    offer: Offer,
    now: datetime,
    assignment_id: str,
    head: str,
    escalated: bool,
) -> Handover:
    found = offer.found
    assert found is not None and found.choice.rep_id is not None
    rep = routing.reps[found.choice.rep_id]
    return _hand_to(clock, policy, rep, now, assignment_id, queue=found.queue,
                    strategy=found.choice.strategy, next_cursor=found.choice.next_cursor,
                    attempts=offer.attempts, trace="; ".join((head, *offer.steps)),
                    escalated=escalated)  # fmt: skip


def _hand_to(
    clock: SlaClock,
    policy: SlaPolicy,
    rep: Rep,
    now: datetime,
    assignment_id: str,
    *,
    queue: str,
    strategy: str,
    next_cursor: int | None,
    attempts: tuple[QueueAttempt, ...],
    trace: str,
    escalated: bool,
) -> Handover:
    """``rep`` takes the lead as its next attempt, with a fresh clock and deadline."""
    deadline = sla_deadline(policy, rep, clock.bucket, now)
    next_clock = replace(
        clock,
        rep_id=rep.id,
        assignment_id=assignment_id,
        attempt=clock.attempt + 1,
        owners=(*clock.owners, rep.id),
        escalated=escalated,
        started_at=now,
        due_at=deadline.due_at,
        warn_at=deadline.warn_at,
        status="running",
        contacted_at=None,
    )
    return Handover(rep.id, queue, strategy, next_cursor, attempts, trace, next_clock)
