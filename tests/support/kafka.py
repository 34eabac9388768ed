"""Reading topics the way a sales tool would (a plain aiokafka consumer, JSON values), and
a test's place on the session's shared broker (:class:`Bus`: its bootstrap and its own topic
prefix, so tests never see each other's records)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.envelope import Event, new_event_id
from shared.contracts.topics import consumer_group_id, topic_name
from tests.support.events import record


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


@dataclass(frozen=True)
class Bus:
    """A broker and the prefix (``LEADFLOW_TOPIC_PREFIX``) this test's services use on it:
    their topics and consumer groups are this test's alone. Topics are named here by their
    contract names (``LEAD_SCORED``, ``Event.TOPIC``), groups by the service's name."""

    bootstrap: str
    prefix: str = ""

    def topic(self, name: str) -> str:
        return topic_name(name, self.prefix)

    def group(self, name: str) -> str:
        """A consuming service's group id on the broker."""
        return consumer_group_id(name, self.prefix)

    def reader(self, *topics: str) -> TopicReader:
        return TopicReader(self.bootstrap, *(self.topic(t) for t in topics))

    async def produce(self, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        await produce(self.bootstrap, self.topic(topic), items)

    async def send(
        self,
        event: Event,
        *,
        source: str = "test",
        event_id: str | None = None,
        correlationid: str | None = None,
        key: str = "",
    ) -> str:
        """Produce one event to its topic as its producing service would; its event id."""
        eid = event_id or new_event_id()
        await self.produce(
            event.TOPIC,
            [record(event, source=source, event_id=eid, correlationid=correlationid, key=key)],
        )
        return eid

    async def delete_topics(self) -> None:
        """Delete this prefix's topics, so that the shared broker stays as small as a fresh
        one: every metadata request (each service's broker watch asks twice a second) costs
        the broker time in proportion to all the topics it holds."""
        if not self.prefix:
            raise ValueError("refusing to delete the topics of a bus without a prefix")
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="leadflow-test")
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if t.startswith(self.prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()

    @property
    def settings(self) -> dict[str, Any]:
        """The ``ServiceSettings`` fields that put a service on this bus."""
        return {"kafka_bootstrap": self.bootstrap, "topic_prefix": self.prefix}

    @property
    def env(self) -> dict[str, str]:
        """The same for a service process (``leadflow run``)."""
        return {"LEADFLOW_KAFKA_BOOTSTRAP": self.bootstrap, "LEADFLOW_TOPIC_PREFIX": self.prefix}
