"""Publishing records to Kafka: keyed by lead id, acks=all, batched.

``publish`` answers where each record landed (partition, offset), so the outbox can keep
published events until every consuming group has read past them (see ``shared.db.outbox``).
A publisher may be given a *gate*: an awaitable that holds publishing back while the broker
is known to be new and its topics are not re-created yet (see ``shared.bus.watch``), so a
record never lands in a topic the broker made up on the fly.

Messages name their topic by its contract name (``Event.TOPIC``; that is what the outbox
keeps); the publisher sends it to that name under the deployment's ``topic_prefix``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaProducer

from shared.contracts.messages import OutgoingMessage, Placement
from shared.contracts.topics import topic_name
from shared.observability import metrics
from shared.retry import retry

log = logging.getLogger(__name__)


class KafkaPublisher:
    """aiokafka producer with acks=all; ``publish`` returns once every record is acknowledged."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str,
        idempotence: bool = False,
        gate: Callable[[], Awaitable[None]] | None = None,
        topic_prefix: str = "",
    ) -> None:
        self._prefix = topic_prefix
        self._options = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": idempotence,
            "linger_ms": 1,
            "max_batch_size": 256 * 1024,
            "request_timeout_ms": 15_000,
        }
        self._producer: AIOKafkaProducer | None = None
        self._started = asyncio.Event()
        self._start_task: asyncio.Task[None] | None = None
        self._gate = gate

    @property
    def ready(self) -> bool:
        return self._started.is_set()

    def start_in_background(self) -> None:
        """Connect, retrying until the broker answers, without blocking start-up."""
        self._start_task = asyncio.create_task(self._connect_forever(), name="producer-connect")

    async def start(self) -> None:
        """Connect; a failed attempt closes its producer, so nothing is left unclosed."""
        producer = AIOKafkaProducer(**self._options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        self._started.set()

    async def _connect_forever(self) -> None:
        await retry(self.start, what="Kafka not reachable yet")

    async def publish(self, messages: Sequence[OutgoingMessage]) -> list[Placement]:
        """Send and wait until every record is acknowledged; answer where each landed."""
        if not self._started.is_set():
            await asyncio.wait_for(self._started.wait(), timeout=15)
        if self._gate is not None:
            await asyncio.wait_for(self._gate(), timeout=15)
        assert self._producer is not None
        futures = [
            await self._producer.send(
                topic_name(m.topic, self._prefix),
                m.value,
                key=m.key.encode(),
                headers=list(m.headers),
            )
            for m in messages
        ]
        placed = [Placement(md.partition, md.offset) for md in await asyncio.gather(*futures)]
        if placed:
            metrics.last_publish.set(time.time())
        return placed

    async def stop(self) -> None:
        if self._start_task is not None:
            self._start_task.cancel()
            with contextlib.suppress(BaseException):
                await self._start_task
        if self._producer is not None:
            await self._producer.stop()
