"""The arithmetic every KPI shares: nearest-rank percentiles and rates.

Nearest-rank (the p-th percentile is the value at rank ceil(p/100 * n) of the sorted
sample) was chosen over interpolation because every figure it gives is a time some lead
really waited, which is what a sales manager reads "p90 = 42 min" as.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

PERCENTILES = (50, 90, 99)
PLACES = 6  # rates and shares are rounded to this many places, so figures compare exactly


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; None for an empty sample."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {p}")
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    return {f"p{p}": percentile(values, p) for p in PERCENTILES}


def rate(part: int | float, whole: int | float) -> float | None:
    """part / whole rounded, or None when there is nothing to divide by (not 0: unknown)."""
    if not whole:
        return None
    return round(part / whole, PLACES)


def money(value: Decimal) -> float:
    """Amounts leave as numbers with cents."""
    return float(round(value, 2))


def average(values: Sequence[Decimal]) -> float | None:
    if not values:
        return None
    return money(sum(values, Decimal(0)) / len(values))
