"""When a background consumer applies what is waiting for it (shared.bus.settling)."""

from __future__ import annotations

import pytest

from shared.bus.settling import Backlog, Settling, apply_due, wait_s

POLICY = Settling(quiet_s=1.0, max_hold_s=30.0, max_held=100)


def due(policy: Settling | None, *, now: float, waiting: int = 5, since: float = 0.0,
        last: float = 0.0) -> bool:  # fmt: skip
    return apply_due(policy, now=now, waiting=waiting, waiting_since=since, last_arrival_at=last)


def test_nothing_waiting_is_never_due() -> None:
    assert not due(POLICY, now=1000.0, waiting=0)
    assert not due(None, now=1000.0, waiting=0)


def test_without_a_policy_everything_is_applied_at_once() -> None:
    assert due(None, now=0.0)
    assert due(Settling(0.0, 30.0, 100), now=0.0)  # quiet 0: the latency path's way
    assert due(Settling(1.0, 0.0, 100), now=0.0)


def test_waits_while_events_keep_coming() -> None:
    assert not due(POLICY, now=10.0, since=0.0, last=9.5)


def test_due_once_the_stream_has_been_quiet() -> None:
    assert due(POLICY, now=10.5, since=0.0, last=9.5)


def test_due_once_the_oldest_has_waited_the_limit_whatever_the_stream() -> None:
    assert not due(POLICY, now=29.9, since=0.0, last=29.8)
    assert due(POLICY, now=30.0, since=0.0, last=29.9)


def test_due_once_the_cap_is_waiting() -> None:
    assert not due(POLICY, now=1.0, waiting=99, since=0.9, last=0.9)
    assert due(POLICY, now=1.0, waiting=100, since=0.9, last=0.9)


def test_the_next_look_comes_no_later_than_the_events_fall_due() -> None:
    def wait(now: float, waiting: int, since: float, last: float) -> float:
        return wait_s(POLICY, now=now, waiting=waiting, waiting_since=since, last_arrival_at=last)

    assert wait(5.0, 0, 0.0, 0.0) == POLICY.probe_s == 0.5
    assert wait(5.0, 3, 4.0, 4.9) == 0.5
    assert wait(5.0, 3, 4.0, 4.2) == pytest.approx(0.2)
    assert wait(40.0, 3, 4.0, 39.9) == 0.0
    assert Settling(0.4, 30.0, 10).probe_s == 0.2  # never coarser than half the quiet time


@pytest.mark.parametrize("bad", [(-1.0, 1.0, 1), (1.0, -1.0, 1), (1.0, 1.0, 0)])
def test_a_nonsensical_policy_is_refused(bad: tuple[float, float, int]) -> None:
    with pytest.raises(ValueError, match="invalid settling policy"):
        Settling(*bad)


def test_the_backlog_dates_waiting_events_from_when_they_were_first_seen() -> None:
    backlog = Backlog(POLICY)
    backlog.observe({"a": 10}, 0, now=1.0)  # caught up
    assert not backlog.due(100.0)
    backlog.observe({"a": 12}, 2, now=2.0)  # two arrive
    assert (backlog.waiting_since, backlog.last_arrival_at) == (2.0, 2.0)
    backlog.observe({"a": 15}, 5, now=2.5)  # more: the stream is not quiet yet
    assert (backlog.waiting_since, backlog.last_arrival_at) == (2.0, 2.5)
    assert not backlog.due(3.4)
    backlog.observe({"a": 15}, 5, now=3.0)  # nothing new
    assert backlog.last_arrival_at == 2.5
    assert backlog.due(3.5)  # quiet for 1 s
    backlog.drained()
    assert not backlog.due(3.5)
    backlog.observe({"a": 16}, 1, now=4.0)  # waiting anew, with a clock of its own
    assert (backlog.waiting_since, backlog.last_arrival_at) == (4.0, 4.0)


def test_under_steady_arrivals_the_hold_limit_applies() -> None:
    backlog = Backlog(POLICY)
    for tick in range(61):
        now = tick * 0.5
        backlog.observe({"a": tick + 1}, tick + 1, now=now)
        if backlog.due(now):
            break
    assert now == 30.0


def test_a_drain_is_forced_only_by_the_hold_or_the_cap() -> None:
    backlog = Backlog(POLICY)
    backlog.observe({"a": 5}, 5, now=0.0)
    assert backlog.due(1.0) and not backlog.forced(1.0)  # quiet: a drain that may yield
    assert backlog.forced(30.0)
    backlog.observe({"a": 100}, 100, now=2.0)
    assert backlog.forced(2.0)


def test_an_interrupted_drain_keeps_the_rests_age() -> None:
    backlog = Backlog(POLICY)
    backlog.observe({"a": 5}, 5, now=0.0)
    assert backlog.due(1.0)
    backlog.interrupted(now=1.2)  # events came during the drain
    backlog.observe({"a": 9}, 4, now=1.3)
    assert backlog.waiting_since == 0.0 and not backlog.due(1.3)
    assert backlog.due(2.5)  # quiet again
    assert backlog.forced(30.0)  # and the hold still counts from the first
