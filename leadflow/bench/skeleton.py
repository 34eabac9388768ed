"""Ceiling: what the delivery mechanism alone costs, with no business logic at all.

Three hops of the services' own machinery (``shared.bus.BatchConsumer``: fetch, decode,
inbox claim, handler, outbox write, commit, publish), each handler only passing every event
on to the next topic, the last one only counting. The events are lead-sized (about the size
of a ``LeadScored``). Run in the bench's process on the same broker and PostgreSQL as the
services, it shows how much of a lead's cost is the exactly-once plumbing each hop pays
before any service does its own work: the CPU per event per hop of this process, the
broker and PostgreSQL, and the events per second three hops carry.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import asyncpg

from leadflow.bench import resources
from shared.bus.admin import ensure_topics
from shared.bus.consumer import BatchConsumer, ConsumerSettings
from shared.bus.publisher import KafkaPublisher
from shared.config import ServiceSettings
from shared.contracts.envelope import Envelope, Event
from shared.contracts.messages import to_message
from shared.db.engine import make_engine
from shared.db.migrate import migrate
from shared.db.outbox import OutboxRelay
from shared.db.uow import UnitOfWork

SCHEMA = "leadflow_bench_skeleton"
HOPS = 3
PADDING = "x" * 900  # a LeadScored with its lead profile is about 1.1 KB on the wire
WARM_UP = 100
CHUNK = 500  # events published per request, as capture's batch intake would


class _Hop(Event):
    seq: int
    padding: str


def _hop_events(run: str) -> tuple[type[_Hop], ...]:
    """One event type per hop, on topics of this run's own (a reused broker keeps old ones)."""

    def hop_event(i: int) -> type[_Hop]:
        class Hop(_Hop):
            TYPE: ClassVar[str] = f"io.leadflow.bench.skeleton-hop-{i}.v1"
            TOPIC: ClassVar[str] = f"leadflow.bench.skeleton-{run}-{i}"

        Hop.__name__ = f"SkeletonHop{i}"
        return Hop

    return tuple(hop_event(i) for i in range(HOPS))


class _Arrivals:
    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()

    def add(self, n: int) -> None:
        self.count += n
        self.changed.set()

    async def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count < count:
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"skeleton: {self.count} of {count} events came through")
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                continue


def _handler(hop: int, events: tuple[type[_Hop], ...], arrivals: _Arrivals) -> Any:
    async def handle(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
        if hop + 1 == HOPS:
            uow.after_commit(lambda: arrivals.add(len(envelopes)))
            return
        for env in envelopes:
            data = env.data
            assert isinstance(data, _Hop)
            uow.emit(events[hop + 1](lead_id=data.lead_id, seq=data.seq, padding=data.padding))

    return handle


async def pipeline_skeleton(
    bootstrap: str,
    database_url: str,
    events: int,
    partitions: int,
    watched: list[resources.Watched],
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Push ``events`` through three do-nothing hops; throughput and CPU per event per hop."""
    settings = ServiceSettings(database_url=database_url, kafka_bootstrap=bootstrap)
    engine = make_engine(settings.asyncpg_url, SCHEMA, pool_size=HOPS + 2)
    publisher = KafkaPublisher(bootstrap, client_id="bench-skeleton")
    relay = OutboxRelay(engine, publisher)
    arrivals = _Arrivals()
    run = uuid.uuid4().hex[:8]
    events_of = _hop_events(run)
    topics = [e.TOPIC for e in events_of]
    consumers = [
        BatchConsumer(
            ConsumerSettings(
                group=f"bench-skeleton-{hop}-{run}",
                topics=(topics[hop],),
                bootstrap=bootstrap,
                fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                session_timeout_ms=6000,
                heartbeat_interval_ms=1000,
            ),
            engine=engine,
            source="bench-skeleton",
            handle=_handler(hop, events_of, arrivals),
            relay=relay,
            dead_letters=publisher,
            registry={events_of[hop].TYPE: events_of[hop]},
        )
        for hop in range(HOPS)
    ]
    try:
        with tempfile.TemporaryDirectory() as empty:
            await migrate(engine, SCHEMA, Path(empty))
        await ensure_topics(bootstrap, topics, partitions)
        await publisher.start()
        relay.start()
        for consumer in consumers:
            consumer.start()
        await _push(publisher, events_of[0], WARM_UP)  # also waits out the groups' joins
        await arrivals.wait_for(WARM_UP, timeout)
        before = resources.sample(watched)
        started = time.time()
        await _push(publisher, events_of[0], events, first=WARM_UP)
        await arrivals.wait_for(WARM_UP + events, timeout)
        seconds = time.time() - started
        used = resources.cpu_used(before, resources.sample(watched))
    finally:
        for consumer in consumers:
            await consumer.stop()
        await relay.stop()
        await publisher.stop()
        await engine.dispose()
        await _drop_schema(database_url)
    per_hop_event = {
        name: round(1000 * u / (events * HOPS), 4)
        for name, u in used.items()
        if u is not None and name in ("bench", "broker", "postgres")
    }
    return {
        "hops": HOPS,
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1) if seconds > 0 else None,
        "cpu_ms_per_event_per_hop": per_hop_event,
        "cpu_ms_per_event_per_hop_total": round(sum(per_hop_event.values()), 4),
    }


async def _push(publisher: KafkaPublisher, event: type[_Hop], count: int, first: int = 0) -> None:
    for start in range(first, first + count, CHUNK):
        messages = [
            to_message(
                event(lead_id=str(uuid.uuid4()), seq=seq, padding=PADDING), source="bench-skeleton"
            )
            for seq in range(start, min(start + CHUNK, first + count))
        ]
        await publisher.publish(messages)


async def _drop_schema(database_url: str) -> None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        await conn.close()
