"""Scoring rules: fit (who the lead is) plus engagement (what it did), decaying with time.

A lead's score is the sum of two groups:

- **fit**: every fit rule whose condition holds for the lead profile adds its points once;
- **engagement**: every engagement rule adds, for each matching activity (most recent
  first, at most ``max_count``), its points halved every half-life since the activity.

A group cap limits the points a group can *earn*; penalties (negative points, e.g. an
unsubscribe) are applied after the cap, so they always pull the score down. The trimmed
amount appears as a ``cap:<group>`` contribution, so contributions always add up to the
total. The bucket is the first one whose ``min_score`` the total reaches; the last bucket is
the catch-all. All points are rounded to 2 decimals.

Pure: no I/O, no clock; ``now`` is passed in. Timestamps must be timezone-aware.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.conditions import ALWAYS, Condition, evaluate

Group = Literal["fit", "engagement"]
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class ActivityFact:
    """Something the lead did (or that happened to it), as engagement rules see it."""

    kind: str
    occurred_at: datetime
    channel: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bucket:
    """A named score band; ``min_score`` is None only for the last (catch-all) bucket."""

    name: str
    min_score: float | None


@dataclass(frozen=True)
class FitRule:
    name: str
    when: Condition
    points: float


@dataclass(frozen=True)
class EngagementRule:
    name: str
    activities: frozenset[str]
    points: float
    when: Condition = ALWAYS
    half_life_days: float | None = None
    decay: bool = True
    max_count: int | None = None


@dataclass(frozen=True)
class Caps:
    fit: float | None = None
    engagement: float | None = None


@dataclass(frozen=True)
class ScoringModel:
    version: str
    threshold: float
    buckets: tuple[Bucket, ...]
    fit_rules: tuple[FitRule, ...] = ()
    engagement_rules: tuple[EngagementRule, ...] = ()
    caps: Caps = Caps()
    engagement_half_life_days: float = 14.0


@dataclass(frozen=True)
class Contribution:
    """One rule that matched (or a ``cap:<group>`` trim) and the points it gave."""

    rule: str
    group: Group
    points: float


@dataclass(frozen=True)
class Score:
    total: float
    fit: float
    engagement: float
    bucket: str
    qualified: bool
    contributions: tuple[Contribution, ...]


def fit_contributions(
    profile: Mapping[str, Any], rules: Sequence[FitRule]
) -> tuple[Contribution, ...]:
    """Each fit rule whose condition holds for the lead profile adds its points once."""
    return tuple(
        Contribution(rule.name, "fit", round(rule.points, 2))
        for rule in rules
        if evaluate(rule.when, profile)
    )


def decayed_points(points: float, age_days: float, half_life_days: float) -> float:
    """Points halve every half-life; an activity dated in the future counts as brand new."""
    return points * math.pow(0.5, max(age_days, 0.0) / half_life_days)


def activity_matches(rule: EngagementRule, activity: ActivityFact) -> bool:
    """An engagement rule matches an activity of one of its kinds that meets its condition."""
    if activity.kind not in rule.activities:
        return False
    facts = {"kind": activity.kind, "channel": activity.channel, "details": activity.details}
    return evaluate(rule.when, facts)


def engagement_contributions(
    activities: Sequence[ActivityFact],
    rules: Sequence[EngagementRule],
    default_half_life_days: float,
    now: datetime,
) -> tuple[Contribution, ...]:
    """Each engagement rule adds its decayed points for up to max_count latest matches."""
    out: list[Contribution] = []
    for rule in rules:
        matched = sorted(
            (a for a in activities if activity_matches(rule, a)),
            key=lambda a: a.occurred_at,
            reverse=True,
        )
        if not matched:
            continue
        if rule.max_count is not None:
            matched = matched[: rule.max_count]
        half_life = default_half_life_days if rule.half_life_days is None else rule.half_life_days
        total = 0.0
        for activity in matched:
            if rule.decay:
                age = (now - activity.occurred_at).total_seconds() / SECONDS_PER_DAY
                total += decayed_points(rule.points, age, half_life)
            else:
                total += rule.points
        out.append(Contribution(rule.name, "engagement", round(total, 2)))
    return tuple(out)


def cap_trim(contributions: Sequence[Contribution], cap: float | None) -> float:
    """A cap limits the points a group earns; its penalties still subtract in full."""
    if cap is None:
        return 0.0
    earned = round(sum(c.points for c in contributions if c.points > 0), 2)
    return round(max(earned - cap, 0.0), 2)


def capped(
    contributions: tuple[Contribution, ...], cap: float | None, group: Group
) -> tuple[Contribution, ...]:
    """A trimmed group gets a ``cap:<group>`` contribution so contributions sum to the total."""
    trim = cap_trim(contributions, cap)
    if trim <= 0:
        return contributions
    return (*contributions, Contribution(f"cap:{group}", group, -trim))


def bucket_for(total: float, buckets: Sequence[Bucket]) -> str:
    """A score falls in the first bucket whose min_score it reaches, else the last bucket."""
    for bucket in buckets[:-1]:
        if bucket.min_score is not None and total >= bucket.min_score:
            return bucket.name
    return buckets[-1].name


def score_lead(
    profile: Mapping[str, Any],
    activities: Sequence[ActivityFact],
    model: ScoringModel,
    now: datetime,
) -> Score:
    """A lead's score is its capped fit plus its capped, decayed engagement."""
    fit = capped(fit_contributions(profile, model.fit_rules), model.caps.fit, "fit")
    engagement = capped(
        engagement_contributions(
            activities, model.engagement_rules, model.engagement_half_life_days, now
        ),
        model.caps.engagement,
        "engagement",
    )
    fit_total = round(sum(c.points for c in fit), 2)
    engagement_total = round(sum(c.points for c in engagement), 2)
    total = round(fit_total + engagement_total, 2)
    return Score(
        total=total,
        fit=fit_total,
        engagement=engagement_total,
        bucket=bucket_for(total, model.buckets),
        qualified=total >= model.threshold,
        contributions=fit + engagement,
    )


def rescore_is_news(old_bucket: str | None, was_qualified: bool | None, score: Score) -> bool:
    """A periodic re-score is announced only when the bucket or the qualification changed; a
    score that moved within its bucket is stored quietly (the topics are not flooded)."""
    return score.bucket != old_bucket or score.qualified != bool(was_qualified)


def bucket_change(old_bucket: str | None, new_bucket: str) -> tuple[str, str] | None:
    """A lead's move between buckets, as (from, to); None when it stayed put or had no bucket
    yet (its first score is not a change: ``LeadScored`` says where it starts)."""
    if old_bucket is None or old_bucket == new_bucket:
        return None
    return old_bucket, new_bucket


def qualification_change(
    was_qualified: bool | None, now_qualified: bool
) -> Literal["qualified", "disqualified"] | None:
    """A lead is announced qualified when it first reaches the threshold, disqualified on a fall."""
    if now_qualified and not was_qualified:
        return "qualified"
    if was_qualified and not now_qualified:
        return "disqualified"
    return None
