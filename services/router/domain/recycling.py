"""Recycling: where a lead that went cold, was lost or comes back from a snooze goes next,
per ``routing.recycling``: a pool queue (its strategy picks a rep other than the last
owner, down its fallback chain), a named rep, or nurture, at once or after a cool-off.

A named rep (``{to: rep, rep: zoe}``) takes the lead in the queue it was in (the default
queue when that queue is gone), under that queue's SLA, when they may take it now: checked
like any rep (availability, caps; not the queue's skills or language, as for an SLA
escalation's named rep), and never the last owner. When they may not, the lead waits in
that queue, and the waiting job offers it again through the rules, as for a pool nobody in
can take it.

The old owner's open-lead count drops when an open lead leaves them (``release``); every
move is announced with its cause and a sentence (``LeadRecycled``), next to the usual
``LeadAssigned`` / ``LeadRoutedToNurture`` that downstream services already act on.

Pure functions over frozen dataclasses: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from services.router.domain.model import NAMED_REP, Candidate, Choice, RepLoad, Routing
from services.router.domain.routing import Assigned, QueueAttempt, ToNurture, Waiting, offer_lead
from services.router.domain.sla import sla_deadline
from services.router.domain.strategies import check_rep
from shared.config import duration_text

RecycleCause = Literal["gone_cold", "lost", "disqualified", "snoozed", "snooze_ended"]
Destination = Literal["queue", "rep", "nurture", "none"]
RECYCLED_RULE: Final = "recycled"


@dataclass(frozen=True)
class RecyclePolicy:
    """Where a lead goes (``to``: a pool ``queue``, a named ``rep``, ``nurture``, or
    ``none``: it stays where it is) and after how long (``after``: the cool-off; zero: at
    once)."""

    to: Destination
    queue: str | None = None
    after: timedelta = timedelta(0)
    rep: str | None = None

    @property
    def target(self) -> str:
        where = {"queue": f"queue {self.queue}", "rep": f"rep {self.rep}"}.get(self.to, self.to)
        return f"{where} after {duration_text(self.after)}" if self.after else where


@dataclass(frozen=True)
class Recycling:
    """``routing.recycling``: a policy for leads gone cold, for lost ones (a reason's own
    policy first, reasons compare without case) and for open leads the scorer disqualified
    (their score fell back below the threshold); None where nothing is recycled."""

    gone_cold: RecyclePolicy | None = None
    lost: RecyclePolicy | None = None
    lost_reasons: tuple[tuple[str, RecyclePolicy], ...] = ()
    disqualified: RecyclePolicy | None = None

    def for_lost(self, reason: str | None) -> RecyclePolicy | None:
        wanted = (reason or "").strip().casefold()
        policy = self.lost
        for name, own in self.lost_reasons:
            if name.casefold() == wanted:
                policy = own
                break
        return policy if policy is not None and policy.to != "none" else None

    def for_cold(self) -> RecyclePolicy | None:
        return _moving(self.gone_cold)

    def for_disqualified(self) -> RecyclePolicy | None:
        return _moving(self.disqualified)


def _moving(policy: RecyclePolicy | None) -> RecyclePolicy | None:
    return policy if policy is not None and policy.to != "none" else None


RecycleDecision = Assigned | Waiting | ToNurture


def recycle(
    policy: RecyclePolicy,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    facts: Mapping[str, Any],
    bucket: str,
    previous_rep: str | None,
    why: str,
    queue_now: str | None = None,
) -> RecycleDecision:
    """The lead's next place under ``policy``: nurture, a rep of the pool queue (never the
    last owner) found like any routed lead's, with that queue's SLA, or the named rep in
    the lead's queue (``queue_now``); nobody there now: it waits in that queue (the waiting
    job offers it again through the rules)."""
    if policy.to == "nurture":
        return ToNurture(f"{why}; recycled to nurture")
    if policy.to == "rep":
        return _to_rep(policy, routing, loads, cursors, now, {**facts, "bucket": bucket},
                       bucket, previous_rep, why, queue_now)  # fmt: skip
    queue = policy.queue or routing.default_queue
    if queue not in routing.queues:  # a config change removed it: the default queue
        queue = routing.default_queue
    exclude = frozenset({previous_rep}) if previous_rep else frozenset()
    offer = offer_lead(queue, routing, loads, cursors, now, {**facts, "bucket": bucket}, exclude)
    trace = "; ".join((f"{why}; recycled to queue {queue}", *offer.steps))
    found = offer.found
    if found is None or found.choice.rep_id is None:
        return Waiting(RECYCLED_RULE, queue, tuple(c for a in offer.attempts for c in
                       a.choice.candidates), f"nobody can take the lead now (tried {offer.tried})",
                       trace, offer.attempts)  # fmt: skip
    rep = routing.reps[found.choice.rep_id]
    sla = routing.queues[found.queue].sla
    return Assigned(
        rule=RECYCLED_RULE,
        queue=found.queue,
        rep_id=rep.id,
        choice=found.choice,
        next_cursor=found.choice.next_cursor,
        deadline=sla_deadline(sla, rep, bucket, now) if sla is not None else None,
        trace=trace,
        matched_queue=queue,
        attempts=offer.attempts,
    )


def _to_rep(
    policy: RecyclePolicy,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursors: Mapping[str, int],
    now: datetime,
    facts: Mapping[str, Any],
    bucket: str,
    previous_rep: str | None,
    why: str,
    queue_now: str | None,
) -> RecycleDecision:
    """The named rep takes the lead in its queue if they may now; else it waits there."""
    home = queue_now if queue_now in routing.queues else routing.default_queue
    assert home is not None
    rep = routing.reps.get(policy.rep or "")
    head = f"{why}; recycled to rep {policy.rep} in queue {home}"
    if rep is None:  # a config change removed them since the timer was set
        ok, reason = False, "not configured"
    elif rep.id == previous_rep:
        ok, reason = False, "had the lead last"
    else:
        plain = replace(routing.queues[home], required_skills=frozenset(), match_language=False)
        load = loads.get(rep.id) or RepLoad(rep.id)
        weight = routing.lead_weight(bucket)
        ok, reason = check_rep(rep, plain, load, now, facts, incoming=weight)
    candidate = Candidate(policy.rep or "", ok, reason)
    cursor = cursors.get(home, 0)
    step = f"{policy.rep}: {reason}"
    choice = Choice(rep.id if ok and rep else None, cursor, NAMED_REP, (candidate,), step)
    attempts = (QueueAttempt(home, choice),)
    trace = f"{head}; {step}"
    if rep is None or not ok:
        reason = f"{policy.rep} cannot take the lead now ({reason})"
        return Waiting(RECYCLED_RULE, home, (candidate,), reason, trace, attempts)
    sla = routing.queues[home].sla
    return Assigned(
        rule=RECYCLED_RULE,
        queue=home,
        rep_id=rep.id,
        choice=choice,
        next_cursor=cursor,
        deadline=sla_deadline(sla, rep, bucket, now) if sla is not None else None,
        trace=trace,
        matched_queue=home,
        attempts=attempts,
    )


def release(loads: Mapping[str, RepLoad], rep_id: str, weight: int = 1) -> dict[str, RepLoad]:
    """The old owner has one open lead fewer (of ``weight``); the periods' counts stay."""
    load = loads.get(rep_id) or RepLoad(rep_id)
    open_weight = None if load.open_weight is None else max(load.open_weight - weight, 0)
    freed = replace(load, open_leads=max(load.open_leads - 1, 0), open_weight=open_weight)
    return {**loads, rep_id: freed}
