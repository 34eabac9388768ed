"""Follow-up cadences for rep-owned leads: the plan per bucket, and when each touch is due.

Design note (how this is meant to be wired; the handlers, store and events come later):

- ``LeadAssigned`` (bucket, rep, contact snapshot): ``plan = plan_for_bucket(bucket, plans)``;
  no plan → nothing. Resolve the lead's zone (:mod:`services.nurture.time_zones`), load the
  lead's contacts and suppressions, then ``schedule_touches(plan, assigned_at, ...)`` and
  store the touches as durable timers (like nurture's ``steps`` rows). A timer that fires
  emits ``lead.followup_due`` (rep, mode, step k of N, due time); a skipped touch emits
  nothing and its row keeps the reason.
- ``LeadActivityRecorded``: a touch done (see :mod:`services.nurture.touch_status`) moves
  the next ones: call ``schedule_touches`` again with the touches so far as ``settled``
  (their due times stay as they were) and update the pending rows. The same after an
  ``unsubscribed``/``bounced`` activity (new suppressions skip the pending e-mail touches).
- A reassignment starts a new plan for the new rep; won/lost end the plan (not decided here).

Spacing: each touch waits its ``wait`` after the previous touch was done (or, while it is
not done, after it was due); the first waits after the assignment. So "call, call +1 day"
means a day after the first call, even when quiet hours pushed the first to Monday morning.
Then quiet hours and the pressure caps (:mod:`services.nurture.contact_rules`) move the touch
to the next allowed moment.

N = C / A + 1 touches for a plan given as a sales cycle C and spacing A (in weeks), with
C / A **floored**: the touches go at 0, A, 2A, ... and every one of them must fall inside
the cycle, so C = 5, A = 2 gives touches at weeks 0, 2 and 4 (3 touches), not a fourth at
week 6 after the cycle is over. C = 0 gives one touch; A must be greater than zero. This is
the rule nurture sequences already use (:func:`services.nurture.domain.touch_count`).

Pure functions over frozen dataclasses: no I/O, no clock; the caller passes the times in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from services.nurture import domain
from services.nurture.contact_rules import ContactRules, next_contact_time, next_open
from services.nurture.suppression import Suppression, suppressed_by
from services.nurture.touch_modes import TouchMode

MAX_TOUCHES = domain.MAX_TOUCHES
DEFAULT_GRACE = timedelta(hours=4)
DEFAULT_LAST_TOUCH_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PlanTouch:
    """One touch of a plan: its mode, and how long after the previous touch it comes."""

    mode: TouchMode
    wait: timedelta = timedelta(0)


@dataclass(frozen=True)
class FollowupPlan:
    """The touches a rep owes a lead of a bucket; a touch done more than ``grace`` after it
    was due is late, and the last one is missed if not done ``last_touch_window`` after."""

    bucket: str
    touches: tuple[PlanTouch, ...]
    grace: timedelta = DEFAULT_GRACE
    last_touch_window: timedelta = DEFAULT_LAST_TOUCH_WINDOW

    def __post_init__(self) -> None:
        if not 1 <= len(self.touches) <= MAX_TOUCHES:
            raise ValueError(f"a plan has 1 to {MAX_TOUCHES} touches")
        if any(t.wait < timedelta(0) for t in self.touches):
            raise ValueError("a touch cannot come before the previous one")
        if self.grace < timedelta(0) or self.last_touch_window <= timedelta(0):
            raise ValueError("grace must be >= 0 and last_touch_window > 0")


@dataclass(frozen=True)
class SettledTouch:
    """A touch of the current plan that was already planned: its due time stays; done_at is
    when a matching activity completed it (None while it is not done)."""

    due_at: datetime
    done_at: datetime | None = None


@dataclass(frozen=True)
class ScheduledTouch:
    """Step ``step`` of ``total``: its mode and due time; ``skipped`` when suppressed."""

    step: int
    total: int
    mode: TouchMode
    due_at: datetime
    skipped: Suppression | None = None


def cycle_touch_count(cycle_weeks: float, every_weeks: float) -> int:
    """N = floor(C / A) + 1 touches: every touch falls inside the sales cycle; C = 0 → 1."""
    if not math.isfinite(every_weeks) or every_weeks <= 0:
        raise ValueError("every_weeks (A) must be finite and greater than zero")
    if not math.isfinite(cycle_weeks) or cycle_weeks < 0:
        raise ValueError("cycle_weeks (C) must be finite and zero or more")
    if cycle_weeks == 0:
        return 1
    return domain.touch_count(cycle_weeks, every_weeks)


def plan_from_cycle(
    bucket: str,
    cycle_weeks: float,
    every_weeks: float,
    mode: TouchMode,
    *,
    first_after: timedelta = timedelta(0),
    grace: timedelta = DEFAULT_GRACE,
    last_touch_window: timedelta | None = None,
) -> FollowupPlan:
    """N = C / A + 1 touches of one mode, A weeks apart, the first ``first_after`` the
    assignment; the last touch stays open for A weeks unless told otherwise."""
    count = cycle_touch_count(cycle_weeks, every_weeks)
    every = timedelta(weeks=every_weeks)
    touches = (PlanTouch(mode, first_after),) + (PlanTouch(mode, every),) * (count - 1)
    window = last_touch_window if last_touch_window is not None else every
    return FollowupPlan(bucket, touches, grace=grace, last_touch_window=window)


def plan_for_bucket(bucket: str, plans: Mapping[str, FollowupPlan]) -> FollowupPlan | None:
    """A lead's bucket picks its plan, case-insensitively; a bucket without one gets none."""
    wanted = bucket.strip().casefold()
    for name, plan in plans.items():
        if name.strip().casefold() == wanted:
            return plan
    return None


def schedule_touches(
    plan: FollowupPlan,
    assigned_at: datetime,
    zone: tzinfo,
    rules: ContactRules,
    *,
    settled: Sequence[SettledTouch] = (),
    contacts: Iterable[datetime] = (),
    suppressions: Iterable[Suppression] = (),
    not_before: datetime | None = None,
) -> tuple[ScheduledTouch, ...]:
    """Every touch of the plan with its due time: settled ones as they were; each next one
    ``wait`` after the previous (done, else due), moved out of quiet time and under the
    caps; a suppressed mode's touch skipped with its reason and taking no cap slot.

    ``contacts``: every other touch to the lead, made or planned (activities of every
    channel, nurture touches), not this plan's pending touches; ``not_before``: no new due
    time earlier than this (pass now when rescheduling).
    """
    if assigned_at.tzinfo is None or assigned_at.utcoffset() is None:
        raise ValueError("assigned_at must be timezone-aware")
    if len(settled) > len(plan.touches):
        raise ValueError("more settled touches than the plan has")
    blocks = tuple(suppressions)
    taken = list(contacts)
    total = len(plan.touches)
    out: list[ScheduledTouch] = []
    anchor = assigned_at
    for index, touch in enumerate(plan.touches):
        step = index + 1
        if index < len(settled):
            done = settled[index]
            skip = suppressed_by(touch.mode, blocks, at=done.due_at)
            out.append(ScheduledTouch(step, total, touch.mode, done.due_at, skip))
            anchor = done.done_at or done.due_at
            continue
        nominal = anchor + touch.wait
        if not_before is not None and nominal < not_before:
            nominal = not_before
        skip = suppressed_by(touch.mode, blocks)
        if skip is not None:
            due = next_open(nominal, rules.window, zone)
        else:
            due = next_contact_time(nominal, taken, rules, zone)
            taken.append(due)
        out.append(ScheduledTouch(step, total, touch.mode, due, skip))
        anchor = due
    return tuple(out)


# Outcomes that end a rep's follow-up plan; an opt-out only suppresses its channel, and a
# reply keeps the plan going (the rep still owes the touches until the deal is decided).
_PLAN_ENDS: dict[str, str] = {"won": "converted", "lost": "closed"}


def plan_end_reason(activity_kind: str) -> str | None:
    """A won or lost lead's plan ends ('converted: won', 'closed: lost'); nothing else ends it."""
    kind = str(activity_kind)
    return f"{_PLAN_ENDS[kind]}: {kind}" if kind in _PLAN_ENDS else None
