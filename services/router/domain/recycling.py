"""Recycling: where a lead that went cold, was lost or comes back from a snooze goes next,
per ``routing.recycling``: a pool queue (its strategy picks a rep other than the last
owner, down its fallback chain), or nurture, at once or after a cool-off.

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

from services.router.domain.model import RepLoad, Routing
from services.router.domain.routing import Assigned, ToNurture, Waiting, offer_lead
from services.router.domain.sla import sla_deadline
from shared.config import duration_text

RecycleCause = Literal["gone_cold", "lost", "disqualified", "snoozed", "snooze_ended"]
Destination = Literal["queue", "nurture", "none"]
RECYCLED_RULE: Final = "recycled"


@dataclass(frozen=True)
class RecyclePolicy:
    """Where a lead goes (``to``: a pool ``queue``, ``nurture``, or ``none``: it stays
    where it is) and after how long (``after``: the cool-off; zero: at once)."""

    to: Destination
    queue: str | None = None
    after: timedelta = timedelta(0)

    @property
    def target(self) -> str:
        where = f"queue {self.queue}" if self.to == "queue" else self.to
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
) -> RecycleDecision:
    """The lead's next place under ``policy``: nurture, or a rep of the pool queue (never
    the last owner) found like any routed lead's, with that queue's SLA; nobody there now:
    it waits in the pool (the waiting job offers it again through the rules)."""
    if policy.to == "nurture":
        return ToNurture(f"{why}; recycled to nurture")
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


def release(loads: Mapping[str, RepLoad], rep_id: str, weight: int = 1) -> dict[str, RepLoad]:
    """The old owner has one open lead fewer (of ``weight``); the periods' counts stay."""
    load = loads.get(rep_id) or RepLoad(rep_id)
    open_weight = None if load.open_weight is None else max(load.open_weight - weight, 0)
    freed = replace(load, open_leads=max(load.open_leads - 1, 0), open_weight=open_weight)
    return {**loads, rep_id: freed}
