"""A lead's route end to end: nurture or a queue, then a rep, following fallback queues."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.router.domain.availability import require_aware
from services.router.domain.model import Candidate, Choice, RepLoad, Routing
from services.router.domain.rules import DEFAULT_RULE, match_rule
from services.router.domain.strategies import choose_rep


@dataclass(frozen=True)
class QueueAttempt:
    """One queue the lead was offered to, and what its strategy decided."""

    queue: str
    choice: Choice


@dataclass(frozen=True)
class ToNurture:
    """The lead is not sales-ready: it goes to nurture, not to a rep."""

    reason: str


@dataclass(frozen=True)
class Assigned:
    """A rep took the lead. ``queue`` is where the rep was found (after any fallback),
    ``matched_queue`` where the rule sent it; ``next_cursor`` is ``queue``'s new cursor."""

    rule: str
    queue: str
    rep_id: str
    choice: Choice
    next_cursor: int
    sla_due_at: datetime | None
    trace: str
    matched_queue: str
    attempts: tuple[QueueAttempt, ...]


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


def route_lead(
    facts: Mapping[str, Any],
    bucket: str,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    exclude: frozenset[str] = frozenset(),
) -> RoutingDecision:
    """Nurture buckets go to nurture; otherwise the first matching rule picks the queue and
    the queue's strategy picks the rep, falling back queue by queue when nobody can take it."""
    require_aware(now)
    if is_nurture_bucket(bucket, routing):
        return ToNurture(f"bucket '{bucket}' is a nurture bucket; not sales-ready yet")
    facts = {**facts, "bucket": bucket}
    rule, matched = match_rule(facts, routing)
    if rule == DEFAULT_RULE:
        steps = [f"no rule matched; default queue {matched}"]
    else:
        steps = [f"rule '{rule}' matched: {matched}"]
    attempts: list[QueueAttempt] = []
    name: str | None = matched
    while name is not None and name not in {a.queue for a in attempts}:
        queue = routing.queues[name]
        choice = choose_rep(queue, routing, loads, cursors.get(name, 0), now, facts, exclude)
        attempts.append(QueueAttempt(name, choice))
        if choice.rep_id is not None:
            steps.append(choice.explanation)
            due = now + timedelta(minutes=queue.sla_minutes) if queue.sla_minutes else None
            return Assigned(
                rule=rule,
                queue=name,
                rep_id=choice.rep_id,
                choice=choice,
                next_cursor=choice.next_cursor,
                sla_due_at=due,
                trace="; ".join(steps),
                matched_queue=matched,
                attempts=tuple(attempts),
            )
        if queue.fallback is not None:
            steps.append(f"{name}: nobody available; fell back to {queue.fallback}")
        else:
            steps.append(f"{name}: nobody available")
        name = queue.fallback
    tried = " -> ".join(a.queue for a in attempts)
    return Waiting(
        rule=rule,
        queue=matched,
        candidates=tuple(c for a in attempts for c in a.choice.candidates),
        reason=f"nobody can take the lead now (tried {tried})",
        trace="; ".join(steps),
        attempts=tuple(attempts),
    )


def apply_assignment(
    decision: Assigned, loads: Mapping[str, RepLoad], cursors: Mapping[str, int]
) -> tuple[dict[str, RepLoad], dict[str, int]]:
    """After an assignment the rep has one more lead and the used queue's cursor moves on."""
    current = loads.get(decision.rep_id) or RepLoad(decision.rep_id)
    return (
        {**loads, decision.rep_id: current.plus_one()},
        {**cursors, decision.queue: decision.next_cursor},
    )
