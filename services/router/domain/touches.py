"""Follow-up touches in the fairness ledger: which settled touches lower a rep's share.

Nurture settles each follow-up touch once (``lead.followup_closed``): done in time, done
late (after due + the plan's grace) or missed. A late touch is a ``touch_late`` entry for the
rep who owed it, dated when it was done; a missed one a ``touch_missed`` entry, dated when it
closed (the next touch fell due, or the plan's last window ended). A touch done in time
changes nothing: the reward side of the ledger is fast first contact and won deals.

Pure functions: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.router.domain.fairness import EventKind


@dataclass(frozen=True)
class SettledTouch:
    """A follow-up touch as nurture settled it (the fields of ``LeadFollowupClosed``)."""

    outcome: str
    mode: str
    step: int
    of: int
    due_at: datetime
    closes_at: datetime
    done_at: datetime | None = None


@dataclass(frozen=True)
class TouchEntry:
    """The ledger entry a settled touch gives its rep: kind, when, and why."""

    kind: EventKind
    at: datetime
    reason: str


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%MZ}"


def _hours(start: datetime, end: datetime) -> str:
    hours = (end - start).total_seconds() / 3600
    return f"{hours:.1f}h"


def touch_entry(touch: SettledTouch) -> TouchEntry | None:
    """Late → ``touch_late`` at its done time; missed → ``touch_missed`` at its close;
    done in time → None."""
    what = f"follow-up touch {touch.step} of {touch.of} ({touch.mode}) due {_stamp(touch.due_at)}"
    if touch.outcome == "late" and touch.done_at is not None:
        late = _hours(touch.due_at, touch.done_at)
        return TouchEntry("touch_late", touch.done_at, f"{what} done {late} after it was due")
    if touch.outcome == "missed":
        return TouchEntry(
            "touch_missed", touch.closes_at, f"{what} missed: not done by {_stamp(touch.closes_at)}"
        )
    return None
