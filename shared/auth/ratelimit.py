"""Token buckets: each credential (and each vendor source) may make ``rate`` requests a
second on average, with bursts up to ``burst``; beyond that it is told when to come back.

Kept in the process: the limit holds per service instance (with N replicas a client gets up
to N times the rate in total), which is what protects each instance's resources."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    rate_per_s: float
    burst: int

    @property
    def unlimited(self) -> bool:
        return self.rate_per_s <= 0


@dataclass(frozen=True)
class Bucket:
    tokens: float
    at: float  # monotonic seconds


def take(
    bucket: Bucket | None, limit: Limit, now: float, cost: float = 1.0
) -> tuple[Bucket, float]:
    """The bucket after a request at ``now`` and the seconds to wait (0: allowed).

    A refused request takes nothing, so a client that keeps retrying too early is not
    pushed further back."""
    if bucket is None:
        bucket = Bucket(float(limit.burst), now)
    tokens = min(float(limit.burst), bucket.tokens + (now - bucket.at) * limit.rate_per_s)
    if tokens >= cost:
        return Bucket(tokens - cost, now), 0.0
    return Bucket(tokens, now), (cost - tokens) / limit.rate_per_s


def retry_after(wait_s: float) -> str:
    """Retry-After is whole seconds; never 0 for a refusal."""
    return str(max(1, math.ceil(wait_s)))


class Limiter:
    """Buckets by key (``key:<id>``, ``source:<name>``), the least recently used dropped
    beyond ``max_keys`` (a dropped bucket restarts full: generous, never wrongly refusing)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._max_keys = max_keys

    def wait_for(self, key: str, limit: Limit, now: float, cost: float = 1.0) -> float:
        if limit.unlimited:
            return 0.0
        bucket, wait = take(self._buckets.get(key), limit, now, cost)
        self._buckets[key] = bucket
        self._buckets.move_to_end(key)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait
