"""The one clock: what time it is now (UTC), and the type of a function that says so.

Domain functions take the time as an argument; the edges (API, handlers, jobs) read it here,
and tests give handlers a fixed :data:`Clock` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
