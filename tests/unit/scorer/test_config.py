"""The scoring section: validation messages name the key, and the example model loads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.scorer.config import (
    ScoringConfig,
    build_scoring_model,
    load_scorer_config,
    load_scoring_model,
)
from services.scorer.domain import ActivityFact, Bucket, Caps, score_lead
from shared.config import ConfigError, load_section, validate_section

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "scorer.yaml"
CONFIG = Path("leadflow.yaml")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

VALID: dict[str, Any] = {
    "model_version": "2026-11-25.1",
    "threshold": 60,
    "caps": {"fit": 60, "engagement": 60},
    "buckets": [
        {"name": "hot", "min_score": 80},
        {"name": "warm", "min_score": 60},
        {"name": "cold", "min_score": 30},
        {"name": "nurture"},
    ],
    "fit": [
        {"name": "core-region", "when": {"field": "country", "in": ["GB", "DE"]}, "points": 15},
        {"name": "enterprise", "when": {"field": "company_size", "gte": 1000}, "points": 20},
        {"name": "senior", "when": {"field": "title", "matches": "director"}, "points": 15},
    ],
    "engagement": [
        {"name": "replied", "activity": "replied", "points": 25},
        {"name": "clicked", "activity": ["email_clicked"], "points": 5, "max_count": 5},
        {"name": "unsubscribed", "activity": "unsubscribed", "points": -50, "decay": False},
    ],
}


def scoring(path: str, value: Any) -> dict[str, Any]:
    """The valid section with the value at a dotted path (``fit.2.when``) replaced."""
    data = copy.deepcopy(VALID)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = data
    for part in parents:
        target = target[part]
    target[last] = value
    return {"scoring": data}


def test_example_section_validates() -> None:
    config = load_section(EXAMPLE, "scoring", ScoringConfig)

    assert config.model_version == "2026-11-25.1"
    assert 8 <= len(config.fit) <= 12
    assert [b.name for b in config.buckets] == ["hot", "warm", "cold", "nurture"]


def test_example_model_puts_an_engaged_enterprise_buyer_in_hot() -> None:
    model = load_scoring_model(EXAMPLE)
    lead = {
        "country": "GB",
        "interest": "apparel",
        "industry": "fashion",
        "company_size": 4000,
        "title": "VP Merchandising",
        "source": "website",
    }
    acts = [
        ActivityFact("replied", NOW - timedelta(days=1), channel="email"),
        ActivityFact("meeting_booked", NOW),
        ActivityFact("page_visited", NOW, details={"path": "/pricing"}),
    ]

    score = score_lead(lead, acts, model, NOW)

    assert (score.fit, score.engagement, score.bucket, score.qualified) == (60, 60, "hot", True)


def test_example_model_keeps_an_unsubscribed_student_in_nurture() -> None:
    model = load_scoring_model(EXAMPLE)
    lead = {"country": "US", "title": "Marketing Student", "source": "website"}
    acts = [ActivityFact("form_submitted", NOW), ActivityFact("unsubscribed", NOW)]

    score = score_lead(lead, acts, model, NOW)

    assert (score.total, score.bucket, score.qualified) == (-40, "nurture", False)


def test_section_becomes_the_domain_model() -> None:
    model = build_scoring_model(
        validate_section(CONFIG, {"scoring": VALID}, "scoring", ScoringConfig)
    )

    assert model.version == "2026-11-25.1"
    assert model.buckets[0] == Bucket("hot", 80) and model.buckets[-1] == Bucket("nurture", None)
    assert model.caps == Caps(fit=60, engagement=60)
    assert model.engagement_half_life_days == 14
    assert [r.activities for r in model.engagement_rules] == [
        frozenset({"replied"}),
        frozenset({"email_clicked"}),
        frozenset({"unsubscribed"}),
    ]
    assert model.engagement_rules[1].max_count == 5
    assert model.engagement_rules[2].decay is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "scoring.model_version: Field required"),
        (
            scoring("fit.1.name", "core-region"),
            "scoring.fit[1].name: duplicate rule name 'core-region' (also fit[0])",
        ),
        (
            scoring("engagement.0.name", "senior"),
            "scoring.engagement[0].name: duplicate rule name 'senior' (also fit[2])",
        ),
        (scoring("fit.0.name", "cap:fit"), "scoring.fit[0].name: String should match pattern"),
        (
            scoring("buckets.1.min_score", 90),
            "scoring.buckets[1].min_score: buckets must be in strictly decreasing min_score "
            "order: 'warm' (90) is not below 'hot' (80)",
        ),
        (
            scoring("buckets.2.min_score", 60),
            "scoring.buckets[2].min_score: buckets must be in strictly decreasing min_score "
            "order: 'cold' (60) is not below 'warm' (60)",
        ),
        (
            scoring("buckets.3", {"name": "nurture", "min_score": 40}),
            "scoring.buckets[3].min_score: buckets must be in strictly decreasing min_score order",
        ),
        (
            scoring("buckets.1", {"name": "warm"}),
            "scoring.buckets[1].min_score: required on every bucket but the last",
        ),
        (
            scoring("buckets.2.name", "Hot"),
            "scoring.buckets[2].name: duplicate bucket name 'Hot' (also buckets[0])",
        ),
        (scoring("buckets", []), "scoring.buckets: List should have at least 1 item"),
        (
            scoring("fit.2.when", {"field": "title", "equals": "CEO"}),
            "scoring.fit[2].when: when.equals: unknown operator",
        ),
        (
            scoring("fit.2.when", {"any": [{"field": "country", "in": []}]}),
            "scoring.fit[2].when: when.any[0].in: must be a non-empty list",
        ),
        (
            scoring("fit.2.when", {"field": "title", "matches": "(ceo"}),
            "scoring.fit[2].when: when.matches: invalid regular expression",
        ),
        (
            scoring("fit.2.when", {"field": "company_size", "gte": "big"}),
            "scoring.fit[2].when: when.gte: must be a number",
        ),
        (
            scoring("fit.0.when", {"not": {"field": "countyr", "eq": "GB"}}),
            "scoring.fit[0].when: when.not.field: unknown lead field 'countyr'",
        ),
        (
            scoring("fit.0.when", {"field": "country.code", "eq": "GB"}),
            "scoring.fit[0].when: when.field: 'country' has no sub-fields",
        ),
        (
            scoring("fit.0.when", "country == GB"),
            "scoring.fit[0].when: Input should be a valid dictionary",
        ),
        (scoring("fit.0.pointz", 5), "scoring.fit[0].pointz: Extra inputs are not permitted"),
        (
            scoring("engagement.0.activity", "phoned"),
            "scoring.engagement[0].activity[0]: Input should be 'contacted', 'replied'",
        ),
        (
            scoring("engagement.0.activity", []),
            "scoring.engagement[0].activity: Tuple should have at least 1 item",
        ),
        (
            scoring("engagement.0.when", {"field": "country", "eq": "GB"}),
            "scoring.engagement[0].when: when.field: unknown activity field 'country'",
        ),
        (
            scoring("engagement.1.max_count", 0),
            "scoring.engagement[1].max_count: Input should be greater than or equal to 1",
        ),
        (
            scoring("engagement.0.half_life_days", 0),
            "scoring.engagement[0].half_life_days: Input should be greater than 0",
        ),
        (
            scoring("engagement.2.half_life_days", 30),
            "scoring.engagement[2].half_life_days: has no effect when decay is false",
        ),
        (
            scoring("engagement_half_life_days", -1),
            "scoring.engagement_half_life_days: Input should be greater than 0",
        ),
        (scoring("caps.fit", -5), "scoring.caps.fit: Input should be greater than or equal to 0"),
        (scoring("caps.total", 100), "scoring.caps.total: Extra inputs are not permitted"),
        (scoring("threshold", "high"), "scoring.threshold: Input should be a valid number"),
    ],
)
def test_invalid_section_is_refused_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_section(CONFIG, data, "scoring", ScoringConfig)

    assert f"leadflow.yaml: {message}" in str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    data = scoring("fit.1.name", "core-region")
    data["scoring"]["buckets"][1]["min_score"] = 95

    with pytest.raises(ConfigError) as raised:
        validate_section(CONFIG, data, "scoring", ScoringConfig)

    assert len(str(raised.value).splitlines()) == 2


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_scorer_config(tmp_path / "absent.yaml")
