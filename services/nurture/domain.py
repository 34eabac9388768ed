"""Nurture rules: which sequence a bucket gets, when each touch is due, what stops it.

A sequence follows DESIGN.md: N = C / A + 1 touches (C = sales cycle in weeks, A = weeks
between touches, C / A floored), spaced A weeks apart unless ``touch_interval`` overrides
the spacing (demos use seconds). Modes and templates are cycled over the touches. A lead
leaves its sequence when one of the configured activity kinds is recorded for it.

Pure functions over frozen dataclasses: no I/O, no clock; the caller passes the times in.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

MODES = ("call", "email", "sms", "task")
MAX_TOUCHES = 100

# Why an activity ends a sequence; the reason reads "<category>: <kind>".
STOP_CATEGORIES: dict[str, str] = {
    "replied": "responded",
    "meeting_booked": "responded",
    "form_submitted": "engaged",
    "email_opened": "engaged",
    "email_clicked": "engaged",
    "page_visited": "engaged",
    "contacted": "in_sales",
    "called": "in_sales",
    "emailed": "in_sales",
    "sms_sent": "in_sales",
    "won": "converted",
    "lost": "closed",
    "unsubscribed": "opted_out",
    "bounced": "unreachable",
}

DEFAULT_STOP_ON: tuple[str, ...] = (
    "replied",
    "meeting_booked",
    "unsubscribed",
    "won",
    "lost",
    "contacted",
    "bounced",
)


@dataclass(frozen=True)
class Sequence:
    """A nurture cadence for one or more buckets."""

    name: str
    buckets: frozenset[str]
    sales_cycle_weeks: float
    weeks_between_touches: float
    touch_interval: timedelta | None = None
    first_touch_after: timedelta = timedelta(0)
    modes: tuple[str, ...] = ("email",)
    templates: tuple[str, ...] = ()
    recycled: frozenset[str] = frozenset()  # recycle causes it takes (gone_cold, lost, ...)


@dataclass(frozen=True)
class NurtureRules:
    """The nurture section of the config, as the domain uses it."""

    sequences: tuple[Sequence, ...] = ()
    stop_on: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_STOP_ON))


@dataclass(frozen=True)
class PlannedStep:
    """One touch of an enrollment: its number, how to make it, and when it is due."""

    step: int
    total: int
    mode: str
    template: str | None
    due_at: datetime


def touch_count(sales_cycle_weeks: float, weeks_between_touches: float) -> int:
    """A cadence has N = floor(C / A) + 1 touches (C = sales cycle, A = weeks between)."""
    for value in (sales_cycle_weeks, weeks_between_touches):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(
                "sales_cycle_weeks and weeks_between_touches must be finite and greater than zero"
            )
    # Decimal of the shortest repr, so 0.3 / 0.1 is 3 and not 2.999...
    ratio = Decimal(repr(float(sales_cycle_weeks))) / Decimal(repr(float(weeks_between_touches)))
    return int(ratio) + 1


def step_interval(sequence: Sequence) -> timedelta:
    """Touches are A weeks apart unless the sequence sets an explicit touch_interval."""
    if sequence.touch_interval is not None:
        return sequence.touch_interval
    return timedelta(weeks=sequence.weeks_between_touches)


def total_steps(sequence: Sequence) -> int:
    """The number of touches in a sequence, from its sales cycle and touch spacing in weeks."""
    return touch_count(sequence.sales_cycle_weeks, sequence.weeks_between_touches)


def sequence_for_bucket(bucket: str, sequences: Iterable[Sequence]) -> Sequence | None:
    """A lead in a bucket joins the sequence that lists the bucket (case-insensitive), if any."""
    wanted = bucket.strip().casefold()
    for sequence in sequences:
        if wanted in {b.casefold() for b in sequence.buckets}:
            return sequence
    return None


def sequence_for(
    bucket: str, recycled: str | None, sequences: Iterable[Sequence]
) -> Sequence | None:
    """A lead the router recycled to nurture (gone cold, lost, disqualified) joins the
    sequence that lists its recycle cause; any other lead, or a recycled one no sequence
    takes by cause, the sequence of its bucket. A lead lost while hot has no hot sequence
    to join, but a re-engagement sequence can take every lost lead."""
    known = tuple(sequences)
    if recycled is not None:
        for sequence in known:
            if recycled in sequence.recycled:
                return sequence
    return sequence_for_bucket(bucket, known)


def plan_steps(sequence: Sequence, enrolled_at: datetime) -> tuple[PlannedStep, ...]:
    """Touch 1 is due first_touch_after enrollment, then one per interval; modes/templates cycle."""
    if enrolled_at.tzinfo is None or enrolled_at.utcoffset() is None:
        raise ValueError("enrolled_at must be timezone-aware (UTC)")
    total = total_steps(sequence)
    interval = step_interval(sequence)
    first_due = enrolled_at + sequence.first_touch_after
    return tuple(
        PlannedStep(
            step=index + 1,
            total=total,
            mode=sequence.modes[index % len(sequence.modes)],
            template=(
                sequence.templates[index % len(sequence.templates)] if sequence.templates else None
            ),
            due_at=first_due + interval * index,
        )
        for index in range(total)
    )


def stop_reason(activity_kind: str, stop_on: Collection[str]) -> str | None:
    """An activity listed in stop_on ends the sequence, e.g. 'opted_out: unsubscribed'."""
    kind = str(activity_kind)
    if kind not in stop_on:
        return None
    return f"{STOP_CATEGORIES.get(kind, 'stopped')}: {kind}"


ASSIGNED = "assigned"
COMPLETED = "completed"


@dataclass(frozen=True)
class EnrollDecision:
    """The sequence a routed lead joins, or why it joins none."""

    sequence: Sequence | None
    skipped: str | None = None


def decide_enrollment(
    bucket: str,
    routed_at: datetime,
    sequences: Iterable[Sequence],
    *,
    already_active: bool,
    last_stop_at: datetime | None,
    recycled: str | None = None,
) -> EnrollDecision:
    """A routed lead joins its sequence (by recycle cause, else bucket) unless it has none,
    is already in one, or was stopped (responded, assigned, ...) at or after it was routed."""
    sequence = sequence_for(bucket, recycled, sequences)
    if sequence is None:
        cause = f" nor recycle cause {recycled!r}" if recycled else ""
        return EnrollDecision(None, f"no sequence takes bucket {bucket!r}{cause}")
    if already_active:
        return EnrollDecision(None, "already in an active sequence")
    if last_stop_at is not None and stop_applies(last_stop_at, routed_at):
        return EnrollDecision(None, f"stopped at {last_stop_at.isoformat()}, after it was routed")
    return EnrollDecision(sequence)


def stop_applies(signal_at: datetime, routed_at: datetime) -> bool:
    """A stop signal counts against a routing to nurture made at or before it, not a later one."""
    return signal_at >= routed_at


def manual_stop_reason(reason: str) -> str:
    """An operator's stop reads 'manual: <their reason>'."""
    return f"manual: {reason.strip()}"
