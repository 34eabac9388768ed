"""Ratios to the ceilings, and how figures are shown in the tables."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.bench.report import get, ratios
from leadflow.bench.tables import fmt, fmt_ms, pair


def run_figures(**overrides: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "ceilings": {
            "trivial_endpoint": {"requests_per_s": 5000.0},
            "broker_round_trip": {"latency_ms": {"p50": 4.0}},
            "database_commit": {"latency_ms": {"p50": 1.0}},
        },
        "scenarios": {
            "single@200/s": {"kind": "single", "end_to_end_ms": {"p50": 30.0, "p99": 60.0}},
            "single-max": {
                "kind": "single-max",
                "throughput_leads_per_s": 1000.0,
                "requests_per_s": 1250.0,
            },
            "batch-max": {"kind": "batch-max", "throughput_leads_per_s": 4000.0},
        },
    }
    run.update(overrides)
    return run


def test_the_latency_floor_is_three_broker_round_trips_plus_three_commits() -> None:
    assert ratios(run_figures())["floor_ms"] == 15.0


def test_single_lead_latency_is_compared_with_the_floor() -> None:
    r = ratios(run_figures())
    assert r["end_to_end_p50_vs_floor"] == {"single@200/s": 2.0}
    assert r["end_to_end_p99_vs_floor"] == {"single@200/s": 4.0}


def test_throughput_is_compared_with_the_trivial_endpoint_and_single_with_batch() -> None:
    r = ratios(run_figures())
    assert r["single_max_vs_trivial_endpoint"] == 0.2
    assert r["single_max_http_vs_trivial_endpoint"] == 0.25
    assert r["batch_vs_single_max_decided"] == 4.0


def test_without_a_database_ceiling_there_is_no_floor_to_compare_with() -> None:
    run = run_figures()
    del run["ceilings"]["database_commit"]
    r = ratios(run)
    assert r["floor_ms"] is None
    assert r["end_to_end_p50_vs_floor"] == {"single@200/s": None}


def test_an_unavailable_scenario_gives_no_ratio() -> None:
    run = run_figures()
    run["scenarios"]["batch-max"] = {"kind": "batch-max", "unavailable": "answered 404"}
    assert ratios(run)["batch_vs_single_max_decided"] is None


@pytest.mark.parametrize(
    ("doc", "path", "expected"),
    [
        ({"a": {"b": 1}}, ("a", "b"), 1),
        ({"a": {"b": 1}}, ("a", "c"), None),
        ({"a": None}, ("a", "b"), None),
        ({"a": 3}, ("a", "b"), None),
    ],
)
def test_get_walks_nested_figures_and_gives_none_where_one_is_missing(
    doc: dict[str, Any], path: tuple[str, ...], expected: Any
) -> None:
    assert get(doc, *path) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.4213, "0.42"), (4.213, "4.21"), (42.13, "42.1"), (4213.0, "4,213"), (None, "-")],
)
def test_milliseconds_are_shown_with_the_precision_that_matters(value: Any, expected: str) -> None:
    assert fmt_ms(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(None, "-"), (1234, "1,234"), (1234.56, "1,234.6"), ("x", "x")]
)
def test_figures_are_shown_with_thousands_separated(value: Any, expected: str) -> None:
    assert fmt(value) == expected


def test_a_pair_shows_p50_and_p99() -> None:
    assert pair({"p50": 3.0, "p99": 120.0}) == "3.00 / 120"
