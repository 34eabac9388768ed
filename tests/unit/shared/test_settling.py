"""When a background consumer applies what it holds (shared.bus.settling)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.bus.settling import Held, Settling, apply_due, wait_s

POLICY = Settling(quiet_s=1.0, max_hold_s=30.0, max_held=100)


def due(policy: Settling | None, *, now: float, held: int = 5, first: float = 0.0,
        last: float = 0.0) -> bool:  # fmt: skip
    return apply_due(policy, now=now, held=held, first_held_at=first, last_arrival_at=last)


def test_nothing_held_is_never_due() -> None:
    assert not due(POLICY, now=1000.0, held=0)
    assert not due(None, now=1000.0, held=0)


def test_without_a_policy_everything_is_applied_at_once() -> None:
    assert due(None, now=0.0)
    assert due(Settling(0.0, 30.0, 100), now=0.0)  # quiet 0: the latency path's way
    assert due(Settling(1.0, 0.0, 100), now=0.0)


def test_held_while_records_keep_coming() -> None:
    assert not due(POLICY, now=10.0, first=0.0, last=9.5)


def test_due_once_the_stream_has_been_quiet() -> None:
    assert due(POLICY, now=10.5, first=0.0, last=9.5)


def test_due_once_the_oldest_has_waited_the_limit_whatever_the_stream() -> None:
    assert not due(POLICY, now=29.9, first=0.0, last=29.8)
    assert due(POLICY, now=30.0, first=0.0, last=29.9)


def test_due_once_the_cap_is_held() -> None:
    assert not due(POLICY, now=1.0, held=99, first=0.9, last=0.9)
    assert due(POLICY, now=1.0, held=100, first=0.9, last=0.9)


def test_the_next_fetch_waits_no_longer_than_until_the_records_fall_due() -> None:
    assert wait_s(POLICY, now=5.0, held=0, first_held_at=0, last_arrival_at=0, poll_s=0.2) == 0.2
    assert wait_s(POLICY, now=5.0, held=3, first_held_at=4.0, last_arrival_at=4.9,
                  poll_s=0.2) == 0.2  # fmt: skip
    assert wait_s(POLICY, now=5.0, held=3, first_held_at=4.0, last_arrival_at=4.05,
                  poll_s=0.2) == pytest.approx(0.05)  # fmt: skip
    assert wait_s(POLICY, now=40.0, held=3, first_held_at=4.0, last_arrival_at=39.9,
                  poll_s=0.2) == 0.0  # fmt: skip


@pytest.mark.parametrize("bad", [(-1.0, 1.0, 1), (1.0, -1.0, 1), (1.0, 1.0, 0)])
def test_a_nonsensical_policy_is_refused(bad: tuple[float, float, int]) -> None:
    with pytest.raises(ValueError, match="invalid settling policy"):
        Settling(*bad)


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int


def test_held_records_remember_when_they_came_and_drop_by_partition() -> None:
    held: Held[Rec] = Held(POLICY)
    held.add([Rec("a", 0, 0), Rec("a", 1, 0)], now=1.0)
    held.add([], now=2.0)  # an empty fetch is not an arrival
    held.add([Rec("b", 0, 7)], now=3.0)
    assert (held.first_held_at, held.last_arrival_at) == (1.0, 3.0)
    assert held.count_by_topic() == {"a": 2, "b": 1}
    assert not held.due(3.5) and held.due(4.0)
    held.drop({("a", 1)})
    assert held.take() == [Rec("a", 0, 0), Rec("b", 0, 7)]
    assert held.records == [] and not held.due(100.0)
    held.add([Rec("c", 0, 1)], now=50.0)
    assert held.first_held_at == 50.0  # a new hold starts its own clock
    held.drop()
    assert held.records == []
