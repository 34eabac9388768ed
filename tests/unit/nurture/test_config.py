"""The nurture config section: the example validates, and every mistake names its key."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.nurture.config import NurtureConfig, load_nurture_config
from services.nurture.domain import DEFAULT_STOP_ON, total_steps
from shared.config import ConfigError, validate_section

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "nurture.yaml"
FILE = Path("leadflow.yaml")


def _sequence(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "nurture-standard",
        "buckets": ["nurture"],
        "sales_cycle_weeks": 12,
        "weeks_between_touches": 2,
    }
    base.update(overrides)
    return base


def _validate(section: dict[str, Any]) -> NurtureConfig:
    return validate_section(FILE, {"nurture": section}, "nurture", NurtureConfig)


def test_the_example_section_validates() -> None:
    rules = load_nurture_config(EXAMPLE).to_domain()
    standard, cold = rules.sequences
    assert standard.name == "nurture-standard"
    assert standard.buckets == frozenset({"nurture"})
    assert total_steps(standard) == 7
    assert standard.touch_interval == timedelta(seconds=30)
    assert standard.modes == ("email", "email", "call")
    assert cold.name == "cold-revive"
    assert cold.buckets == frozenset({"cold"})
    assert rules.stop_on == frozenset(DEFAULT_STOP_ON)


def test_an_empty_section_has_no_sequences_and_the_default_stop_activities() -> None:
    rules = validate_section(FILE, {}, "nurture", NurtureConfig).to_domain()
    assert rules.sequences == ()
    assert rules.stop_on == frozenset(
        {"replied", "meeting_booked", "unsubscribed", "won", "lost", "contacted", "bounced"}
    )


def test_durations_and_defaults_reach_the_domain() -> None:
    config = _validate({"sequences": [_sequence(first_touch_after="1h30m")]})
    sequence = config.to_domain().sequences[0]
    assert sequence.first_touch_after == timedelta(minutes=90)
    assert sequence.touch_interval is None
    assert sequence.modes == ("email",)
    assert sequence.templates == ()


def test_rotating_several_templates_over_one_mode_is_allowed() -> None:
    config = _validate({"sequences": [_sequence(modes=["email"], templates=["a", "b", "c"])]})
    assert config.to_domain().sequences[0].templates == ("a", "b", "c")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"cadences": []}, "nurture.cadences: Extra inputs are not permitted"),
        (
            {"sequences": [_sequence(colour="red")]},
            "nurture.sequences[0].colour: Extra inputs are not permitted",
        ),
        ({"sequences": [{"name": "x"}]}, "nurture.sequences[0].buckets: Field required"),
        ({"sequences": [_sequence(name="nurture standard")]}, "nurture.sequences[0].name"),
        ({"sequences": [_sequence(buckets=[])]}, "nurture.sequences[0].buckets"),
        (
            {"sequences": [_sequence(buckets=["nurture", "Nurture"])]},
            "nurture.sequences[0].buckets: Value error, bucket 'Nurture' is listed twice",
        ),
        (
            {"sequences": [_sequence(buckets=[" "])]},
            "nurture.sequences[0].buckets: Value error, bucket names must not be empty",
        ),
        (
            {"sequences": [_sequence(sales_cycle_weeks=0)]},
            "nurture.sequences[0].sales_cycle_weeks: Input should be greater than 0",
        ),
        (
            {"sequences": [_sequence(weeks_between_touches=-1)]},
            "nurture.sequences[0].weeks_between_touches: Input should be greater than 0",
        ),
        (
            {"sequences": [_sequence(weeks_between_touches=math.inf)]},
            "nurture.sequences[0].weeks_between_touches: Input should be a finite number",
        ),
        (
            {"sequences": [_sequence(first_touch_after=0)]},
            "nurture.sequences[0].first_touch_after: Value error, 0 has no unit; write a "
            "duration such as '30s'",
        ),
        (
            {"sequences": [_sequence(touch_interval=30)]},
            "nurture.sequences[0].touch_interval: Value error, 30 has no unit",
        ),
        (
            {"sequences": [_sequence(touch_interval="30 secs")]},
            "nurture.sequences[0].touch_interval: Value error, invalid duration '30 secs'",
        ),
        (
            {"sequences": [_sequence(touch_interval="0s")]},
            "nurture.sequences[0].touch_interval: Value error, touch_interval must be longer",
        ),
        (
            {"sequences": [_sequence(first_touch_after="soon")]},
            "nurture.sequences[0].first_touch_after: Value error, invalid duration 'soon'",
        ),
        (
            {"sequences": [_sequence(modes=["email", "fax"])]},
            "nurture.sequences[0].modes[1]: Input should be 'call', 'email', 'sms' or 'task'",
        ),
        ({"sequences": [_sequence(modes=[])]}, "nurture.sequences[0].modes"),
        ({"sequences": [_sequence(templates=[])]}, "nurture.sequences[0].templates"),
        (
            {"sequences": [_sequence(templates=["a", ""])]},
            "nurture.sequences[0].templates: Value error, template names must not be empty",
        ),
        (
            {"sequences": [_sequence(modes=["email", "email", "call"], templates=["a", "b"])]},
            "nurture.sequences[0]: Value error, templates: 2 template(s) for 3 mode(s)",
        ),
        (
            {"sequences": [_sequence(sales_cycle_weeks=52, weeks_between_touches=0.1)]},
            "nurture.sequences[0]: Value error, sales_cycle_weeks / weeks_between_touches "
            "gives 521 touches; at most 100",
        ),
        (
            {"sequences": [_sequence(), _sequence(buckets=["cold"])]},
            "nurture.sequences: Value error, duplicate sequence name 'nurture-standard'",
        ),
        (
            {"sequences": [_sequence(), _sequence(name="other", buckets=["cold", "nurture"])]},
            "nurture.sequences: Value error, bucket 'nurture' is in sequences "
            "'nurture-standard' and 'other'; a bucket may belong to at most one sequence",
        ),
        (
            {
                "sequences": [
                    _sequence(recycled=["lost"]),
                    _sequence(name="revive", buckets=["cold"], recycled=["gone_cold", "lost"]),
                ]
            },
            "nurture.sequences: Value error, recycle cause 'lost' is in sequences "
            "'nurture-standard' and 'revive'; a cause may belong to at most one sequence",
        ),
        (
            {"sequences": [_sequence(recycled=["snoozed"])]},
            "nurture.sequences[0].recycled[0]: Input should be 'gone_cold', 'lost' or "
            "'disqualified'",
        ),
        ({"stop_on": ["replied", "dance"]}, "nurture.stop_on[1]: Input should be 'contacted'"),
        (
            {"stop_on": ["replied", "won", "replied"]},
            "nurture.stop_on: Value error, 'replied' is listed twice",
        ),
    ],
)
def test_a_config_mistake_is_reported_under_its_key(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _validate(section)
    assert f"leadflow.yaml: {expected}" in str(caught.value)
