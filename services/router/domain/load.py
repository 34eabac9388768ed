"""Load that reflects effort, pure: open leads weighed by bucket, and the daily, weekly and
monthly assignment counts behind a rep's caps.

**Weighted load.** With ``routing.load_weights`` (e.g. hot 3, warm 2, cold 1) a rep's open
load is the sum of their open leads' weights (``RepLoad.open_weight``, read through
``RepLoad.effort``), so two hot leads (6) weigh more than three cold ones (3). ``max_open``
is then a cap on that sum: a rep may take a lead while their load plus the lead's weight
stays within it (unweighted, every lead weighs 1 and this is the old "fewer than max_open"
rule). ``least_loaded`` picks the lightest ``effort`` (divided by the rep's fairness
multiplier). Without ``load_weights`` nothing changes: ``open_weight`` stays None.

**Periods.** ``max_per_day``, ``max_per_week`` and ``max_per_month`` count assignments since
the rep's local midnight, local Monday midnight and local first-of-the-month midnight, so a
week is 167 or 169 hours across a DST change and still runs Monday to Sunday on the rep's
clock.

**Wiring** (``handlers.routing.open_round`` and ``load_now``): each routing batch reads
the open leads per rep and bucket (the router's ``leads`` table: owner, bucket, status
``assigned``, in the statement that reads ``rep_load``) and sets
``open_weight = weighted_open(counts, routing.load_weights)``, so a weights change or a
bucket change applies at once; it reads the stored counts with the periods they count for
and calls :func:`roll_load` with :func:`period_starts` of now (the stored starts never go
back, as ``routing.load_for_today``); after a decision ``apply_assignment(...,
weight=routing.lead_weight(bucket))`` adds the lead's weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.router.domain.availability import require_aware
from services.router.domain.model import LoadWeights, RepLoad


@dataclass(frozen=True)
class PeriodStarts:
    """UTC instants where the rep's local day, week (Monday) and month began."""

    day: datetime
    week: datetime
    month: datetime


def weighted_open(open_by_bucket: Mapping[str, int], weights: LoadWeights | None) -> int:
    """The rep's open leads, each weighing its bucket's weight (1 without weights)."""
    if weights is None:
        return sum(open_by_bucket.values())
    return sum(weights.weight_of(bucket) * n for bucket, n in open_by_bucket.items())


def local_midnight(zone: ZoneInfo, day: date) -> datetime:
    """The UTC instant ``day`` begins in ``zone``; where midnight is skipped by a DST change,
    the day begins at the change."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_starts(zone: ZoneInfo, now: datetime) -> PeriodStarts:
    """Where the local day, week (weeks start on Monday) and month of ``now`` began."""
    require_aware(now)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    return PeriodStarts(
        local_midnight(zone, today), local_midnight(zone, monday), local_midnight(zone, first)
    )


def roll_load(
    load: RepLoad, counted: PeriodStarts | None, current: PeriodStarts
) -> tuple[RepLoad, PeriodStarts]:
    """A stored load's counts for the periods it was counted in (``counted``) brought to now:
    each period that has begun since starts again at zero; open leads stay. A replica whose
    clock is behind the stored periods keeps them (a period never goes back, or it would
    reset twice). A load never counted starts at zero in the current periods."""
    if counted is None:
        return replace(load, assigned_today=0, assigned_week=0, assigned_month=0), current
    day, week, month = (
        max(counted.day, current.day),
        max(counted.week, current.week),
        max(counted.month, current.month),
    )
    rolled = replace(
        load,
        assigned_today=load.assigned_today if day == counted.day else 0,
        assigned_week=load.assigned_week if week == counted.week else 0,
        assigned_month=load.assigned_month if month == counted.month else 0,
    )
    return rolled, PeriodStarts(day, week, month)


def cap_reached(limit: int | None, used: int, adding: int = 1) -> bool:
    """A cap is reached when adding ``adding`` to ``used`` would pass ``limit`` (None: no cap)."""
    return limit is not None and used + adding > limit
