"""The one shape of a background job: run a round, wait, again, forever.

Every periodic job of a service (firing due timers, re-scoring, purging, measuring) is a
:class:`Job` declared in the service's ``jobs.py`` and listed in its ``main.py``; the runtime
starts each as a task after migrations and cancels it on shutdown. A failed round is logged
and the next one comes after the interval, so an outage (PostgreSQL down) is waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Job(Generic[T]):
    """``run_once(arg)`` every ``every`` seconds.

    ``run_once`` returns True when there may be more to do right away (it stopped at its
    claim limit): the next round then runs at once, so a backlog after a restart is caught
    up without waiting a tick per claim. With ``wakeup``, setting the event starts the next
    round before the interval is over (work was just scheduled). ``wait_first`` waits one
    interval before the first round (housekeeping that has nothing to do at start).
    """

    name: str
    every: float
    run_once: Callable[[T], Awaitable[bool | None]]
    wakeup: asyncio.Event | None = None
    wait_first: bool = False

    async def run_forever(self, arg: T) -> None:
        if self.wait_first:
            await self._pause()
        while True:
            if self.wakeup is not None:
                self.wakeup.clear()  # before the round: work scheduled meanwhile wakes the next
            try:
                again = await self.run_once(arg)
            except Exception:
                log.warning("%s failed; retrying in %.1fs", self.name, self.every, exc_info=True)
                again = False
            if not again:
                await self._pause()

    async def _pause(self) -> None:
        if self.wakeup is None:
            await asyncio.sleep(self.every)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.wait(), timeout=self.every)
