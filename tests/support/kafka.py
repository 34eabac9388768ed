"""Reading topics the way a sales tool would: a plain aiokafka consumer, JSON values."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


class TopicReader:
    """Every record of some topics from the start; ``wait_for`` polls until a deadline."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )
        self.records: list[dict[str, Any]] = []
        self.raw: list[Any] = []

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def poll(self) -> None:
        batches = await self._consumer.getmany(timeout_ms=50)
        for recs in batches.values():
            for rec in recs:
                self.raw.append(rec)
                try:
                    self.records.append(orjson.loads(rec.value))
                except orjson.JSONDecodeError:
                    self.records.append({"_raw": rec.value})

    async def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 20.0,
        what: str = "records",
    ) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.records):
            if loop.time() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; have {len(self.records)}"
                )
            await self.poll()
        return self.records


async def produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in items:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    from shared.bus.admin import ensure_topics

    await ensure_topics(bootstrap, topics, partitions)
