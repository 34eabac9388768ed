"""When ``leadflow up`` restarts a child process that died, and how long it waits first.

Pure rules over plain numbers (times are seconds on any monotonic clock, passed in), so the
schedule is unit-tested alone; :mod:`leadflow.watchdog` applies them to real processes.

- A child that dies while ``leadflow up`` is not stopping is always restarted: PostgreSQL,
  the broker, the services and the demo receiver alike. Nothing gives up: everything else
  depends on these processes, and the printed line tells the user why it keeps trying.
- The first restart after a healthy run waits ``first_s``; each death that follows before
  the child stayed up ``stable_s`` doubles the wait, up to ``max_s``. A child that crashes on
  start (a port taken, a broken data directory) is then retried a few times a minute instead
  of in a tight loop that would flood the logs and the CPU; a child that stayed up
  ``stable_s`` starts the schedule again from ``first_s``.
- A restart can be held off until a given time (the chaos command keeps the broker down
  for a while that way); the back-off still applies if it is longer.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """The restart schedule: ``first_s``, doubled per quick death, at most ``max_s``."""

    first_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0
    stable_s: float = 30.0  # up at least this long: the next death starts again from first_s


@dataclass(frozen=True)
class Run:
    """One start of a child: when it started, its start number, and the quick deaths before."""

    started_at: float
    attempt: int = 1  # 1 = the first start
    failures: int = 0  # deaths in a row, each before the child had stayed up stable_s


@dataclass(frozen=True)
class Restart:
    """What to do after a death: start again at ``at``, as start number ``attempt``."""

    at: float
    delay_s: float
    attempt: int
    failures: int


def plan_restart(policy: Backoff, run: Run, died_at: float, hold_until: float = 0.0) -> Restart:
    """The restart after ``run`` ended at ``died_at`` (also used when a start itself fails:
    then ``died_at`` is the failed start's time and the run lasted no time at all)."""
    stayed_up = died_at - run.started_at >= policy.stable_s
    failures = 1 if stayed_up else run.failures + 1
    delay = min(policy.max_s, policy.first_s * policy.factor ** (failures - 1))
    at = max(died_at + delay, hold_until)
    return Restart(at=at, delay_s=at - died_at, attempt=run.attempt + 1, failures=failures)


def describe_exit(returncode: int) -> str:
    """``SIGKILL``, ``exit code 1``: how a child ended, from ``Popen.returncode``."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"
