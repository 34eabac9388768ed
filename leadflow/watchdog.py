"""``leadflow up``'s supervision loop: notice a dead child, reap it, say why, restart it.

The children are PostgreSQL, the broker, the six services and the demo receiver (see
:class:`leadflow.supervisor.Stack`). The schedule is the pure rule of
:mod:`leadflow.supervision`; this module only applies it to real processes and prints one
line per death and per restart on ``leadflow up``'s own output, e.g.::

    02:14:07 broker died (SIGKILL); restarting in 1.0s (attempt 2)
    02:14:08 broker restarted (pid 41877, attempt 2)

Restarting a child blocks the loop until it listens (PostgreSQL: up to 30 s); the others
are looked at again right after. A child found running again while it waits for its
restart (a broker recycle, :mod:`leadflow.recycle`, stops and starts the broker itself) is
left alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from leadflow.supervision import Backoff, Restart, Run, describe_exit, plan_restart


class Children(Protocol):
    """What the watchdog needs from a stack of child processes."""

    def children(self) -> list[str]: ...
    def exit_status(self, name: str) -> int | None: ...
    def pid(self, name: str) -> int | None: ...
    def restart(self, name: str) -> None: ...


def print_line(line: str) -> None:
    print(f"{datetime.now().strftime('%H:%M:%S')} {line}", flush=True)


@dataclass
class _Child:
    run: Run
    pending: Restart | None = None  # set while the child is dead and waits for its restart


class Watchdog:
    """Keeps every child of ``stack`` running until ``stop`` is set."""

    def __init__(
        self,
        stack: Children,
        policy: Backoff | None = None,
        say: Callable[[str], None] = print_line,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stack = stack
        self.policy = policy or Backoff()
        self.say = say
        self.clock = clock
        self.restarts: dict[str, int] = {}
        self._held: dict[str, float] = {}
        now = clock()
        self._children = {name: _Child(Run(started_at=now)) for name in stack.children()}

    def hold(self, name: str, seconds: float) -> None:
        """Keep ``name`` down for ``seconds`` from now if it dies (the chaos command's long
        broker outage); call it before killing the child."""
        self._held[name] = self.clock() + seconds

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.is_set():
            self.check(stop)
            stop.wait(interval)

    def check(self, stop: threading.Event | None = None) -> None:
        """One look at every child: note the dead, restart those whose time has come."""
        for name, child in self._children.items():
            if stop is not None and stop.is_set():
                return
            now = self.clock()
            if child.pending is None:
                code = self.stack.exit_status(name)
                if code is not None:
                    child.pending = plan_restart(
                        self.policy, child.run, now, self._held.pop(name, 0.0)
                    )
                    self.say(
                        f"{name} died ({describe_exit(code)}); restarting in"
                        f" {child.pending.delay_s:.1f}s (attempt {child.pending.attempt})"
                    )
            elif self.stack.exit_status(name) is None:  # started again by someone else
                child.run, child.pending = Run(now, child.pending.attempt), None
                self.say(f"{name} is running again (pid {self.stack.pid(name)})")
            elif now >= child.pending.at:
                self._restart(name, child, child.pending)

    def _restart(self, name: str, child: _Child, plan: Restart) -> None:
        child.run = Run(started_at=self.clock(), attempt=plan.attempt, failures=plan.failures)
        child.pending = None
        try:
            self.stack.restart(name)
        except Exception as exc:  # a start that fails is another quick death
            child.pending = plan_restart(self.policy, child.run, self.clock())
            first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
            self.say(
                f"{name} did not start ({first_line}); restarting in"
                f" {child.pending.delay_s:.1f}s (attempt {child.pending.attempt})"
            )
            return
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.say(f"{name} restarted (pid {self.stack.pid(name)}, attempt {plan.attempt})")
