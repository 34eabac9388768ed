"""Nurture sequences under the same contact rules as rep follow-ups.

:func:`services.nurture.domain.plan_steps` spaces a sequence's touches on the calendar;
:func:`place_steps` then moves each one out of the lead's quiet time and under the pressure
caps, and marks the touches of a suppressed mode skipped (an unsubscribed lead's e-mails),
so a sequence never out-shouts the rep's follow-ups or e-mails someone who opted out.

How it is meant to be wired: on ``LeadRoutedToNurture``, after ``plan_steps``, resolve the
lead's zone (:mod:`services.nurture.time_zones`, from the event's contact snapshot), load the
lead's contacts and suppressions, and save the placed steps; a skipped step is stored
cancelled with its reason, so the timer job never announces it. When a suppression arrives
later, :func:`services.nurture.suppression.suppressed_by` on each pending step tells which
ones to cancel.

Pure function: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from services.nurture.contact_rules import ContactRules, next_contact_time, next_open
from services.nurture.domain import PlannedStep
from services.nurture.suppression import Suppression, suppressed_by
from services.nurture.touch_modes import TouchMode


@dataclass(frozen=True)
class StepContact:
    """A sequence step that counts against the lead's pressure caps (sent or pending), at
    its due time; ``pending`` ones stop counting when their enrollment stops."""

    enrollment_id: str
    due_at: datetime
    pending: bool


@dataclass(frozen=True)
class PlacedStep:
    """A sequence step at its allowed time, or skipped because its mode is suppressed."""

    step: PlannedStep
    skipped: Suppression | None = None


def place_steps(
    steps: Sequence[PlannedStep],
    zone: tzinfo,
    rules: ContactRules,
    *,
    contacts: Iterable[datetime] = (),
    suppressions: Iterable[Suppression] = (),
) -> tuple[PlacedStep, ...]:
    """Each step at the first allowed moment at or after its planned time and after the
    step before it (order kept), counting the lead's other touches against the caps; a
    suppressed mode's step is skipped and takes no cap slot."""
    blocks = tuple(suppressions)
    taken = list(contacts)
    placed: list[PlacedStep] = []
    earliest: datetime | None = None
    for step in steps:
        wanted = step.due_at if earliest is None else max(step.due_at, earliest)
        skip = suppressed_by(TouchMode(step.mode), blocks)
        if skip is not None:
            due = next_open(wanted, rules.window, zone)
        else:
            due = next_contact_time(wanted, taken, rules, zone)
            taken.append(due)
        placed.append(PlacedStep(dataclasses.replace(step, due_at=due), skip))
        earliest = due
    return tuple(placed)
