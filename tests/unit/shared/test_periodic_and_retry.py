"""The one periodic job and the one back-off loop: what they promise their callers."""

from __future__ import annotations

import asyncio

import pytest

from shared.periodic import Job
from shared.retry import retry


async def _run_for(job: Job[list[str]], seconds: float) -> list[str]:
    seen: list[str] = []
    task = asyncio.create_task(job.run_forever(seen))
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return seen


async def test_a_job_runs_at_start_then_waits_its_interval() -> None:
    async def run_once(seen: list[str]) -> None:
        seen.append("round")

    assert len(await _run_for(Job("j", 10, run_once), 0.05)) == 1


async def test_a_job_that_waits_first_does_nothing_at_start() -> None:
    async def run_once(seen: list[str]) -> None:
        seen.append("round")

    assert await _run_for(Job("j", 0.2, run_once, wait_first=True), 0.1) == []


async def test_a_failed_round_is_retried_after_the_interval_not_the_end_of_the_job() -> None:
    async def run_once(seen: list[str]) -> None:
        seen.append("round")
        raise RuntimeError("database down")

    assert len(await _run_for(Job("j", 0.01, run_once), 0.2)) >= 3


async def test_a_round_that_hit_its_limit_goes_again_at_once() -> None:
    async def run_once(seen: list[str]) -> bool:
        seen.append("round")
        return len(seen) < 5  # a backlog of five claims

    assert len(await _run_for(Job("j", 10, run_once), 0.05)) == 5


async def test_a_wakeup_starts_the_next_round_before_the_interval() -> None:
    wakeup = asyncio.Event()

    async def run_once(seen: list[str]) -> None:
        seen.append("round")

    seen: list[str] = []
    task = asyncio.create_task(Job("j", 10, run_once, wakeup=wakeup).run_forever(seen))
    await asyncio.sleep(0.01)
    wakeup.set()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(seen) == 2


async def test_retry_waits_out_transient_failures_longer_each_time() -> None:
    attempts: list[float] = []
    loop = asyncio.get_running_loop()

    async def action() -> str:
        attempts.append(loop.time())
        if len(attempts) < 3:
            raise OSError("refused")
        return "up"

    assert await retry(action, what="down", first=0.01, factor=2) == "up"
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02


async def test_retry_raises_what_is_not_transient_at_once() -> None:
    calls = 0

    async def action() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        await retry(action, what="down", transient=lambda e: isinstance(e, OSError))
    assert calls == 1


async def test_retry_gives_up_after_its_deadline() -> None:
    async def action() -> None:
        raise OSError("refused")

    with pytest.raises(OSError):
        await retry(action, what="down", first=0.01, factor=1, give_up_after=0.05)
