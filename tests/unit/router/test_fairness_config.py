"""``routing.load_weights``, ``routing.fairness`` and the weekly and monthly caps validate with
the rest of the routing config, each problem at its key."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.router.config.model import RoutingConfig, to_domain
from services.router.domain.fairness import DEFAULT_EFFECTS, FairnessPolicy
from services.router.domain.model import LoadWeights
from shared.config import ConfigError, validate_section

CONFIG_FILE = Path("leadflow.yaml")
BASE: dict[str, Any] = {
    "reps": [
        {"id": "ana", "name": "Ana", "timezone": "Europe/London"},
        {"id": "ben", "name": "Ben", "timezone": "America/New_York"},
    ],
    "queues": [
        {"name": "inbound", "department": "sales", "region": "uk", "members": ["ana", "ben"]}
    ],
    "default_queue": "inbound",
    "load_weights": {"Hot": 3, "warm": 2, "cold": 1},
    "fairness": {
        "effects": {"SLA_breach": -0.2, "won": 0.15, "touch_late": 0},
        "floor": 0.6,
        "ceiling": 1.4,
        "window": "14d",
        "fast_first_contact": "10m",
    },
}


def validate(data: dict[str, Any]) -> RoutingConfig:
    return validate_section(CONFIG_FILE, {"routing": data}, "routing", RoutingConfig)


def changed(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def test_weights_and_policy_become_domain_values() -> None:
    routing = to_domain(validate(BASE))
    assert routing.load_weights == LoadWeights((("hot", 3), ("warm", 2), ("cold", 1)), 1)
    assert routing.lead_weight("HOT") == 3
    effects = dict(DEFAULT_EFFECTS) | {"sla_breach": -0.2, "won": 0.15, "touch_late": 0.0}
    assert routing.fairness == FairnessPolicy(
        effects=tuple(effects.items()),
        floor=0.6,
        ceiling=1.4,
        window=timedelta(days=14),
        fast_first_contact=timedelta(minutes=10),
    )


def test_absent_sections_leave_every_lead_weighing_one_and_no_policy() -> None:
    data = copy.deepcopy(BASE)
    del data["load_weights"], data["fairness"]
    routing = to_domain(validate(data))
    assert routing.load_weights is None and routing.fairness is None
    assert routing.lead_weight("hot") == 1


def test_an_empty_fairness_section_takes_the_defaults() -> None:
    routing = to_domain(validate(changed(("fairness",), {})))
    assert routing.fairness == FairnessPolicy()


def test_default_weighs_the_buckets_not_listed() -> None:
    weights = to_domain(validate(changed(("load_weights",), {"hot": 4, "default": 2})))
    assert weights.load_weights == LoadWeights((("hot", 4),), 2)


def test_weekly_and_monthly_caps_reach_the_rep() -> None:
    data = changed(("reps", 0, "max_per_day"), 5)
    data["reps"][0] |= {"max_per_week": 20, "max_per_month": 60}
    ana = to_domain(validate(data)).reps["ana"]
    assert (ana.max_per_day, ana.max_per_week, ana.max_per_month) == (5, 20, 60)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("fairness", "effects", "sla_breach"),
            0.1,
            "routing.fairness.effects.sla_breach: sla_breach is a penalty: give 0 or less, got 0.1",
        ),
        (
            ("fairness", "effects", "won"),
            -0.1,
            "routing.fairness.effects.won: won is a reward: give 0 or more, got -0.1",
        ),
        (
            ("fairness", "effects", "gone_cold"),
            -1.5,
            "routing.fairness.effects.gone_cold: must be between -1 and 1, got -1.5",
        ),
        (
            ("fairness", "effects", "late_reply"),
            -0.1,
            "routing.fairness.effects.late_reply: unknown kind 'late_reply'; use one of"
            " sla_breach, touch_late, touch_missed, gone_cold, fast_first_contact, won",
        ),
        (("fairness", "floor"), 0, "routing.fairness.floor: Input should be greater than 0"),
        (
            ("fairness", "ceiling"),
            0.9,
            "routing.fairness.ceiling: Input should be greater than or equal to 1",
        ),
        (("fairness", "window"), "30", "routing.fairness.window: "),
        (
            ("fairness", "fast_first_contact"),
            "0m",
            "routing.fairness.fast_first_contact: must be longer than zero, got '0m'",
        ),
        (("fairness", "decay"), "exp", "routing.fairness.decay: Extra inputs are not permitted"),
        (
            ("load_weights", "hot"),
            0,
            "routing.load_weights.hot: Input should be greater than or equal to 1",
        ),
        (("load_weights", "hot"), 2.5, "routing.load_weights.hot: Input should be a valid integer"),
        (
            ("load_weights", "hot"),
            True,
            "routing.load_weights.hot: Input should be a valid integer",
        ),
        (
            ("load_weights", "nurture"),
            1,
            "routing.load_weights.nurture: bucket 'nurture' is a nurture bucket: its leads never"
            " reach a rep",
        ),
        (
            ("reps", 0, "max_per_week"),
            0,
            "routing.reps[0].max_per_week: Input should be greater than or equal to 1",
        ),
    ],
)
def test_invalid_settings_name_the_key_and_the_problem(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(changed(path, value))
    assert f"{CONFIG_FILE}: {message}" in str(caught.value)


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        (
            {"max_per_day": 10, "max_per_week": 5},
            "max_per_week: max_per_week 5 is below max_per_day 10",
        ),
        (
            {"max_per_week": 30, "max_per_month": 20},
            "max_per_month: max_per_month 20 is below max_per_week 30",
        ),
        (
            {"max_per_day": 10, "max_per_month": 8},
            "max_per_month: max_per_month 8 is below max_per_day 10",
        ),
    ],
)
def test_a_longer_periods_cap_may_not_be_below_a_shorter_ones(
    caps: dict[str, int], message: str
) -> None:
    data = copy.deepcopy(BASE)
    data["reps"][0] |= caps
    with pytest.raises(ConfigError) as caught:
        validate(data)
    assert f"routing.reps[0].{message}" in str(caught.value)
