"""Waiting for something to become true, with a deadline: every poll loop of the tests.

A test never sleeps for a fixed time hoping the system is done; it polls a check until it
holds or a deadline passes, and then fails saying what it waited for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[object]],
    timeout: float = 20.0,
    what: str = "condition",
    every: float = 0.05,
) -> None:
    """Until ``await check()`` is truthy; AssertionError naming ``what`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)
