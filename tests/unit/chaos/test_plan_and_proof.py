"""The chaos run's plan (what it kills, when) and its proof (input set = output set)."""

from __future__ import annotations

import pytest

from leadflow.chaos.plan import Fault, fault_times, parse_faults
from leadflow.chaos.proof import Evidence, judge, settled


def test_all_kills_every_service_then_postgres_then_the_broker_long_and_short() -> None:
    faults = parse_faults("all", broker_long_s=90, broker_short_s=20)
    assert [f.name for f in faults] == [
        "capture", "scorer", "router", "nurture", "notifier", "postgres",
        "broker-long", "broker-short",
    ]  # fmt: skip
    assert faults[-2:] == [Fault("broker-long", "broker", 90), Fault("broker-short", "broker", 20)]
    assert parse_faults("postgres, router", 1, 1) == [Fault("postgres", "postgres"),
                                                      Fault("router", "router")]  # fmt: skip


def test_an_unknown_target_is_named() -> None:
    with pytest.raises(ValueError, match="unknown target 'kafka'"):
        parse_faults("router,kafka", 1, 1)


def test_outages_are_spread_over_the_load_with_equal_gaps() -> None:
    assert fault_times(60.0, [0.0, 0.0]) == [52 / 3, 104 / 3 + 4]  # 4 s per plain kill
    assert fault_times(100.0, [0.0, 50.0, 10.0]) == [9.0, 22.0, 81.0]  # gaps of 9 s


def test_outages_longer_than_the_load_follow_each_other() -> None:
    assert fault_times(10.0, [15.0, 5.0]) == [0.0, 15.0]


def evidence(**kw: object) -> Evidence:
    base: dict[str, object] = {
        "acknowledged": frozenset({"a", "b", "n"}),
        "decisions": {"a": "assigned", "b": "assigned", "n": "nurture"},
        "webhooks": {"a": {"w1": 1}, "b": {"w2": 2}},
        "enrollments": {"n": 1},
    }
    base.update(kw)
    return Evidence(**base)  # type: ignore[arg-type]


def test_every_lead_decided_announced_and_enrolled_once_is_ok() -> None:
    figures = judge(evidence())
    assert figures.ok and settled(evidence())
    assert (figures.decided, figures.assigned, figures.nurtured) == (3, 2, 1)
    assert (figures.webhooks_once, figures.webhooks_redelivered, figures.nurture_once) == (2, 1, 1)


def test_lost_doubled_missing_and_unexpected_are_each_counted_with_examples() -> None:
    figures = judge(
        evidence(
            acknowledged=frozenset({"a", "b", "n", "lost", "wait"}),
            decisions={"a": "assigned", "b": "assigned", "n": "nurture", "wait": "waiting"},
            webhooks={"a": {"w1": 1, "w9": 1}, "stranger": {"w3": 1}},
            enrollments={"n": 2},
        )
    )
    assert not figures.ok
    assert (figures.lost, figures.undecided) == (1, 1)
    assert (figures.webhooks_doubled, figures.webhooks_missing) == (1, 1)
    assert (figures.webhooks_unexpected, figures.nurture_doubled) == (1, 1)
    assert figures.examples["lost"] == ["lost"]
    assert figures.examples["webhooks_doubled"] == ["a"]


def test_not_settled_while_a_decision_webhook_or_enrolment_is_missing() -> None:
    assert not settled(evidence(decisions={"a": "assigned", "b": "waiting", "n": "nurture"}))
    assert not settled(evidence(webhooks={"a": {"w1": 1}}))
    assert not settled(evidence(enrollments={}))
