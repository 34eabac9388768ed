"""Late and missed follow-up touches of a lead: as nurture settled them
(``lead.followup_closed``), or derived from the touches due and done when it settled none."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.insights.domain.facts import Observation


def settled(obs: list[Observation]) -> tuple[int, int] | None:
    """``(late, missed)`` as nurture settled the lead's follow-up touches, once per touch
    (a republished close counts once); None when it settled none."""
    outcomes: dict[tuple[str, str], str] = {}
    for o in obs:
        if o.kind == "followup_closed":
            touch = (str(o.data.get("plan_id")), str(o.data.get("step")))
            outcomes.setdefault(touch, str(o.data.get("outcome")))
    if not outcomes:
        return None
    verdicts = list(outcomes.values())
    return verdicts.count("late"), verdicts.count("missed")


def lateness(
    due: list[datetime], touches: list[datetime], *, closed: bool, late_after: timedelta
) -> tuple[int, int]:
    """``(late, missed)`` follow-up touches. Each due touch is closed by the first rep touch
    at or after it and before the next one came due: on time within ``late_after``, late
    after it; none before the next due is missed; the last one, with no touch yet, is
    missed only once the lead is closed (an outcome, or gone cold), otherwise still open."""
    late = missed = 0
    due = sorted(due)
    for index, due_at in enumerate(due):
        until = due[index + 1] if index + 1 < len(due) else None
        done = [t for t in touches if t >= due_at and (until is None or t < until)]
        if done:
            late += 1 if done[0] - due_at > late_after else 0
        elif until is not None or closed:
            missed += 1
    return late, missed
