from __future__ import annotations

from decimal import Decimal

import pytest

from services.insights.domain.stats import average, percentile, percentiles, rate


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7.0], 99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),  # rank ceil(2.0) = 2
        ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),  # rank ceil(2.5) = 3
        ([4.0, 1.0, 3.0, 2.0], 90, 4.0),  # order of the sample does not matter
        (list(map(float, range(1, 101))), 90, 90.0),
        (list(map(float, range(1, 101))), 99, 99.0),
        (list(map(float, range(1, 11))), 99, 10.0),
    ],
)
def test_percentile_is_the_nearest_rank_of_the_sorted_sample(
    values: list[float], p: float, expected: float | None
) -> None:
    assert percentile(values, p) == expected


@pytest.mark.parametrize("p", [0, -1, 101])
def test_percentile_outside_0_to_100_is_refused(p: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], p)


def test_percentiles_give_p50_p90_p99() -> None:
    assert percentiles([1.0, 2.0]) == {"p50": 1.0, "p90": 2.0, "p99": 2.0}


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 3, 0.333333), (2, 3, 0.666667), (0, 5, 0.0), (3, 0, None), (5, 5, 1.0)],
)
def test_rate_is_rounded_to_six_places_and_unknown_without_a_whole(
    part: int, whole: int, expected: float | None
) -> None:
    assert rate(part, whole) == expected


def test_average_of_amounts_is_in_cents_and_none_when_empty() -> None:
    assert average([Decimal("10"), Decimal("20.005")]) == 15.0  # 15.0025 -> 15.00
    assert average([]) is None
