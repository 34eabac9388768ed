"""Scoring rules: fit conditions, engagement decay, caps, buckets and qualification."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.scorer.domain import (
    ActivityFact,
    Bucket,
    Caps,
    Contribution,
    EngagementRule,
    FitRule,
    Score,
    ScoringModel,
    bucket_change,
    bucket_for,
    decayed_points,
    qualification_change,
    rescore_is_news,
    score_lead,
)
from shared.conditions import parse_condition

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NO_CAPS = Caps()
BUCKETS = (
    Bucket("hot", 80),
    Bucket("warm", 60),
    Bucket("cold", 30),
    Bucket("nurture", None),
)


def model(
    fit: tuple[FitRule, ...] = (),
    engagement: tuple[EngagementRule, ...] = (),
    caps: Caps = NO_CAPS,
    threshold: float = 60,
) -> ScoringModel:
    return ScoringModel(
        version="test",
        threshold=threshold,
        buckets=BUCKETS,
        fit_rules=fit,
        engagement_rules=engagement,
        caps=caps,
        engagement_half_life_days=14,
    )


def fit_rule(name: str, when: Mapping[str, Any] | None, points: float) -> FitRule:
    return FitRule(name, parse_condition(when), points)


def engagement_rule(
    name: str,
    kinds: str | tuple[str, ...],
    points: float,
    when: Mapping[str, Any] | None = None,
    **options: Any,
) -> EngagementRule:
    activities = frozenset([kinds] if isinstance(kinds, str) else kinds)
    return EngagementRule(name, activities, points, parse_condition(when), **options)


def days_ago(days: float, kind: str = "replied", **fields: Any) -> ActivityFact:
    return ActivityFact(kind=kind, occurred_at=NOW - timedelta(days=days), **fields)


LEAD: dict[str, Any] = {
    "email": "ana.weber@schuhhaus.de",
    "phone": None,
    "company": "Schuhhaus Weber GmbH",
    "title": "Head of E-Commerce",
    "country": "DE",
    "interest": "shoes",
    "industry": "retail",
    "company_size": 250,
    "language": "de",
    "source": "referral",
    "channel": "email",
    "campaign": "spring-launch",
    "utm": {"source": "newsletter", "medium": "email"},
    "attributes": {"budget": 25000, "tags": ["b2b", "wholesale"]},
}


@pytest.mark.parametrize(
    ("when", "matches"),
    [
        ({"field": "country", "eq": "de"}, True),
        ({"field": "country", "eq": "GB"}, False),
        ({"field": "country", "ne": "GB"}, True),
        ({"field": "phone", "ne": "+441234"}, True),  # a missing field is "not equal"
        ({"field": "phone", "eq": "+441234"}, False),  # ...and fails every other test
        ({"field": "country", "in": ["DE", "AT", "CH"]}, True),
        ({"field": "country", "in": ["US"]}, False),
        ({"field": "country", "not_in": ["US", "GB"]}, True),
        ({"field": "country", "not_in": ["DE"]}, False),
        ({"field": "company_size", "gt": 249}, True),
        ({"field": "company_size", "gt": 250}, False),
        ({"field": "company_size", "gte": 250}, True),
        ({"field": "company_size", "gte": 251}, False),
        ({"field": "company_size", "lt": 251}, True),
        ({"field": "company_size", "lt": 250}, False),
        ({"field": "company_size", "lte": 250}, True),
        ({"field": "company_size", "lte": 249}, False),
        ({"field": "title", "contains": "commerce"}, True),
        ({"field": "title", "contains": "sales"}, False),
        ({"field": "attributes.tags", "contains": "wholesale"}, True),
        ({"field": "title", "matches": r"\b(head of|director|vp)\b"}, True),
        ({"field": "title", "matches": r"\bintern\b"}, False),
        ({"field": "email", "exists": True}, True),
        ({"field": "phone", "exists": True}, False),
        ({"field": "phone", "exists": False}, True),
        ({"field": "utm.medium", "eq": "email"}, True),
        ({"field": "utm.campaign", "exists": True}, False),
        ({"field": "attributes.budget", "gte": 10000}, True),
        ({"all": [{"field": "country", "eq": "DE"}, {"field": "interest", "eq": "shoes"}]}, True),
        (
            {"all": [{"field": "country", "eq": "DE"}, {"field": "interest", "eq": "apparel"}]},
            False,
        ),
        ({"any": [{"field": "country", "eq": "US"}, {"field": "source", "eq": "referral"}]}, True),
        ({"any": [{"field": "country", "eq": "US"}, {"field": "source", "eq": "csv"}]}, False),
        ({"not": {"field": "industry", "eq": "retail"}}, False),
        ({"not": {"field": "industry", "eq": "software"}}, True),
        (None, True),  # a rule without a condition applies to every lead
    ],
)
def test_fit_rule_adds_its_points_when_its_condition_holds(
    when: dict[str, Any] | None, matches: bool
) -> None:
    score = score_lead(LEAD, [], model(fit=(fit_rule("rule", when, 10),)), NOW)

    assert score.fit == (10 if matches else 0)
    assert score.contributions == ((Contribution("rule", "fit", 10),) if matches else ())


def test_fit_is_the_sum_of_matching_rules_each_counted_once() -> None:
    rules = (
        fit_rule("core-region", {"field": "country", "in": ["DE", "GB"]}, 15),
        fit_rule("mid-market", {"field": "company_size", "gte": 100}, 12.5),
        fit_rule("us-only", {"field": "country", "eq": "US"}, 99),
        fit_rule("freemail", {"field": "email", "matches": "@gmail\\."}, -10),
    )

    score = score_lead(LEAD, [], model(fit=rules), NOW)

    assert score.fit == 27.5
    assert [c.rule for c in score.contributions] == ["core-region", "mid-market"]


@pytest.mark.parametrize(
    ("age_days", "half_life_days", "expected"),
    [
        (0, 14, 10.0),
        (14, 14, 5.0),  # one half-life: half the points
        (28, 14, 2.5),
        (7, 14, 7.07),
        (30, 30, 5.0),
        (-3, 14, 10.0),  # dated in the future: counts as brand new
    ],
)
def test_engagement_points_halve_every_half_life(
    age_days: float, half_life_days: float, expected: float
) -> None:
    assert round(decayed_points(10, age_days, half_life_days), 2) == expected


@pytest.mark.parametrize(
    ("rule", "age_days", "expected"),
    [
        (engagement_rule("replied", "replied", 20), 14, 10.0),  # model half-life 14 days
        (engagement_rule("replied", "replied", 20, half_life_days=7), 14, 5.0),
        (engagement_rule("replied", "replied", 20, decay=False), 140, 20.0),
        (engagement_rule("replied", "replied", 20), -1, 20.0),
    ],
)
def test_engagement_rule_decays_with_the_activitys_age(
    rule: EngagementRule, age_days: float, expected: float
) -> None:
    score = score_lead(LEAD, [days_ago(age_days)], model(engagement=(rule,)), NOW)

    assert score.engagement == expected
    assert score.contributions == (Contribution("replied", "engagement", expected),)


@pytest.mark.parametrize(
    ("rule", "activity", "matches"),
    [
        (engagement_rule("r", "replied", 10), days_ago(0, "replied"), True),
        (engagement_rule("r", "replied", 10), days_ago(0, "email_opened"), False),
        (
            engagement_rule("r", ("replied", "meeting_booked"), 10),
            days_ago(0, "meeting_booked"),
            True,
        ),
        (
            engagement_rule("r", "replied", 10, {"field": "channel", "eq": "email"}),
            days_ago(0, "replied", channel="Email"),
            True,
        ),
        (
            engagement_rule("r", "replied", 10, {"field": "channel", "eq": "email"}),
            days_ago(0, "replied", channel="sms"),
            False,
        ),
        (
            engagement_rule(
                "r", "page_visited", 10, {"field": "details.path", "matches": "^/pricing"}
            ),
            days_ago(0, "page_visited", details={"path": "/pricing/enterprise"}),
            True,
        ),
        (
            engagement_rule(
                "r", "page_visited", 10, {"field": "details.path", "matches": "^/pricing"}
            ),
            days_ago(0, "page_visited", details={"path": "/blog"}),
            False,
        ),
        (
            engagement_rule("r", "page_visited", 10, {"field": "details.path", "exists": True}),
            days_ago(0, "page_visited"),
            False,
        ),
    ],
)
def test_engagement_rule_counts_activities_of_its_kinds_meeting_its_condition(
    rule: EngagementRule, activity: ActivityFact, matches: bool
) -> None:
    score = score_lead(LEAD, [activity], model(engagement=(rule,)), NOW)

    assert score.engagement == (10 if matches else 0)


@pytest.mark.parametrize(
    ("max_count", "expected"),
    [
        (None, 10.0),  # all ten clicks today count
        (5, 5.0),
        (1, 1.0),
    ],
)
def test_max_count_limits_how_many_activities_count(max_count: int | None, expected: float) -> None:
    rule = engagement_rule("clicked", "email_clicked", 1, decay=False, max_count=max_count)
    clicks = [days_ago(i, "email_clicked") for i in range(10)]

    assert score_lead(LEAD, clicks, model(engagement=(rule,)), NOW).engagement == expected


def test_max_count_keeps_the_most_recent_activities() -> None:
    rule = engagement_rule("clicked", "email_clicked", 8, max_count=2)
    old_first = [
        days_ago(28, "email_clicked"),
        days_ago(0, "email_clicked"),
        days_ago(14, "email_clicked"),
    ]

    score = score_lead(LEAD, old_first, model(engagement=(rule,)), NOW)

    assert score.engagement == 12.0  # 8 today + 4 from 14 days ago; the 28-day-old click is out


def test_engagement_rule_is_listed_once_with_its_summed_decayed_points() -> None:
    rule = engagement_rule("opened", "email_opened", 2)
    opens = [
        days_ago(0, "email_opened"),
        days_ago(14, "email_opened"),
        days_ago(28, "email_opened"),
    ]

    score = score_lead(LEAD, opens, model(engagement=(rule,)), NOW)

    assert score.contributions == (Contribution("opened", "engagement", 3.5),)


@pytest.mark.parametrize(
    ("caps", "fit", "engagement", "cap_contributions"),
    [
        (Caps(), 70.0, 45.0, ()),
        (Caps(fit=50), 50.0, 45.0, (Contribution("cap:fit", "fit", -20.0),)),
        (Caps(fit=70), 70.0, 45.0, ()),  # exactly at the cap: nothing trimmed
        (Caps(engagement=40), 70.0, 40.0, (Contribution("cap:engagement", "engagement", -5.0),)),
        (
            Caps(fit=0, engagement=10),
            0.0,
            10.0,
            (
                Contribution("cap:fit", "fit", -70.0),
                Contribution("cap:engagement", "engagement", -35.0),
            ),
        ),
    ],
)
def test_cap_limits_group_points_and_shows_the_trim(
    caps: Caps, fit: float, engagement: float, cap_contributions: tuple[Contribution, ...]
) -> None:
    rules = (fit_rule("region", None, 40), fit_rule("size", None, 30))
    engaged = (
        engagement_rule("replied", "replied", 25),
        engagement_rule("booked", "meeting_booked", 20),
    )
    acts = [days_ago(0, "replied"), days_ago(0, "meeting_booked")]

    score = score_lead(LEAD, acts, model(fit=rules, engagement=engaged, caps=caps), NOW)

    assert (score.fit, score.engagement, score.total) == (fit, engagement, fit + engagement)
    assert tuple(c for c in score.contributions if c.rule.startswith("cap:")) == cap_contributions
    assert sum(c.points for c in score.contributions) == pytest.approx(score.total)


def test_cap_does_not_absorb_penalties() -> None:
    engaged = (
        engagement_rule("replied", "replied", 50),
        engagement_rule("booked", "meeting_booked", 40),
        engagement_rule("unsubscribed", "unsubscribed", -50, decay=False),
    )
    acts = [days_ago(0, "replied"), days_ago(0, "meeting_booked"), days_ago(0, "unsubscribed")]

    score = score_lead(LEAD, acts, model(engagement=engaged, caps=Caps(engagement=60)), NOW)

    assert score.engagement == 10.0  # 90 earned, capped to 60, then -50
    assert Contribution("cap:engagement", "engagement", -30.0) in score.contributions
    assert sum(c.points for c in score.contributions) == pytest.approx(score.total)


@pytest.mark.parametrize(
    ("total", "bucket"),
    [
        (120, "hot"),
        (80, "hot"),  # exactly at min_score
        (79.99, "warm"),
        (60, "warm"),
        (59.99, "cold"),
        (30, "cold"),
        (29.99, "nurture"),
        (0, "nurture"),
        (-40, "nurture"),  # the last bucket catches everything below
    ],
)
def test_score_falls_in_the_first_bucket_whose_min_score_it_reaches(
    total: float, bucket: str
) -> None:
    assert bucket_for(total, BUCKETS) == bucket


@pytest.mark.parametrize(
    ("buckets", "total", "bucket"),
    [
        ((Bucket("a", 50), Bucket("b", 0)), -5, "b"),  # the last bucket's min_score is ignored
        ((Bucket("only", None),), 500, "only"),
    ],
)
def test_last_bucket_is_the_catch_all(
    buckets: tuple[Bucket, ...], total: float, bucket: str
) -> None:
    assert bucket_for(total, buckets) == bucket


@pytest.mark.parametrize(
    ("points", "bucket", "qualified"),
    [
        (59.99, "cold", False),
        (60, "warm", True),  # exactly at the threshold
        (80, "hot", True),
    ],
)
def test_lead_is_qualified_at_or_above_the_threshold(
    points: float, bucket: str, qualified: bool
) -> None:
    score = score_lead(LEAD, [], model(fit=(fit_rule("all", None, points),)), NOW)

    assert (score.total, score.bucket, score.qualified) == (points, bucket, qualified)


@pytest.mark.parametrize(
    ("kind", "points", "total", "bucket"),
    [
        ("unsubscribed", -50, 20.0, "nurture"),
        ("bounced", -30, 40.0, "cold"),
    ],
)
def test_negative_points_pull_an_opted_out_lead_down(
    kind: str, points: float, total: float, bucket: str
) -> None:
    rules = (
        engagement_rule("replied", "replied", 25),
        engagement_rule(kind, kind, points, decay=False),
    )
    fit = (fit_rule("good-fit", None, 45),)
    acts = [days_ago(0, "replied"), days_ago(60, kind)]

    score = score_lead(LEAD, acts, model(fit=fit, engagement=rules), NOW)

    assert (score.total, score.bucket, score.qualified) == (total, bucket, False)
    assert Contribution(kind, "engagement", points) in score.contributions


def test_points_are_rounded_to_two_decimals_and_add_up_to_the_total() -> None:
    rules = tuple(engagement_rule(f"r{i}", "email_opened", 1 / 3) for i in range(3))
    fit = (fit_rule("third", None, 10 / 3),)

    score = score_lead(LEAD, [days_ago(1, "email_opened")], model(fit=fit, engagement=rules), NOW)

    assert [c.points for c in score.contributions] == [3.33, 0.32, 0.32, 0.32]
    assert (score.fit, score.engagement, score.total) == (3.33, 0.96, 4.29)


def test_lead_without_rules_or_activity_scores_zero_in_the_last_bucket() -> None:
    score = score_lead({}, [], model(), NOW)

    assert (score.total, score.bucket, score.qualified, score.contributions) == (
        0,
        "nurture",
        False,
        (),
    )


@pytest.mark.parametrize(
    ("was_qualified", "now_qualified", "change"),
    [
        (None, False, None),  # first score, below the threshold: nothing to announce
        (None, True, "qualified"),  # first score already qualified
        (False, True, "qualified"),  # crossing up
        (True, True, None),  # still qualified: announced once per crossing
        (True, False, "disqualified"),  # falling back
        (False, False, None),
    ],
)
def test_qualification_is_announced_once_per_crossing(
    was_qualified: bool | None, now_qualified: bool, change: str | None
) -> None:
    assert qualification_change(was_qualified, now_qualified) == change


@pytest.mark.parametrize(
    ("old_bucket", "new_bucket", "change"),
    [
        (None, "warm", None),  # first score: where it starts, not a change
        ("warm", "warm", None),  # moved within its bucket
        ("warm", "hot", ("warm", "hot")),  # turned hot: the alert a warm-first lead needs
        ("hot", "warm", ("hot", "warm")),  # cooling down is a change too
        ("cold", "hot", ("cold", "hot")),
    ],
)
def test_a_bucket_change_is_announced_only_between_scores(
    old_bucket: str | None, new_bucket: str, change: tuple[str, str] | None
) -> None:
    assert bucket_change(old_bucket, new_bucket) == change


def _score(bucket: str, qualified: bool) -> Score:
    return Score(total=50, fit=30, engagement=20, bucket=bucket, qualified=qualified,
                 contributions=())  # fmt: skip


@pytest.mark.parametrize(
    ("old_bucket", "was_qualified", "score", "news"),
    [
        ("hot", True, _score("hot", True), False),  # moved within its bucket: stored quietly
        ("hot", True, _score("warm", True), True),  # another bucket: announced
        ("warm", True, _score("warm", False), True),  # fell below the threshold: announced
        ("warm", None, _score("warm", False), False),  # never qualified, still not
        (None, None, _score("cold", False), True),  # no bucket stored yet
    ],
)
def test_a_periodic_rescore_is_announced_only_when_bucket_or_qualification_changes(
    old_bucket: str | None, was_qualified: bool | None, score: Score, news: bool
) -> None:
    assert rescore_is_news(old_bucket, was_qualified, score) is news
