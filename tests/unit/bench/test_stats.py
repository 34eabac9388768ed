"""The bench's arithmetic: percentiles, summaries, rates, ratios and medians of runs."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.bench.stats import median_of_runs, per_thousand, percentile, rate, ratio, summarize


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 100, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),  # between the two middle values
        ([0.0, 10.0], 90, 9.0),
        ([float(i) for i in range(1, 101)], 99, 99.01),
    ],
)
def test_percentile_interpolates_between_closest_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize("q", [-1, 101])
def test_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)


def test_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_summary_reports_milliseconds_of_unsorted_seconds() -> None:
    s = summarize([0.003, 0.001, 0.002, 0.010])
    assert (s.count, s.p50, s.max, s.mean) == (4, 2.5, 10.0, 4.0)
    assert s.p90 == pytest.approx(7.9)
    assert s.p99 == pytest.approx(9.79)


def test_summary_of_no_latencies_has_no_figures() -> None:
    s = summarize([])
    assert s.count == 0
    assert (s.p50, s.p90, s.p99, s.max, s.mean) == (None, None, None, None, None)


@pytest.mark.parametrize(
    ("count", "start", "end", "expected"),
    [
        (1000, 10.0, 12.0, 500.0),
        (3, 0.0, 4.0, 0.8),
        (0, 0.0, 4.0, None),  # nothing happened
        (10, 5.0, 5.0, None),  # no time passed
        (10, 6.0, 5.0, None),  # clock went backwards
    ],
)
def test_rate_is_events_over_elapsed_seconds(
    count: int, start: float, end: float, expected: float | None
) -> None:
    assert rate(count, start, end) == expected


@pytest.mark.parametrize(
    ("amount", "leads", "expected"), [(2.5, 5000, 0.5), (1.0, 1000, 1.0), (1.0, 0, None)]
)
def test_per_thousand_scales_to_1000_leads(
    amount: float, leads: int, expected: float | None
) -> None:
    assert per_thousand(amount, leads) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"), [(10.0, 4.0, 2.5), (None, 4.0, None), (1.0, None, None), (1.0, 0, None)]
)
def test_ratio_is_unknown_when_either_side_is(
    a: float | None, b: float | None, expected: float | None
) -> None:
    assert ratio(a, b) == expected


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([{"x": 1.0}, {"x": 3.0}, {"x": 2.0}], {"x": 2.0}),
        ([{"n": 1}, {"n": 2}], {"n": 1.5}),
        ([{"n": 4}, {"n": 2}, {"n": 9}], {"n": 4}),
        ([{"a": {"p50": 1.0}}, {"a": {"p50": 5.0}}, {"a": {"p50": 3.0}}], {"a": {"p50": 3.0}}),
        ([{"x": None}, {"x": 4.0}, {"x": 2.0}], {"x": 3.0}),  # None runs are left out
        ([{"x": None}, {"x": None}], {"x": None}),
        ([{"kind": "single"}, {"kind": "single"}], {"kind": "single"}),
        ([{"x": 1.0}, {"y": 2.0}], {"x": 1.0, "y": 2.0}),  # a figure only some runs have
        ([{"ok": True}, {"ok": False}], {"ok": True}),  # flags are not averaged
    ],
)
def test_median_of_runs_takes_each_figure_median(runs: list[Any], expected: Any) -> None:
    assert median_of_runs(runs) == expected


def test_median_of_no_runs_is_nothing() -> None:
    assert median_of_runs([]) is None
