"""Topic creation: idempotent, so every service and ``leadflow up`` can call it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], partitions: int = 6, replication: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="leadflow-admin")
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=replication)
                     for t in missing]
                )  # fmt: skip
            except TopicAlreadyExistsError:
                pass  # another replica won the race
        return missing
    finally:
        await admin.close()


async def ensure_topics_with_retry(
    bootstrap: str, topics: Iterable[str], partitions: int, replication: int, timeout: float
) -> list[str]:
    deadline = asyncio.get_running_loop().time() + timeout
    wanted = list(topics)
    while True:
        try:
            return await ensure_topics(bootstrap, wanted, partitions, replication)
        except (KafkaError, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("cannot create topics yet (%s); retrying", exc)
            await asyncio.sleep(0.5)
