"""The restart rule of `leadflow up`: back-off on quick deaths, reset after a stable run."""

from __future__ import annotations

import signal
import threading

import pytest

from leadflow.supervision import Backoff, Run, describe_exit, plan_restart
from leadflow.watchdog import Watchdog

POLICY = Backoff(first_s=1.0, factor=2.0, max_s=30.0, stable_s=30.0)


def test_the_first_death_after_a_long_run_waits_the_first_delay() -> None:
    plan = plan_restart(POLICY, Run(started_at=0.0, attempt=1), died_at=3600.0)
    assert (plan.delay_s, plan.at, plan.attempt, plan.failures) == (1.0, 3601.0, 2, 1)


def test_quick_deaths_double_the_wait_up_to_the_maximum() -> None:
    run, delays = Run(started_at=0.0), []
    for _ in range(8):
        plan = plan_restart(POLICY, run, died_at=run.started_at + 2.0)  # died after 2 s
        delays.append(plan.delay_s)
        run = Run(started_at=plan.at, attempt=plan.attempt, failures=plan.failures)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert run.attempt == 9


def test_a_child_that_stayed_up_long_enough_starts_the_schedule_again() -> None:
    quick = Run(started_at=100.0, attempt=6, failures=5)
    assert plan_restart(POLICY, quick, died_at=129.0).delay_s == 30.0
    assert plan_restart(POLICY, quick, died_at=130.0).delay_s == 1.0


def test_a_hold_keeps_it_down_longer_but_never_shortens_the_back_off() -> None:
    run = Run(started_at=0.0, failures=3)
    held = plan_restart(POLICY, run, died_at=10.0, hold_until=25.0)
    assert (held.at, held.delay_s) == (25.0, 15.0)
    assert plan_restart(POLICY, run, died_at=10.0, hold_until=11.0).at == 18.0  # 8 s back-off


@pytest.mark.parametrize(
    ("code", "text"),
    [(-signal.SIGKILL, "SIGKILL"), (-signal.SIGSEGV, "SIGSEGV"), (0, "exit code 0"),
     (3, "exit code 3"), (-99, "signal 99")],
)  # fmt: skip
def test_how_a_child_ended_is_said_the_way_an_operator_reads_it(code: int, text: str) -> None:
    assert describe_exit(code) == text


class FakeChildren:
    """Process table stand-in: which children are dead, and every restart asked for."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.dead: dict[str, int] = {}
        self.fail_starts = 0
        self.restarted: list[str] = []

    def children(self) -> list[str]:
        return self.names

    def exit_status(self, name: str) -> int | None:
        return self.dead.get(name)

    def pid(self, name: str) -> int | None:
        return None if name in self.dead else 100 + self.names.index(name)

    def restart(self, name: str) -> None:
        if self.fail_starts:
            self.fail_starts -= 1
            raise RuntimeError("port 9092 is already in use\nmore detail")
        self.dead.pop(name, None)
        self.restarted.append(name)


def test_the_watchdog_says_why_waits_and_restarts_only_the_dead() -> None:
    now = [0.0]
    lines: list[str] = []
    kids = FakeChildren("postgres", "broker", "router")
    dog = Watchdog(kids, POLICY, say=lines.append, clock=lambda: now[0])
    now[0] = 60.0
    kids.dead["broker"] = -signal.SIGKILL
    dog.check()
    assert lines == ["broker died (SIGKILL); restarting in 1.0s (attempt 2)"]
    now[0] = 60.5
    dog.check()
    assert kids.restarted == []
    now[0] = 61.0
    dog.check()
    assert kids.restarted == ["broker"]
    assert lines[-1] == "broker restarted (pid 101, attempt 2)"
    assert dog.restarts == {"broker": 1}


def test_a_failed_start_is_retried_with_a_longer_wait() -> None:
    now = [100.0]
    lines: list[str] = []
    kids = FakeChildren("postgres")
    dog = Watchdog(kids, POLICY, say=lines.append, clock=lambda: now[0])
    kids.dead["postgres"] = 1
    kids.fail_starts = 1
    dog.check()
    now[0] = 101.0
    dog.check()
    assert lines[-1] == (
        "postgres did not start (port 9092 is already in use); restarting in 2.0s (attempt 3)"
    )
    now[0] = 103.0
    dog.check()
    assert kids.restarted == ["postgres"]


def test_a_held_child_stays_down_until_the_hold_ends() -> None:
    now = [50.0]
    lines: list[str] = []
    kids = FakeChildren("broker")
    dog = Watchdog(kids, POLICY, say=lines.append, clock=lambda: now[0])
    dog.hold("broker", 15.0)
    kids.dead["broker"] = -signal.SIGKILL
    dog.check()
    assert lines == ["broker died (SIGKILL); restarting in 15.0s (attempt 2)"]
    now[0] = 64.0
    dog.check()
    assert kids.restarted == []
    now[0] = 65.0
    dog.check()
    assert kids.restarted == ["broker"]


def test_the_loop_ends_when_asked_to_stop() -> None:
    stop = threading.Event()
    stop.set()
    Watchdog(FakeChildren("router"), POLICY, say=print).run(stop)


def test_a_child_started_again_by_someone_else_is_not_started_twice() -> None:
    now = [10.0]
    lines: list[str] = []
    kids = FakeChildren("broker")
    dog = Watchdog(kids, POLICY, say=lines.append, clock=lambda: now[0])
    kids.dead["broker"] = -signal.SIGTERM  # a recycle stopped it...
    dog.check()
    del kids.dead["broker"]  # ...and started a new one
    now[0] = 12.0
    dog.check()
    assert kids.restarted == []
    assert lines[-1] == "broker is running again (pid 100)"
