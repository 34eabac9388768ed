"""nurture.contact and nurture.followups: the example validates, mistakes name their key."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.nurture import followup_config
from services.nurture.config import NurtureConfig
from services.nurture.contact_rules import ALWAYS_OPEN, PressureCaps
from services.nurture.followup_config import followup_plans
from services.nurture.touch_modes import TouchMode
from shared.config import ConfigError, validate_section

FILE = Path("leadflow.yaml")


def _validate(section: dict[str, Any]) -> NurtureConfig:
    return validate_section(FILE, {"nurture": section}, "nurture", NurtureConfig)


def _docstring_example() -> dict[str, Any]:
    doc = followup_config.__doc__ or ""
    text = doc.split("Example::", 1)[1].split("\n\n", 2)[1]
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_the_documented_example_validates_and_reaches_the_domain() -> None:
    config = validate_section(FILE, _docstring_example(), "nurture", NurtureConfig)
    rules = config.contact.to_domain()
    assert rules.window.days == frozenset({0, 1, 2, 3, 4})
    assert (rules.window.start_minute, rules.window.end_minute) == (9 * 60, 18 * 60)
    assert rules.window.closed_dates == frozenset({date(2026, 12, 25)})
    assert rules.caps == PressureCaps(per_day=2, per_week=4)
    zones = config.contact.time_zone_rules()
    assert zones.default == "Europe/London"
    assert dict(zones.countries) == {"US": "America/New_York", "DE": "Europe/Berlin"}
    plans = followup_plans(config.followups)
    hot, cold = plans["hot"], plans["cold"]
    assert [(t.mode, t.wait) for t in hot.touches] == [
        (TouchMode.CALL, timedelta(0)),
        (TouchMode.CALL, timedelta(days=1)),
        (TouchMode.MEETING, timedelta(days=2)),
    ]
    assert hot.grace == timedelta(hours=2)
    assert hot.last_touch_window == timedelta(days=7)
    assert [t.mode for t in cold.touches] == [TouchMode.EMAIL] * 4
    assert cold.grace == timedelta(hours=4)
    assert cold.last_touch_window == timedelta(weeks=2)


def test_without_contact_rules_every_moment_is_allowed_and_no_bucket_has_a_plan() -> None:
    config = _validate({})
    assert config.contact.to_domain().window == ALWAYS_OPEN
    assert config.contact.to_domain().caps == PressureCaps()
    assert config.contact.time_zone_rules().default == "UTC"
    assert followup_plans(config.followups) == {}


def test_closed_dates_apply_without_a_window() -> None:
    config = _validate({"contact": {"closed_dates": ["2026-12-25"]}})
    window = config.contact.to_domain().window
    assert window.closed_dates == frozenset({date(2026, 12, 25)})
    assert window.days == ALWAYS_OPEN.days


def test_a_cycle_plan_defaults_to_email_and_takes_its_options() -> None:
    config = _validate(
        {"followups": {"warm": {"cycle_weeks": 5, "every_weeks": 2, "first_after": "1d"}}}
    )
    plan = followup_plans(config.followups)["warm"]
    assert [t.mode for t in plan.touches] == [TouchMode.EMAIL] * 3
    assert plan.touches[0].wait == timedelta(days=1)


WINDOW = {"start": "09:00", "end": "18:00"}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"followups": {"cold": {"cycle_weeks": 6, "every_weeks": 0}}},
            "nurture.followups.cold.every_weeks: Input should be greater than 0",
        ),
        (
            {"followups": {"cold": {"cycle_weeks": -1, "every_weeks": 2}}},
            "nurture.followups.cold.cycle_weeks: Input should be greater than or equal to 0",
        ),
        (
            {"followups": {"cold": {"cycle_weeks": 6}}},
            "nurture.followups.cold: Value error, give touches, or both cycle_weeks (C)",
        ),
        (
            {"followups": {"hot": {"touches": [{"mode": "call"}], "every_weeks": 1}}},
            "nurture.followups.hot: Value error, give touches or cycle_weeks/every_weeks, not both",
        ),
        (
            {"followups": {"hot": {"touches": [{"mode": "fax"}]}}},
            "nurture.followups.hot.touches[0].mode: Input should be 'call', 'email', 'sms',",
        ),
        (
            {"followups": {"hot": {"touches": [{"mode": "call"}, {"mode": "call", "after": 5}]}}},
            "nurture.followups.hot.touches[1].after: Value error, 5 has no unit",
        ),
        (
            {"followups": {"hot": {"touches": [{"mode": "call", "after": "1 day"}]}}},
            "nurture.followups.hot.touches[0].after: Value error, invalid duration '1 day'",
        ),
        ({"followups": {"hot": {"touches": []}}}, "nurture.followups.hot.touches: "),
        (
            {"followups": {"cold": {"cycle_weeks": 300, "every_weeks": 1}}},
            "nurture.followups.cold: Value error, cycle_weeks / every_weeks gives 301 touches",
        ),
        (
            {"followups": {"hot": {"touches": [{"mode": "call"}], "last_touch_window": "0s"}}},
            "last_touch_window must be longer than zero",
        ),
        (
            {"followups": {"hot": {"touches": [{"mode": "call"}], "colour": "red"}}},
            "nurture.followups.hot.colour: Extra inputs are not permitted",
        ),
        (
            {
                "followups": {
                    "Hot": {"touches": [{"mode": "call"}]},
                    "hot": {"touches": [{"mode": "sms"}]},
                }
            },
            "nurture.followups: Value error, bucket 'hot' has two plans",
        ),
        (
            {"contact": {"window": {"start": "9am", "end": "18:00"}}},
            "nurture.contact.window.start: Value error, must be a time as HH:MM, got '9am'",
        ),
        (
            {"contact": {"window": {"start": "18:00", "end": "09:00"}}},
            "nurture.contact.window: Value error, start 18:00 must be before end 09:00",
        ),
        (
            {"contact": {"window": {**WINDOW, "days": ["mon", "mon"]}}},
            "nurture.contact.window.days: Value error, day listed twice: mon",
        ),
        (
            {"contact": {"window": {**WINDOW, "days": ["monday"]}}},
            "nurture.contact.window.days[0]: Input should be 'mon', 'tue'",
        ),
        (
            {"contact": {"caps": {"per_day": 0}}},
            "nurture.contact.caps.per_day: Input should be greater than or equal to 1",
        ),
        (
            {"contact": {"time_zones": {"default": "Mars/Olympus"}}},
            "nurture.contact.time_zones.default: Value error, unknown time zone 'Mars/Olympus'",
        ),
        (
            {"contact": {"time_zones": {"countries": {"ZZ": "Europe/London"}}}},
            "nurture.contact.time_zones.countries.ZZ.[key]: Value error, 'ZZ' is not an ISO",
        ),
        (
            {"contact": {"closed_dates": ["25 Dec"]}},
            "nurture.contact.closed_dates[0]: Input should be a valid date",
        ),
    ],
)
def test_every_mistake_names_its_key(section: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _validate(section)
    assert expected in str(raised.value)
