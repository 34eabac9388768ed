"""Topics and consumer groups: creation (idempotent, so every service and ``leadflow up`` can
call it), the groups' committed offsets, and no topic ever made up by the broker."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterable

import aiokafka.client
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest

from shared.retry import retry

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
    wanted = list(topics)
    return await retry(
        lambda: ensure_topics(bootstrap, wanted, partitions, replication),
        what="cannot create topics yet",
        transient=lambda exc: isinstance(exc, KafkaError | OSError),
        first=0.5,
        factor=1.0,
        give_up_after=timeout,
    )


def forbid_topic_auto_creation() -> None:
    """Make this process's Kafka clients ask for metadata without ``allow_auto_topic_creation``.

    aiokafka asks brokers to create any unknown topic it looks up, and the embedded broker
    does, with 4 partitions. After a broker restart, a producer or consumer refreshing its
    metadata would so re-create our topics before the service does, with the wrong partition
    count (keys would map to other partitions: a lead's events out of order). Topics are
    created only by :func:`ensure_topics`; publishing to a missing one fails and is retried.
    aiokafka has no option for this, so its request class is wrapped, once per process, by
    the process entry (``leadflow run``), not by code that may share a process with others.
    """
    current = aiokafka.client.MetadataRequest
    if isinstance(current, functools.partial):
        return
    aiokafka.client.MetadataRequest = functools.partial(
        MetadataRequest, allow_auto_topic_creation=False
    )


async def committed_offsets(
    bootstrap: str, group: str, topics: Iterable[str]
) -> dict[tuple[str, int], int | None]:
    """The offsets ``group`` has committed on every partition of ``topics`` (None where it
    has committed nothing). Read through a consumer client that joins nothing: the embedded
    broker answers its OffsetFetch, not the admin client's."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="leadflow-offsets",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        known = await consumer.topics()
        out: dict[tuple[str, int], int | None] = {}
        for topic in topics:
            if topic not in known:
                continue
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                out[(topic, partition)] = await consumer.committed(TopicPartition(topic, partition))
        return out
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
