"""Outbox retention against a real PostgreSQL and broker: what is kept, what is pruned,
what is queued again for a new broker, and the groups' committed offsets read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.admin import committed_offsets
from shared.bus.publisher import KafkaPublisher
from shared.contracts.messages import OutgoingMessage
from shared.db.engine import make_engine
from shared.db.migrate import migrate
from shared.db.outbox import OutboxRelay, RelaySettings, adopt_broker, write_outbox
from shared.recovery import prune_once
from tests.support.kafka import Bus, create_topics, produce

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SCHEMA = "retention"


@pytest.fixture
async def engine(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    migrations = tmp_path / "retention" / "migrations"
    migrations.mkdir(parents=True)
    eng = make_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"), SCHEMA)
    await migrate(eng, SCHEMA, migrations)
    yield eng
    await eng.dispose()


async def _published_rows(engine: AsyncEngine, rows: list[tuple[str, str, int, int, int]]) -> None:
    """(event id, topic, partition, offset, published seconds ago)"""
    async with engine.begin() as conn:
        await write_outbox(conn, [OutgoingMessage(r[0], r[1], "k", b"v") for r in rows])
        for event_id, _topic, partition, offset, ago in rows:
            await conn.execute(
                text(
                    "UPDATE outbox SET published_at = now() - make_interval(secs => :ago),"
                    " kafka_partition = :p, kafka_offset = :o WHERE event_id = :id"
                ),
                {"ago": ago, "p": partition, "o": offset, "id": event_id},
            )


async def _ids(engine: AsyncEngine, where: str = "true") -> set[str]:
    async with engine.connect() as conn:
        return {
            r[0] for r in await conn.execute(text(f"SELECT event_id FROM outbox WHERE {where}"))
        }


async def test_rows_are_pruned_only_past_the_window_and_below_every_readers_offset(
    engine: AsyncEngine, kafka_bootstrap: str
) -> None:
    await _published_rows(
        engine,
        [
            ("read-old", "t", 0, 3, 700),  # read by everyone, past the window: goes
            ("unread-old", "t", 0, 9, 700),  # past the window, not read yet: stays
            ("read-new", "t", 1, 1, 10),  # read, but inside the window: stays
            ("nobody-reads-old", "u", 0, 5, 700),  # no reading group, past the window: goes
            ("ancient", "t", 1, 50, 700_000),  # past the maximum: goes whatever was read
        ],
    )
    relay = OutboxRelay(
        engine, KafkaPublisher(kafka_bootstrap, client_id="t"), RelaySettings(retain_s=600)
    )
    deleted = await relay.prune_once({("t", 0): 5, ("t", 1): 4}, ["u"])
    assert deleted == 3
    assert await _ids(engine) == {"unread-old", "read-new"}


async def test_a_new_broker_queues_every_retained_row_again_and_the_same_one_nothing(
    engine: AsyncEngine,
) -> None:
    await _published_rows(engine, [("a", "t", 0, 1, 5), ("b", "t", 1, 2, 5)])
    async with engine.begin() as conn:
        assert await adopt_broker(conn, "c1") == (None, 0)  # first broker: adopted, no requeue
    async with engine.begin() as conn:
        assert await adopt_broker(conn, "c1") == ("c1", 0)  # same broker again: nothing
    assert await _ids(engine, "published_at IS NULL") == set()
    async with engine.begin() as conn:
        assert await adopt_broker(conn, "c2") == ("c1", 2)  # a new broker: both again
    assert await _ids(engine, "published_at IS NULL") == {"a", "b"}


async def test_an_acknowledgement_from_a_replaced_broker_does_not_mark_the_row(
    engine: AsyncEngine, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"retention.{unique}"
    await create_topics(kafka_bootstrap, topic, partitions=1)
    async with engine.begin() as conn:
        await adopt_broker(conn, "c2")
        await write_outbox(conn, [OutgoingMessage("late", topic, "k", b"v")])
    publisher = KafkaPublisher(kafka_bootstrap, client_id="t")
    await publisher.start()
    try:
        relay = OutboxRelay(
            engine, publisher, RelaySettings(grace_s=0), cluster_of=lambda: "c1"
        )  # this process still believes it publishes to c1
        assert await relay.sweep_once() == 1
        assert await _ids(engine, "published_at IS NULL") == {"late"}  # swept again later
    finally:
        await publisher.stop()


async def test_committed_offsets_are_read_per_partition(kafka_bootstrap: str, unique: str) -> None:
    topic, group = f"offsets.{unique}", f"g-{unique}"
    await create_topics(kafka_bootstrap, topic, partitions=2)
    await produce(kafka_bootstrap, topic, [(b"k1", b"v"), (b"k2", b"v"), (b"k3", b"v")])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): 1})
    finally:
        await consumer.stop()
    assert await committed_offsets(kafka_bootstrap, group, [topic, "no-such-topic"]) == {
        (topic, 0): 1,
        (topic, 1): None,
    }


async def test_under_a_prefix_rows_are_pruned_by_what_the_prefixed_group_read(
    engine: AsyncEngine, bus: Bus
) -> None:
    """The outbox and ``readers`` name the topic ``t`` and the group ``g``; on the broker they
    are ``<prefix>t`` and ``<prefix>g`` (``LEADFLOW_TOPIC_PREFIX``)."""
    await create_topics(bus.bootstrap, bus.topic("t"), partitions=1)
    await bus.produce("t", [(b"k", b"v")] * 3)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bus.bootstrap, group_id=bus.group("g"), enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(bus.topic("t"), 0)])
        await consumer.commit({TopicPartition(bus.topic("t"), 0): 2})
    finally:
        await consumer.stop()
    await _published_rows(engine, [("read", "t", 0, 1, 700), ("unread", "t", 0, 2, 700)])
    relay = OutboxRelay(
        engine, KafkaPublisher(bus.bootstrap, client_id="t"), RelaySettings(retain_s=600)
    )
    assert await prune_once(relay, bus.bootstrap, {"t": ("g",)}, bus.prefix) == 1
    assert await _ids(engine) == {"unread"}
