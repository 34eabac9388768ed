"""A follow-up plan's touches, re-decided: due times, status, and when each closes.

Whenever something happens to a plan (made on ``LeadAssigned``, an activity, a suppression,
the timer job finding a touch past its close), the service calls :func:`replan` with what it
knows and stores the result. The rules are :mod:`services.nurture.followup` (when each touch
is due) and :mod:`services.nurture.touch_status` (done, late, missed, ...); this module only
decides which touches are already fixed:

- a touch is **settled** (its due time no longer moves) once it has fallen due, been
  announced, or been done; everything up to the last settled touch is settled. Only the
  touches after it are scheduled again, from the previous one's done (else due) time and
  never earlier than now;
- the pressure caps count every rep touch reported for the lead (any channel), the
  settled touches not done and the lead's nurture sequence steps (``others``), besides the
  touches being placed;
- a touch **closes** when the next touch that is not skipped falls due (the last:
  ``last_touch_window`` after its due time); the timer job looks at it again then, to count
  it missed if nobody did it.

Pure function: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from services.nurture.contact_rules import ContactRules
from services.nurture.followup import (
    FollowupPlan,
    PlanTouch,
    ScheduledTouch,
    SettledTouch,
    schedule_touches,
)
from services.nurture.suppression import Suppression
from services.nurture.touch_modes import TouchMode, modes_completed_by
from services.nurture.touch_status import ReportedActivity, TouchStatus, touch_statuses

OPEN = frozenset({TouchStatus.PENDING, TouchStatus.DUE})
CANCELLED = "cancelled"


@dataclass(frozen=True)
class TouchRow:
    """One stored touch of a plan (``status`` is a TouchStatus value or 'cancelled')."""

    step: int
    total: int
    mode: str
    rep_id: str
    rep_name: str
    due_at: datetime
    closes_at: datetime
    status: str = TouchStatus.PENDING.value
    skipped_by: str | None = None
    done_at: datetime | None = None
    announced_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class Replanned:
    """The touches after a replan, and the status changes it made (step, old, new)."""

    touches: tuple[TouchRow, ...]
    changes: tuple[tuple[int, str, str], ...]


def _settled_count(rows: Sequence[TouchRow], now: datetime) -> int:
    count = 0
    for index, row in enumerate(rows):
        fixed = (
            row.due_at <= now
            or row.announced_at is not None
            or row.done_at is not None
            or row.status not in (*OPEN, TouchStatus.SKIPPED)
        )
        if fixed:
            count = index + 1
    return count


def _closes(plan: FollowupPlan, touches: Sequence[ScheduledTouch]) -> dict[int, datetime]:
    live = [t for t in touches if t.skipped is None]
    closes = {t.step: t.due_at for t in touches}
    for index, touch in enumerate(live):
        nxt = live[index + 1].due_at if index + 1 < len(live) else None
        closes[touch.step] = nxt if nxt is not None else touch.due_at + plan.last_touch_window
    return closes


def replan(
    plan: FollowupPlan,
    rows: Sequence[TouchRow],
    *,
    assigned_at: datetime,
    rep: tuple[str, str],
    zone: tzinfo,
    rules: ContactRules,
    activities: Sequence[ReportedActivity],
    suppressions: Sequence[Suppression],
    now: datetime,
    keep_due: bool = False,
    others: Sequence[datetime] = (),
) -> Replanned:
    """The plan's touches at ``now``: new rows (for ``rows=()``, a plan just made) or the
    stored rows with unsettled due times moved and every status brought up to date.
    Cancelled touches stay cancelled; ``rep`` (id, name) owes the touches made here.
    ``keep_due``: move no due time (the plan the touches were made from is gone);
    ``others``: the lead's other touches (nurture sequence steps sent or pending), which
    count against the same caps."""
    if rows and len(rows) != len(plan.touches):
        raise ValueError("the stored touches do not match the plan")
    settled_rows = rows if keep_due else rows[: _settled_count(rows, now)]
    first = [
        o.done_at
        for o in touch_statuses(
            plan,
            [_scheduled(r) for r in settled_rows],
            activities,
            now,
            assigned_at=assigned_at,
            suppressions=suppressions,
        )
    ]
    settled = [SettledTouch(r.due_at, done) for r, done in zip(settled_rows, first, strict=True)]
    scheduled = schedule_touches(
        plan,
        assigned_at,
        zone,
        rules,
        settled=settled,
        contacts=[*_contacts(settled, activities), *others],
        suppressions=suppressions,
        not_before=now if rows else None,
    )
    outcomes = touch_statuses(
        plan, scheduled, activities, now, assigned_at=assigned_at, suppressions=suppressions
    )
    closes = _closes(plan, scheduled)
    out: list[TouchRow] = []
    changes: list[tuple[int, str, str]] = []
    for index, outcome in enumerate(outcomes):
        touch = outcome.touch
        old = rows[index] if rows else None
        base = old or TouchRow(
            touch.step, touch.total, touch.mode.value, rep[0], rep[1], touch.due_at, touch.due_at
        )
        if old is not None and old.status == CANCELLED:
            out.append(old)
            continue
        status = outcome.status.value
        row = replace(
            base,
            due_at=touch.due_at,
            closes_at=closes[touch.step],
            status=status,
            skipped_by=outcome.skipped_by.reason.value if outcome.skipped_by else None,
            done_at=outcome.done_at,
        )
        if status != base.status or old is None:
            changes.append((touch.step, base.status if old else "", status))
        out.append(row)
    return Replanned(tuple(out), tuple(changes))


def _contacts(
    settled: Sequence[SettledTouch], activities: Sequence[ReportedActivity]
) -> list[datetime]:
    """What counts against the caps besides the touches still to place: every rep touch
    reported (any channel, this plan's or not) and the settled touches nobody did yet."""
    made = [a.at for a in activities if modes_completed_by(a.kind, a.channel)]
    return made + [s.due_at for s in settled if s.done_at is None]


def plan_of_rows(bucket: str, rows: Sequence[TouchRow], like: FollowupPlan | None) -> FollowupPlan:
    """The plan stored touches were made from, when the config no longer has it (the bucket's
    plan was removed or changed): their modes, with the configured grace and window if any."""
    touches = tuple(PlanTouch(TouchMode(r.mode)) for r in rows)
    if like is None:
        return FollowupPlan(bucket, touches)
    return FollowupPlan(bucket, touches, like.grace, like.last_touch_window)


def _scheduled(row: TouchRow) -> ScheduledTouch:
    return ScheduledTouch(row.step, row.total, TouchMode(row.mode), row.due_at)


def cancel_open(rows: Sequence[TouchRow]) -> tuple[TouchRow, ...]:
    """A plan that ends (won, lost) cancels the touches still open; the rest stay as they are."""
    return tuple(replace(r, status=CANCELLED) if r.open else r for r in rows)


def move_open(rows: Sequence[TouchRow], rep: tuple[str, str]) -> tuple[TouchRow, ...]:
    """A reassignment gives the touches still open to the new rep."""
    return tuple(replace(r, rep_id=rep[0], rep_name=rep[1]) if r.open else r for r in rows)
