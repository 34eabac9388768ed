"""The benchmark's arithmetic: percentiles, summaries, rates, ratios, medians of runs.

Pure functions over plain numbers (no I/O, no clock), so the figures a run prints can be
checked by hand. Latencies are kept in seconds while measuring and reported in milliseconds.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Percentiles of a set of latencies, in milliseconds; ``None`` when there were none."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    mean: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, interpolating between closest ranks."""
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds: Iterable[float]) -> Summary:
    """p50/p90/p99/max/mean in milliseconds of latencies given in seconds."""
    ordered = sorted(seconds)
    if not ordered:
        return Summary(0, None, None, None, None, None)

    def ms(value: float) -> float:
        return round(value * 1000, 3)

    return Summary(
        count=len(ordered),
        p50=ms(percentile(ordered, 50)),
        p90=ms(percentile(ordered, 90)),
        p99=ms(percentile(ordered, 99)),
        max=ms(ordered[-1]),
        mean=ms(statistics.fmean(ordered)),
    )


def rate(count: int, start: float, end: float) -> float | None:
    """Events per second over [start, end]; ``None`` when nothing happened or no time passed."""
    if count <= 0 or end <= start:
        return None
    return round(count / (end - start), 1)


def per_thousand(amount: float, leads: int) -> float | None:
    """An amount (e.g. CPU seconds) per 1,000 leads."""
    if leads <= 0:
        return None
    return round(amount * 1000 / leads, 4)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or ``None`` when either is unknown or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, 3)


def median_of_runs(runs: Sequence[Any]) -> Any:
    """The figure-by-figure median of several runs' figures (nested dicts of numbers).

    Numbers become their median (a figure missing or ``None`` in some runs takes the median
    of the others); anything else (names, flags, lists) is taken from the first run.
    """
    if not runs:
        return None
    first = runs[0]
    if isinstance(first, Mapping):
        keys: list[str] = []
        for run in runs:
            if isinstance(run, Mapping):
                keys.extend(k for k in run if k not in keys)
        return {
            k: median_of_runs([r.get(k) for r in runs if isinstance(r, Mapping) and k in r])
            for k in keys
        }
    numbers = [float(r) for r in runs if isinstance(r, int | float) and not isinstance(r, bool)]
    if numbers and len(numbers) == sum(1 for r in runs if r is not None):
        middle = statistics.median(numbers)
        if all(isinstance(r, int) for r in runs if r is not None):
            return round(middle) if middle == int(middle) else middle
        return round(middle, 3)
    non_null = [r for r in runs if r is not None]
    return non_null[0] if non_null else None
