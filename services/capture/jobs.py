"""Capture's own periodic jobs (the fetch jobs' are in :mod:`.sources.fetch_jobs`), and the
start-up check of its sources."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.capture.deps import CaptureRuntime, Deps
from services.capture.store import answers as answer_store
from services.capture.store import replays as replay_store
from shared import clock
from shared.config import ConfigError
from shared.periodic import Job
from shared.service import Resource

log = logging.getLogger(__name__)


async def purge_replays(runtime: CaptureRuntime) -> None:
    """Forget signed message ids once their timestamp could no longer pass the check."""
    removed = await replay_store.purge(runtime.engine, clock.now())
    if removed:
        log.info("purged %d replay id(s) past their window", removed)


PURGING_REPLAYS: Job[CaptureRuntime] = Job("replay purge", 60, purge_replays, wait_first=True)


async def purge_answers(runtime: CaptureRuntime) -> bool:
    """Forget stored answers past their window (Idempotency-Key 24 h, double submit 10 min),
    so the table holds only answers a retry may still ask for. A full round goes again."""
    async with runtime.engine.begin() as conn:
        removed = await answer_store.purge_answers(conn, clock.now())
    if removed:
        log.info("purged %d stored answer(s) past their window", removed)
    return removed >= answer_store.PURGE_LIMIT


PURGING_ANSWERS: Job[CaptureRuntime] = Job("answer purge", 60, purge_answers, wait_first=True)


def running_sources(error: ConfigError | None) -> Resource[Deps]:
    """The sources, checked at start: an invalid capture section stops the service here, a
    source that is not ready is logged; then the fetch jobs' HTTP client is open."""

    @asynccontextmanager
    async def run(runtime: CaptureRuntime) -> AsyncIterator[None]:
        if error is not None:
            raise error
        for source in runtime.deps.catalog.sources.by_name.values():
            if not source.ready:
                log.warning("source %s is not ready: %s", source.name, "; ".join(source.problems))
        async with runtime.deps.fetcher.running():
            yield

    return run
