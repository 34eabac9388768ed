"""Speed to lead: how long a lead waited for an owner and for a first contact.

Shares are over every lead of the cohort: a lead nobody contacted is a lead not contacted
within the hour, not a lead left out of the figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from services.insights.domain.facts import LeadFact
from services.insights.domain.filters import label, local_day
from services.insights.domain.stats import percentiles, rate

FIVE_MINUTES_S = 300.0
ONE_HOUR_S = 3600.0


def to_assigned_s(fact: LeadFact) -> float | None:
    if fact.captured_at is None or fact.assigned_at is None:
        return None
    return (fact.assigned_at - fact.captured_at).total_seconds()


def to_first_contact_s(fact: LeadFact) -> float | None:
    if fact.captured_at is None or fact.first_contact_at is None:
        return None
    return (fact.first_contact_at - fact.captured_at).total_seconds()


def speed(facts: Sequence[LeadFact]) -> dict[str, Any]:
    """Percentiles of captured -> assigned and -> first contact; shares contacted in time."""
    assigned = [s for s in map(to_assigned_s, facts) if s is not None]
    contacted = [s for s in map(to_first_contact_s, facts) if s is not None]
    return {
        "leads": len(facts),
        "assigned": len(assigned),
        "contacted": len(contacted),
        "captured_to_assigned_s": percentiles(assigned),
        "captured_to_first_contact_s": percentiles(contacted),
        "contacted_within_5m": rate(sum(1 for s in contacted if s <= FIVE_MINUTES_S), len(facts)),
        "contacted_within_1h": rate(sum(1 for s in contacted if s <= ONE_HOUR_S), len(facts)),
    }


def grouped(
    facts: Sequence[LeadFact], key: Callable[[LeadFact], str | None]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[LeadFact]] = {}
    for fact in facts:
        groups.setdefault(label(key(fact)), []).append(fact)
    return {name: speed(members) for name, members in sorted(groups.items())}


def trend(facts: Sequence[LeadFact], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Speed per calendar day of capture, in the asker's time zone, oldest first."""
    days: dict[str, list[LeadFact]] = {}
    for fact in facts:
        assert fact.captured_at is not None
        days.setdefault(local_day(fact.captured_at, tz).isoformat(), []).append(fact)
    return [{"day": day, **speed(members)} for day, members in sorted(days.items())]


def speed_report(facts: Sequence[LeadFact], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "overall": speed(facts),
        "by_rep": grouped(facts, lambda f: f.rep_id),
        "by_queue": grouped(facts, lambda f: f.queue),
        "by_source": grouped(facts, lambda f: f.source),
        "trend": trend(facts, tz),
    }


# Bins of the dashboard's speed-to-lead distribution: (label, upper bound in seconds).
CONTACT_BINS: tuple[tuple[str, float], ...] = (
    ("≤ 5 min", FIVE_MINUTES_S),
    ("5–60 min", ONE_HOUR_S),
    ("1–4 h", 4 * ONE_HOUR_S),
    ("4–24 h", 24 * ONE_HOUR_S),
    ("> 1 day", float("inf")),
)
NOT_CONTACTED = "not yet"


def first_contact_distribution(facts: Sequence[LeadFact]) -> list[tuple[str, int]]:
    """How many leads were first contacted within each bin of :data:`CONTACT_BINS` after
    capture, and how many not yet: the bins add up to every lead of the cohort."""
    counts = dict.fromkeys([name for name, _ in CONTACT_BINS] + [NOT_CONTACTED], 0)
    for fact in facts:
        waited = to_first_contact_s(fact)
        if waited is None:
            counts[NOT_CONTACTED] += 1
            continue
        counts[next(name for name, bound in CONTACT_BINS if waited <= bound)] += 1
    return list(counts.items())
