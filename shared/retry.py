"""The one back-off loop: try again, waiting longer each time, until it works.

Used wherever the service waits for a dependency to come back (PostgreSQL at start, the
broker for the producer, the consumer and topic creation, a batch hit by an outage): the
wait starts short (a restart is over in well under a second) and is capped (a long outage
is noticed within seconds of its end).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def always(_exc: Exception) -> bool:
    return True


async def retry(
    action: Callable[[], Awaitable[T]],
    *,
    what: str,
    transient: Callable[[Exception], bool] = always,
    first: float = 0.2,
    cap: float = 5.0,
    factor: float = 2.0,
    give_up_after: float | None = None,
) -> T:
    """``await action()`` until it returns; a ``transient`` failure is logged as ``what``
    and retried after ``first`` seconds, ``factor`` times longer each time up to ``cap``.
    Other failures, and a transient one after ``give_up_after`` seconds, are raised."""
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    delay = first
    while True:
        try:
            return await action()
        except Exception as exc:
            if not transient(exc) or (deadline is not None and loop.time() > deadline):
                raise
            log.warning("%s (%s); retrying in %.1fs", what, exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * factor, cap)
