"""The one clock: what time it is now (UTC), and the type of a function that says so.

Domain functions take the time as an argument; the edges (API, handlers, jobs) read it here,
and tests give handlers a fixed :data:`Clock` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class FixedClock:
    """A clock that reads a set time until it is moved: a service given a fixed clock setting
    (e.g. the router's ``LEADFLOW_FIXED_CLOCK``) uses one, so tests and demos drive time
    (``advance``) instead of sleeping through real minutes."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a time zone")
        self._at = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Move to ``at`` (never back: timers already fired stay fired)."""
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a time zone")
        self._at = max(self._at, at.astimezone(UTC))

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta``; return the new time."""
        self.set(self._at + delta)
        return self._at
