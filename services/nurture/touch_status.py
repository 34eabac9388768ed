"""Whether each follow-up touch was done, late or missed, from the activities reported.

Rules (``touch_statuses``), for the touches that are not skipped, in step order:

- a touch is **done** by the first unused activity that completes its mode
  (:func:`services.nurture.touch_modes.modes_completed_by`), reported no earlier than the
  moment the touch became current (the assignment for step 1; later, when the previous
  touch was done or fell due, whichever came first) and before the touch closes; one
  activity completes one touch;
- a touch closes when the next one falls due (the last: ``last_touch_window`` after its
  due time, the plan's end); a touch not done by then is **missed**;
- done more than ``grace`` after its due time is **late**; done earlier (even before it was
  due) is **done**;
- not done yet: **pending** before its due time, **due** until it closes;
- **skipped**: its mode was suppressed before it fell due, or before it closed while it was
  not done (the rep is not blamed for not e-mailing a lead who unsubscribed).

How it is meant to be wired: on ``LeadActivityRecorded`` (to see whether a touch just got
done, and reschedule the next ones) and in the periodic timer job (a touch that just became
missed emits nothing new to the lead, but is counted for the rep: the figures and the
fairness ledger read late/missed from here). Activities from any rep count; filter before
calling if only the owner's should.

Pure function: no I/O, no clock; ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.nurture.followup import FollowupPlan, ScheduledTouch
from services.nurture.suppression import Suppression, suppressed_by
from services.nurture.touch_modes import modes_completed_by


class TouchStatus(StrEnum):
    PENDING = "pending"
    DUE = "due"
    DONE = "done"
    LATE = "late"
    MISSED = "missed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ReportedActivity:
    """An activity as the follow-up rules need it (from ``LeadActivityRecorded``): ``at`` is
    its ``occurred_at`` (when the rep made the call), not when capture stored it."""

    kind: str
    at: datetime
    channel: str | None = None


@dataclass(frozen=True)
class TouchOutcome:
    """One touch's status; done_at for done/late, skipped_by for skipped."""

    touch: ScheduledTouch
    status: TouchStatus
    done_at: datetime | None = None
    skipped_by: Suppression | None = None


def touch_statuses(
    plan: FollowupPlan,
    touches: Sequence[ScheduledTouch],
    activities: Iterable[ReportedActivity],
    now: datetime,
    *,
    assigned_at: datetime,
    suppressions: Iterable[Suppression] = (),
) -> tuple[TouchOutcome, ...]:
    """Each touch's status at ``now``: pending, due, done, late, missed or skipped."""
    blocks = tuple(suppressions)
    early_skip: dict[int, Suppression] = {}
    for touch in touches:
        skip = touch.skipped or suppressed_by(touch.mode, blocks, at=touch.due_at)
        if skip is not None:
            early_skip[touch.step] = skip
    live = [t for t in touches if t.step not in early_skip]
    heard = sorted(
        (a for a in activities if assigned_at <= a.at <= now), key=lambda a: (a.at, a.kind)
    )
    used: set[int] = set()
    decided: dict[int, TouchOutcome] = {}
    opens = assigned_at
    for index, touch in enumerate(live):
        closes = (
            live[index + 1].due_at
            if index + 1 < len(live)
            else touch.due_at + plan.last_touch_window
        )
        done_at = None
        for position, activity in enumerate(heard):
            if position in used or not opens <= activity.at < closes:
                continue
            if touch.mode in modes_completed_by(activity.kind, activity.channel):
                used.add(position)
                done_at = activity.at
                break
        decided[touch.step] = _outcome(plan, touch, done_at, closes, now, blocks)
        opens = min(touch.due_at, done_at) if done_at is not None else touch.due_at
    return tuple(
        TouchOutcome(t, TouchStatus.SKIPPED, skipped_by=early_skip[t.step])
        if t.step in early_skip
        else decided[t.step]
        for t in touches
    )


def _outcome(
    plan: FollowupPlan,
    touch: ScheduledTouch,
    done_at: datetime | None,
    closes: datetime,
    now: datetime,
    blocks: Sequence[Suppression],
) -> TouchOutcome:
    if done_at is not None:
        late = done_at > touch.due_at + plan.grace
        return TouchOutcome(touch, TouchStatus.LATE if late else TouchStatus.DONE, done_at)
    skip = suppressed_by(touch.mode, blocks, at=min(now, closes))
    if skip is not None and skip.at < closes:
        return TouchOutcome(touch, TouchStatus.SKIPPED, skipped_by=skip)
    if now < touch.due_at:
        return TouchOutcome(touch, TouchStatus.PENDING)
    if now < closes:
        return TouchOutcome(touch, TouchStatus.DUE)
    return TouchOutcome(touch, TouchStatus.MISSED)
