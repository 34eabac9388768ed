"""The first-contact SLA, pure: deadlines on the rep's clock, when to warn, and what a
contact means for the clock and for the rep's figures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.router.domain.availability import add_working_time, require_aware
from services.router.domain.model import Rep, SlaPolicy

# Activity kinds that show a rep reached the lead: any of them stops the clock.
FIRST_CONTACT_KINDS = frozenset(
    {"contacted", "called", "emailed", "sms_sent", "replied", "meeting_booked", "won", "lost"}
)

ClockStatus = Literal["running", "breached", "met", "late"]


@dataclass(frozen=True)
class Deadline:
    """When the first contact is due, and when to warn (None: no warning)."""

    due_at: datetime
    warn_at: datetime | None


@dataclass(frozen=True)
class SlaClock:
    """A lead's first-contact clock. ``queue`` is the queue whose SLA applies, ``attempt``
    which rep this is (1 = first assignment), ``owners`` every rep who had the lead, in
    order, the current one last; ``escalated`` once the lead went to the escalation target."""

    lead_id: str
    queue: str
    bucket: str
    rep_id: str
    assignment_id: str
    attempt: int
    owners: tuple[str, ...]
    escalated: bool
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None
    status: ClockStatus = "running"
    contacted_at: datetime | None = None


@dataclass(frozen=True)
class Contact:
    """A lead's first contact: the rep it counts for, whether it met the SLA (None: the lead
    had no SLA clock) and how long after the assignment it came (None: not the owner's)."""

    rep_id: str
    within_sla: bool | None
    response: timedelta | None


def sla_deadline(policy: SlaPolicy, rep: Rep, bucket: str, start: datetime) -> Deadline:
    """The bucket's time (else the queue's) from ``start``; with ``business_hours`` the clock
    only runs in the rep's working time, so a lead assigned at 17:25 to a rep who stops at
    17:30 with 15 minutes is due at 09:10 the next working day. The warning comes when
    ``warn_before`` of that time is left, on the same clock."""
    require_aware(start)
    limit = policy.limit_for(bucket)
    warn_in = limit - policy.warn_before if policy.warn_before is not None else None
    if warn_in is not None and warn_in <= timedelta(0):
        warn_in = None  # no time left to warn in (the config refuses this)
    if policy.business_hours:
        due = add_working_time(rep, start, limit)
        warn = add_working_time(rep, start, warn_in) if warn_in is not None else None
    else:
        due = start + limit
        warn = start + warn_in if warn_in is not None else None
    return Deadline(due, warn)


def start_clock(
    lead_id: str,
    queue: str,
    bucket: str,
    rep_id: str,
    assignment_id: str,
    deadline: Deadline,
    now: datetime,
) -> SlaClock:
    """A lead assigned in a queue with an SLA gets a running clock: first attempt, one owner."""
    return SlaClock(
        lead_id, queue, bucket, rep_id, assignment_id, 1, (rep_id,), False, now,
        deadline.due_at, deadline.warn_at,
    )  # fmt: skip


def should_warn(clock: SlaClock, attempt: int, now: datetime) -> bool:
    """A warning counts for the attempt it was set for, while that clock still runs and the
    deadline is ahead (after downtime the breach supersedes a warning that came too late)."""
    return clock.status == "running" and clock.attempt == attempt and now < clock.due_at


def is_breach(clock: SlaClock, attempt: int) -> bool:
    """The deadline passed for this attempt and nobody contacted the lead."""
    return clock.status == "running" and clock.attempt == attempt


def is_handover_pending(clock: SlaClock, attempt: int) -> bool:
    """A breached lead that nobody could take yet is offered again until someone contacts it."""
    return clock.status == "breached" and clock.attempt == attempt


def breach(clock: SlaClock) -> SlaClock:
    return replace(clock, status="breached")


def is_first_contact(kind: str) -> bool:
    """Contacted, replied, meeting booked, won or lost: the lead has been reached."""
    return kind in FIRST_CONTACT_KINDS


def first_contact(
    clock: SlaClock | None,
    owner: str,
    assigned_at: datetime,
    occurred_at: datetime,
    by: str | None = None,
) -> tuple[Contact, SlaClock | None]:
    """The contact counts for the rep who made it when that rep had the lead, else for the
    owner. It met the SLA when the owner made it while their clock ran, by its deadline; the
    clock stops either way (``met`` or ``late``)."""
    require_aware(occurred_at)
    credited = by if by is not None and clock is not None and by in clock.owners else owner
    response = max(occurred_at - assigned_at, timedelta(0)) if credited == owner else None
    if clock is None or clock.status not in ("running", "breached"):
        return Contact(credited, None, response), clock
    within = credited == owner and clock.status == "running" and occurred_at <= clock.due_at
    stopped = replace(clock, status="met" if within else "late", contacted_at=occurred_at)
    return Contact(credited, within, response), stopped


def sla_met_rate(within: int, breached: int) -> float | None:
    """The share of a rep's SLA clocks that ended in a contact by the deadline."""
    return round(within / (within + breached), 4) if within + breached else None


def mean(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None
