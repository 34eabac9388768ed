"""Token buckets: a burst, then the steady rate; a refusal says when to come back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.auth.ratelimit import Limit, Limiter, retry_after, take


def test_a_burst_is_allowed_then_requests_wait_for_tokens() -> None:
    limiter, limit = Limiter(), Limit(rate_per_s=2, burst=3)
    waits = [limiter.wait_for("key:a", limit, now=0.0) for _ in range(4)]
    assert waits[:3] == [0, 0, 0] and waits[3] == 0.5
    assert limiter.wait_for("key:a", limit, now=0.5) == 0  # one token back after 0.5 s
    assert limiter.wait_for("key:b", limit, now=0.5) == 0  # buckets are per key


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert retry_after(0.01) == "1" and retry_after(1.2) == "2"


def test_no_limit_never_waits() -> None:
    limiter = Limiter()
    assert all(limiter.wait_for("k", Limit(0, 1), now=0.0) == 0 for _ in range(1000))


@given(
    rate=st.floats(0.1, 1000), burst=st.integers(1, 1000),
    gaps=st.lists(st.floats(0, 5), min_size=1, max_size=200),
)  # fmt: skip
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    limit, bucket, now, allowed = Limit(rate, burst), None, 0.0, 0
    for gap in gaps:
        now += gap
        bucket, wait = take(bucket, limit, now)
        allowed += wait == 0
    assert allowed <= burst + rate * now + 1e-6
