"""The bus against a real broker and a real PostgreSQL: batch apply, dedupe, DLQ, relay."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import text

from shared.bus.consumer import BatchConsumer, ConsumerSettings
from shared.bus.publisher import KafkaPublisher
from shared.bus.settling import Settling
from shared.contracts.envelope import Envelope, Event, encode
from shared.contracts.messages import to_message
from shared.contracts.topics import dead_letter_topic
from shared.db.engine import make_engine
from shared.db.migrate import migrate
from shared.db.outbox import OutboxRelay, RelaySettings
from shared.db.uow import UnitOfWork
from tests.support.kafka import TopicReader, create_topics, produce
from tests.support.waits import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SCHEMA = "bustest"


def event_classes(unique: str) -> tuple[type[Event], type[Event]]:
    """An input and an output event type on this test's own topics."""

    class Pinged(Event):
        TYPE: ClassVar[str] = "test.pinged.v1"
        TOPIC: ClassVar[str] = f"test.{unique}.in"
        n: int
        poison: bool = False

    class Ponged(Event):
        TYPE: ClassVar[str] = "test.ponged.v1"
        TOPIC: ClassVar[str] = f"test.{unique}.out"
        n: int

    return Pinged, Ponged


@pytest.fixture
async def engine(database_url: str, tmp_path: Path) -> AsyncIterator[object]:
    migrations = tmp_path / "bustest" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "0001_applied.sql").write_text(
        "CREATE TABLE applied (event_id text PRIMARY KEY, lead_id text NOT NULL, n int NOT NULL);"
    )
    url = database_url.replace("postgresql://", "postgresql+asyncpg://")
    eng = make_engine(url, SCHEMA)
    await migrate(eng, SCHEMA, migrations)
    yield eng
    await eng.dispose()


class Harness:
    def __init__(self, engine, bootstrap: str, unique: str) -> None:
        self.Pinged, self.Ponged = event_classes(unique)
        self.group = f"g{unique}"
        self.engine = engine
        self.bootstrap = bootstrap
        self.publisher = KafkaPublisher(bootstrap, client_id="test")
        self.relay = OutboxRelay(engine, self.publisher, RelaySettings(interval_s=0.2, grace_s=0.5))
        self.consumer: BatchConsumer | None = None
        self.batch_delay_s = 0.0  # a slow handler: each batch takes at least this long

    async def handle(self, uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
        await asyncio.sleep(self.batch_delay_s)
        for env in envelopes:
            assert isinstance(env.data, self.Pinged)
            data: Any = env.data
            if data.poison:
                raise ValueError(f"cannot handle n={data.n}")
            await uow.conn.execute(
                text("INSERT INTO applied (event_id, lead_id, n) VALUES (:e, :l, :n)"),
                {"e": env.id, "l": data.lead_id, "n": data.n},
            )
            uow.emit(self.Ponged(lead_id=data.lead_id, n=data.n), causationid=env.id)

    async def start(self, settling: Settling | None = None, max_batch: int = 500) -> None:
        await self.publisher.start()
        self.relay.start()
        self.start_consumer(settling, max_batch)

    def start_consumer(self, settling: Settling | None = None, max_batch: int = 500) -> None:
        self.consumer = BatchConsumer(
            ConsumerSettings(
                self.group,
                (self.Pinged.TOPIC,),
                self.bootstrap,
                max_attempts=2,
                max_batch=max_batch,
                settling=settling,
            ),  # fmt: skip
            engine=self.engine,
            source="bustest",
            handle=self.handle,
            relay=self.relay,
            dead_letters=self.publisher,
            registry={self.Pinged.TYPE: self.Pinged},
        )
        self.consumer.start()

    async def stop(self) -> None:
        if self.consumer:
            await self.consumer.stop()
        await self.relay.stop()
        await self.publisher.stop()

    def record(self, n: int, lead: str = "lead-1", poison: bool = False, eid: str | None = None):
        event_id, value = encode(
            self.Pinged(lead_id=lead, n=n, poison=poison), source="test", event_id=eid
        )
        return event_id, (lead.encode(), value)


@pytest.fixture
async def harness(engine, kafka_bootstrap: str, unique: str) -> AsyncIterator[Harness]:
    h = Harness(engine, kafka_bootstrap, unique)
    await create_topics(kafka_bootstrap, h.Pinged.TOPIC, h.Ponged.TOPIC, dead_letter_topic(h.group))
    yield h
    await h.stop()


async def applied_rows(engine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT lead_id, n FROM applied ORDER BY n"))
        return [(r[0], r[1]) for r in rows]


async def test_applies_each_event_once_and_publishes_what_it_emits(harness: Harness) -> None:
    items = [harness.record(n, lead=f"lead-{n % 7}")[1] for n in range(200)]
    await produce(harness.bootstrap, harness.Pinged.TOPIC, items)
    await harness.start()
    async with TopicReader(harness.bootstrap, harness.Ponged.TOPIC) as out:
        await out.wait_for(lambda r: len(r) >= 200, what="200 pongs")
    assert sorted(n for _, n in await applied_rows(harness.engine)) == list(range(200))
    ns = [r["data"]["n"] for r in out.records]
    assert sorted(ns) == list(range(200))
    # per-lead order is kept: pongs of one lead come out in the order the pings went in
    for lead in range(7):
        mine = [r["data"]["n"] for r in out.records if r["subject"] == f"lead-{lead}"]
        assert mine == sorted(mine)


async def test_redelivered_events_are_skipped_by_the_inbox(harness: Harness) -> None:
    first_id, first = harness.record(1)
    _, second = harness.record(2)
    # the same event delivered three times (producer retry, rebalance, relay re-publish)
    await produce(harness.bootstrap, harness.Pinged.TOPIC, [first, first, second, first])
    await harness.start()
    await eventually(lambda: _count(harness.engine, 2), timeout=15, what="2 applied")
    await asyncio.sleep(0.5)
    assert await applied_rows(harness.engine) == [("lead-1", 1), ("lead-1", 2)]


async def test_events_applied_before_a_crash_are_not_applied_again(harness: Harness) -> None:
    """A crash after the DB commit but before the offset commit redelivers the batch."""
    eid, first = harness.record(1)
    _, second = harness.record(2)
    async with harness.engine.begin() as conn:  # what the crashed run had committed
        await conn.execute(
            text("INSERT INTO inbox (consumer, event_id) VALUES (:c, :e)"),
            {"c": harness.group, "e": eid},
        )
    await produce(harness.bootstrap, harness.Pinged.TOPIC, [first, second])
    await harness.start()
    await eventually(lambda: _count(harness.engine, 1), timeout=15, what="1 applied")
    await asyncio.sleep(0.5)
    assert await applied_rows(harness.engine) == [("lead-1", 2)]


async def test_poison_goes_to_the_dead_letter_topic_without_blocking(harness: Harness) -> None:
    items = [
        harness.record(1)[1],
        (b"lead-1", b"{not json"),
        harness.record(2, poison=True)[1],
        harness.record(3)[1],
    ]
    await produce(harness.bootstrap, harness.Pinged.TOPIC, items)
    await harness.start()
    async with TopicReader(harness.bootstrap, dead_letter_topic(harness.group)) as dlq:
        await dlq.wait_for(lambda r: len(r) >= 2, what="2 dead letters")
    await eventually(lambda: _count(harness.engine, 2), timeout=15, what="2 applied")
    assert [n for _, n in await applied_rows(harness.engine)] == [1, 3]
    errors = sorted(dict(rec.headers)["dlq-error"].decode() for rec in dlq.raw)
    assert errors[0].startswith("ValueError: cannot handle n=2")
    assert errors[1].startswith("value is not JSON")
    original = {dict(rec.headers)["dlq-original-topic"].decode() for rec in dlq.raw}
    assert original == {harness.Pinged.TOPIC}


async def test_relay_publishes_outbox_rows_left_unsent(harness: Harness) -> None:
    """Rows committed while Kafka was unreachable (or before a crash) go out on the sweep."""
    async with UnitOfWork(harness.engine, "bustest") as uow:
        for n in range(5):
            uow.emit(harness.Ponged(lead_id="lead-x", n=n))
        await uow.commit()  # committed, but never handed to the relay
    await harness.publisher.start()
    harness.relay.start()
    async with TopicReader(harness.bootstrap, harness.Ponged.TOPIC) as out:
        await out.wait_for(lambda r: len(r) >= 5, what="5 swept messages")
    # The sweep marks the rows in the transaction that published them: it may commit just
    # after the records are readable.
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with harness.engine.connect() as conn:
            left = (
                await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            ).scalar_one()
        if left == 0 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert left == 0


async def _count(engine, n: int) -> bool:
    return len(await applied_rows(engine)) >= n


def test_to_message_keys_by_lead_id(unique: str) -> None:
    pinged, _ = event_classes(unique)
    msg = to_message(pinged(lead_id="abc", n=1), source="test")
    assert (msg.key, msg.topic) == ("abc", pinged.TOPIC)


async def test_inbox_forgets_ids_past_the_dedupe_window(harness: Harness) -> None:
    from shared.db.inbox import purge_old

    async with harness.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO inbox (consumer, event_id, processed_at) VALUES"
                " ('g', 'old', now() - interval '8 days'), ('g', 'new', now())"
            )
        )
        assert await purge_old(conn, keep_days=7) == 1
        left = await conn.execute(text("SELECT event_id FROM inbox WHERE consumer = 'g'"))
        assert [r[0] for r in left] == ["new"]


async def test_a_settling_consumer_applies_once_the_stream_goes_quiet(harness: Harness) -> None:
    """Insights' way: leave events on the broker while they keep coming, apply them after."""
    await harness.start(Settling(quiet_s=5.0, max_hold_s=120, max_held=10_000))
    assert harness.consumer is not None
    await eventually(lambda: _assigned(harness.consumer), timeout=30, what="partitions assigned")
    for burst in range(8):
        await produce(
            harness.bootstrap,
            harness.Pinged.TOPIC,
            [harness.record(burst * 10 + i)[1] for i in range(10)],
        )
        await asyncio.sleep(0.3)
        assert await applied_rows(harness.engine) == [], "applied while events kept coming"
    await eventually(lambda: _count(harness.engine, 80), timeout=30, what="80 applied")
    assert [n for _, n in await applied_rows(harness.engine)] == list(range(80))


async def test_a_catch_up_gives_way_when_events_come_again(harness: Harness) -> None:
    """A drain begun because the stream went quiet stops at the next batch when leads come
    again, and finishes in the next quiet."""
    harness.batch_delay_s = 0.25  # 60 events, 5 a batch: a catch-up of 3 s at least
    await harness.start(Settling(quiet_s=1.0, max_hold_s=600, max_held=10_000), max_batch=5)
    assert harness.consumer is not None
    await eventually(lambda: _assigned(harness.consumer), timeout=30, what="partitions assigned")
    for n in range(60):  # one batch each: on the embedded broker ends count batches
        await produce(harness.bootstrap, harness.Pinged.TOPIC, [harness.record(n)[1]])
    await eventually(lambda: _count(harness.engine, 1), timeout=30, what="the catch-up begun")
    await produce(harness.bootstrap, harness.Pinged.TOPIC, [harness.record(60)[1]])
    await asyncio.sleep(0.6)  # the batch in hand finishes; no other starts
    paused_at = len(await applied_rows(harness.engine))
    await asyncio.sleep(0.5)  # still less than the quiet time since the last event
    assert len(await applied_rows(harness.engine)) == paused_at < 60
    await eventually(lambda: _count(harness.engine, 61), timeout=30, what="the rest, in the quiet")
    assert [n for _, n in await applied_rows(harness.engine)] == list(range(61))


async def test_a_settling_consumer_waits_no_longer_than_its_limits(harness: Harness) -> None:
    """Under steady load the stream never goes quiet: the hold limit applies it anyway."""
    await harness.start(Settling(quiet_s=600, max_hold_s=1.0, max_held=10_000))
    await produce(harness.bootstrap, harness.Pinged.TOPIC, [harness.record(1)[1]])
    await eventually(lambda: _count(harness.engine, 1), timeout=20, what="waited past 1 s")


async def test_a_settling_consumer_lets_no_more_wait_than_its_limit(harness: Harness) -> None:
    await harness.start(Settling(quiet_s=600, max_hold_s=600, max_held=25))
    # One produce request each: the embedded broker (Tansu) puts a partition's end at its
    # last batch's first offset + 1, so only one record per batch counts every record.
    for n in range(25):
        await produce(harness.bootstrap, harness.Pinged.TOPIC, [harness.record(n)[1]])
    await eventually(lambda: _count(harness.engine, 25), timeout=20, what="25 waiting = the cap")


async def test_events_waiting_at_a_crash_are_applied_by_the_next_consumer(
    harness: Harness,
) -> None:
    """Only applied events' offsets are committed: a consumer killed while events waited
    for it leaves them for the next one, which applies each once."""
    await harness.start(Settling(quiet_s=600, max_hold_s=600, max_held=10_000))
    consumer = harness.consumer
    assert consumer is not None
    await eventually(lambda: _assigned(consumer), timeout=30, what="partitions assigned")
    items = [harness.record(n)[1] for n in range(20)]
    await produce(harness.bootstrap, harness.Pinged.TOPIC, items)
    await asyncio.sleep(2.0)  # several looks at the partitions' ends
    # a crash: the loop is gone and the client closes without committing anything
    assert consumer._task is not None and consumer._consumer is not None
    consumer._task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer._task
    await consumer._consumer.stop()
    assert await applied_rows(harness.engine) == []
    harness.start_consumer()  # the next consumer of the group, applying at once
    await eventually(lambda: _count(harness.engine, 20), timeout=30, what="20 applied")
    await asyncio.sleep(0.5)
    assert [n for _, n in await applied_rows(harness.engine)] == list(range(20))


async def _assigned(consumer: BatchConsumer | None) -> bool:
    """The group gave the consumer its partitions (and a settling one has paused them)."""
    client = None if consumer is None else consumer._consumer
    if client is None or not client.assignment():
        return False
    settling = consumer is not None and consumer._s.settling is not None
    return not settling or client.paused() == client.assignment()
