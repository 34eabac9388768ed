"""A lead's route end to end: nurture or a queue, then a rep, following fallback queues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.router.domain.availability import require_aware
from services.router.domain.model import Candidate, Choice, RepLoad, Routing
from services.router.domain.owners import AccountOwners, offer_to_owner
from services.router.domain.rules import DEFAULT_RULE, match_rule
from services.router.domain.sla import Deadline, sla_deadline
from services.router.domain.strategies import choose_rep


@dataclass(frozen=True)
class QueueAttempt:
    """One queue the lead was offered to, and what its strategy decided."""

    queue: str
    choice: Choice


@dataclass(frozen=True)
class Offer:
    """A lead offered to a queue and down its fallback chain: every queue tried, the trace
    steps, and the attempt whose strategy found a rep (None: nobody could take it)."""

    attempts: tuple[QueueAttempt, ...]
    steps: tuple[str, ...]
    found: QueueAttempt | None

    @property
    def tried(self) -> str:
        return " -> ".join(a.queue for a in self.attempts)

    def only_excluded(self, exclude: frozenset[str]) -> bool:
        """Everyone looked at was excluded: offering the lead again later cannot help."""
        return all(c.rep_id in exclude for a in self.attempts for c in a.choice.candidates)


@dataclass(frozen=True)
class ToNurture:
    """The lead is not sales-ready: it goes to nurture, not to a rep."""

    reason: str


@dataclass(frozen=True)
class Assigned:
    """A rep took the lead. ``queue`` is where the rep was found (after any fallback),
    ``matched_queue`` where the rule sent it; ``next_cursor`` is ``queue``'s new cursor;
    ``deadline`` is the first-contact SLA of ``queue`` (None: the queue has no SLA);
    ``account`` the account whose existing owner was asked first (None: nobody was)."""

    rule: str
    queue: str
    rep_id: str
    choice: Choice
    next_cursor: int
    deadline: Deadline | None
    trace: str
    matched_queue: str
    attempts: tuple[QueueAttempt, ...]
    account: str | None = None

    @property
    def sla_due_at(self) -> datetime | None:
        return self.deadline.due_at if self.deadline is not None else None


@dataclass(frozen=True)
class Waiting:
    """Nobody in the queue nor its fallback chain can take the lead now; it waits."""

    rule: str
    queue: str
    candidates: tuple[Candidate, ...]
    reason: str
    trace: str
    attempts: tuple[QueueAttempt, ...]


RoutingDecision = ToNurture | Assigned | Waiting


def is_nurture_bucket(bucket: str, routing: Routing) -> bool:
    """Leads scored into a nurture bucket are nurtured instead of routed to a rep."""
    wanted = bucket.strip().casefold()
    return any(wanted == b.strip().casefold() for b in routing.nurture_buckets)


def offer_lead(
    start: str,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    facts: Mapping[str, Any],
    exclude: frozenset[str] = frozenset(),
) -> Offer:
    """The queue's strategy picks a rep; when nobody there can take the lead, its fallback
    queue is tried, and so on down the chain (each queue at most once)."""
    attempts: list[QueueAttempt] = []
    steps: list[str] = []
    name: str | None = start
    while name is not None and name not in {a.queue for a in attempts}:
        queue = routing.queues[name]
        choice = choose_rep(queue, routing, loads, cursors.get(name, 0), now, facts, exclude)
        attempts.append(QueueAttempt(name, choice))
        if choice.rep_id is not None:
            steps.append(choice.explanation)
            return Offer(tuple(attempts), tuple(steps), attempts[-1])
        if queue.fallback is not None:
            steps.append(f"{name}: nobody available; fell back to {queue.fallback}")
        else:
            steps.append(f"{name}: nobody available")
        name = queue.fallback
    return Offer(tuple(attempts), tuple(steps), None)


def route_lead(
    facts: Mapping[str, Any],
    bucket: str,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    exclude: frozenset[str] = frozenset(),
    *,
    owners: AccountOwners | None = None,
) -> RoutingDecision:
    """Nurture buckets go to nurture; otherwise the first matching rule picks the queue.
    When the queue matches owners, the account's existing owner (``owners``: who owns the
    account's leads) takes the lead if they may; else the queue's strategy picks the rep,
    falling back queue by queue when nobody can take it. The SLA deadline is that of the
    queue the rep was found in, on the rep's clock."""
    require_aware(now)
    if is_nurture_bucket(bucket, routing):
        return ToNurture(f"bucket '{bucket}' is a nurture bucket; not sales-ready yet")
    facts = {**facts, "bucket": bucket}
    rule, matched = match_rule(facts, routing)
    if rule == DEFAULT_RULE:
        first = f"no rule matched; default queue {matched}"
    else:
        first = f"rule '{rule}' matched: {matched}"
    owner = offer_to_owner(
        routing.queues[matched], routing, facts, owners or {}, loads, cursors, now, exclude
    )
    asked: tuple[QueueAttempt, ...] = ()
    if owner is not None and owner.choice.candidates:
        asked = (QueueAttempt(matched, owner.choice),)
    if owner is not None and owner.taken:
        offer = Offer(asked, (), asked[0])
    else:
        offer = offer_lead(matched, routing, loads, cursors, now, facts, exclude)
        offer = Offer(asked + offer.attempts, offer.steps, offer.found)
    steps = (first, *((owner.step,) if owner is not None else ()), *offer.steps)
    trace = "; ".join(steps)
    account = owner.account if owner is not None else None
    found = offer.found
    if found is not None and found.choice.rep_id is not None:
        policy = routing.queues[found.queue].sla
        rep = routing.reps[found.choice.rep_id]
        return Assigned(
            rule=rule,
            queue=found.queue,
            rep_id=rep.id,
            choice=found.choice,
            next_cursor=found.choice.next_cursor,
            deadline=sla_deadline(policy, rep, bucket, now) if policy is not None else None,
            trace=trace,
            matched_queue=matched,
            attempts=offer.attempts,
            account=account,
        )
    return Waiting(
        rule=rule,
        queue=matched,
        candidates=tuple(c for a in offer.attempts for c in a.choice.candidates),
        reason=f"nobody can take the lead now (tried {_tried(offer)})",
        trace=trace,
        attempts=offer.attempts,
    )


def _tried(offer: Offer) -> str:
    """The queues offered the lead, each once (the owner was asked within the first)."""
    return " -> ".join(dict.fromkeys(a.queue for a in offer.attempts))


def stays_decided(status: str | None, nurture_bucket: bool) -> bool:
    """A lead already decided is not routed again by a new score: an assigned lead keeps its
    owner, a snoozed one sleeps until its date, and a nurtured lead stays in nurture until
    it scores out of the nurture buckets."""
    return status in ("assigned", "snoozed") or (status == "nurture" and nurture_bucket)


def load_for_today(
    rep_id: str, stored: RepLoad | None, stored_day: datetime | None, today: datetime
) -> tuple[RepLoad, datetime]:
    """A rep's load and the local day it counts for: on a new local day the daily count starts
    again (open leads stay). A replica that read its clock before another stored a later day
    keeps the stored day and count: the stored day never goes back (it would reset twice)."""
    if stored is None or stored_day is None:
        return RepLoad(rep_id), today
    if stored_day < today:
        return replace(stored, assigned_today=0), today
    return stored, max(today, stored_day)


def apply_assignment(
    decision: Assigned,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    weight: int = 1,
) -> tuple[dict[str, RepLoad], dict[str, int]]:
    """After an assignment the rep has one more lead (of ``weight``: ``routing.lead_weight``
    of its bucket) and the used queue's cursor moves on."""
    current = loads.get(decision.rep_id) or RepLoad(decision.rep_id)
    return (
        {**loads, decision.rep_id: current.plus_one(weight)},
        {**cursors, decision.queue: decision.next_cursor},
    )
