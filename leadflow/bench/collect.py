"""Reading the pipeline's topics the way a sales tool would, stamping when each record came.

A plain aiokafka consumer (no group, ``fetch_max_wait_ms=5``) is started before any load,
positioned at the end of every partition, and reads the scored, decision and
notification topics for the whole bench. Each fetched batch is stamped with
``time.time()`` as it returns, before any parsing, and every event is folded into its
lead's :class:`~leadflow.bench.outcomes.LeadTrace` at once (only timestamps and ids are
kept, never whole events).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from leadflow.bench.outcomes import LeadTrace, observe
from shared.contracts import topics

log = logging.getLogger(__name__)

READ_TOPICS = (
    topics.LEAD_SCORED,
    topics.LEAD_ASSIGNED,
    topics.LEAD_ROUTED_TO_NURTURE,
    topics.NOTIFICATION_DELIVERED,
)


class TopicCollector:
    """Follows the topics from "now" on; ``traces`` grows as events arrive."""

    def __init__(self, bootstrap: str, fetch_max_wait_ms: int = 5, prefix: str = "") -> None:
        self._topics = [topics.topic_name(t, prefix) for t in READ_TOPICS]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=fetch_max_wait_ms,
        )
        self.traces: dict[str, LeadTrace] = {}
        self.decided: set[str] = set()
        self.records = 0
        self.undecodable = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        parts = []
        for topic in self._topics:
            found = self._consumer.partitions_for_topic(topic)
            deadline = time.monotonic() + 30
            while not found:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topic {topic} not found on the broker")
                await asyncio.sleep(0.2)
                await self._consumer.topics()  # refreshes the metadata
                found = self._consumer.partitions_for_topic(topic)
            parts += [TopicPartition(topic, p) for p in sorted(found)]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for tp in parts:  # resolve every position now, so nothing sent later is skipped
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._follow(), name="bench-topic-collector")

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            received = time.time()
            for records in batches.values():
                for record in records:
                    self.records += 1
                    try:
                        event = orjson.loads(record.value)
                    except orjson.JSONDecodeError:
                        self.undecodable += 1
                        continue
                    decided = observe(self.traces, event, received)
                    if decided is not None:
                        self.decided.add(decided)

    def check(self) -> None:
        """Raise the reader's error, if it stopped with one."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            exc = self._task.exception()
            if exc is not None:
                raise RuntimeError("the topic reader stopped") from exc

    async def wait_for(self, pending: Callable[[], int], deadline: float) -> int:
        """Poll until ``pending()`` is 0 or the deadline passes; return what is pending."""
        left = pending()
        while left and time.time() < deadline:
            self.check()
            await asyncio.sleep(0.05)
            left = pending()
        return left

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
