"""Consume a batch, apply it in one transaction, then commit offsets; poison goes to the DLQ.

For each batch fetched from Kafka:

1. decode every record as a CloudEvent (undecodable ones are dead letters at once);
2. in ONE database transaction: claim the event ids in the inbox (redeliveries drop out),
   run the service's batch handler, write the emitted events to the outbox, commit;
3. the commit hands the events to the outbox relay (published right away);
4. commit the Kafka offsets (at most every ``commit_interval_s``, when idle, before a
   rebalance takes partitions away, and on shutdown).

A background consumer may be given a :class:`~shared.bus.settling.Settling` policy: it then
keeps its partitions paused while events flow, watching their ends, and drains and applies
what is waiting once the stream goes quiet (or the oldest waiting event has waited long
enough), so its work does not compete with the latency path's while leads flow.

A crash anywhere before step 4 redelivers the batch, and the inbox makes that harmless.

With a :class:`~shared.bus.watch.BrokerWatch`, the consumer fetches only while the broker is
settled, and reconnects (a new client, no offsets carried over) when the watch has moved to
a new broker: offsets of the old broker mean nothing on the new one, whose log starts again
from 0 and holds the republished events, which the inbox skips where already applied.
If the batch handler raises, the batch is retried one event at a time so one poison
message cannot block its partition: an event that still fails after ``max_attempts`` goes
to ``leadflow.dlq.<group>`` with the error in its headers. Database or network outages are
not poison: the batch is retried with backoff until the dependency is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.erasure import live_events
from shared.bus.settling import Backlog, Settling
from shared.bus.watch import BrokerWatch
from shared.contracts import EVENT_TYPES
from shared.contracts.envelope import Envelope, EnvelopeError, Event, decode
from shared.contracts.messages import OutgoingMessage, Publisher
from shared.contracts.topics import consumer_group_id, dead_letter_topic, topic_name
from shared.db.errors import is_outage
from shared.db.inbox import claim_new_of_live_leads
from shared.db.outbox import OutboxRelay
from shared.db.uow import UnitOfWork
from shared.observability import metrics
from shared.retry import retry

log = logging.getLogger(__name__)

BatchHandler = Callable[[UnitOfWork, Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSettings:
    group: str
    topics: tuple[str, ...]
    bootstrap: str
    fetch_max_wait_ms: int = 10
    fetch_min_bytes: int = 1
    max_batch: int = 500
    max_attempts: int = 3
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3000
    commit_interval_s: float = 0.1
    # ``topics`` and ``group`` are contract names; on the broker they are under this prefix
    # (dead letters get it from the publisher, which is given the same one).
    topic_prefix: str = ""
    # None: apply each batch as it is fetched (the latency path). See shared.bus.settling.
    settling: Settling | None = None


def is_transient(exc: BaseException) -> bool:
    """Outages (database down or restarting, network down) are retried, never dead-lettered:
    a batch that hits PostgreSQL while it starts up again (SQLSTATE 57P03) is not poison."""
    return is_outage(exc) or isinstance(exc, OSError | TimeoutError)


def _moved(ends: dict[TopicPartition, int], noted: dict[TopicPartition, int]) -> bool:
    """Whether events came to any partition since its end was noted."""
    return any(end > noted.get(tp, end) for tp, end in ends.items())


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit processed offsets before partitions move to another replica."""

    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: object) -> None:
        await self._owner.commit_offsets()

    async def on_partitions_assigned(self, assigned: object) -> None:
        return None


class BatchConsumer:
    def __init__(
        self,
        settings: ConsumerSettings,
        *,
        engine: AsyncEngine,
        source: str,
        handle: BatchHandler,
        relay: OutboxRelay,
        dead_letters: Publisher,
        registry: dict[str, type[Event]] | None = None,
        watch: BrokerWatch | None = None,
    ) -> None:
        self._s = settings
        self._engine = engine
        self._source = source
        self._handle = handle
        self._relay = relay
        self._dead_letters = dead_letters
        self._registry = registry or EVENT_TYPES
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._processed: dict[TopicPartition, int] = {}  # next offset, for applied batches only
        self._last_commit = 0.0
        self._watch = watch
        self._cluster: str | None = None  # the broker the current client was made for
        self.connected = False

    @property
    def ready(self) -> bool:
        """Connected to the group, on the broker the watch says is settled."""
        if self._watch is None:
            return self.connected
        return self.connected and self._watch.settled and self._cluster == self._watch.cluster_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._s.group}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, commit its offsets, then leave the group."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    async def _connect(self) -> AIOKafkaConsumer:
        return await retry(
            self._connect_once,
            what="Kafka not reachable",
            transient=lambda exc: isinstance(exc, KafkaError),
        )

    async def _connect_once(self) -> AIOKafkaConsumer:
        if self._stopping.is_set():
            raise asyncio.CancelledError
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._s.bootstrap,
            group_id=consumer_group_id(self._s.group, self._s.topic_prefix),
            client_id=f"{self._source}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._s.fetch_max_wait_ms,
            fetch_min_bytes=self._s.fetch_min_bytes,
            max_poll_records=self._s.max_batch,
            session_timeout_ms=self._s.session_timeout_ms,
            heartbeat_interval_ms=self._s.heartbeat_interval_ms,
        )
        try:
            await consumer.start()
            consumer.subscribe(
                [topic_name(t, self._s.topic_prefix) for t in self._s.topics],
                listener=_CommitOnRevoke(self),
            )
            return consumer
        except KafkaError:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise

    async def _on_current_broker(self) -> AIOKafkaConsumer | None:
        """The client to fetch with now, or None while the broker is not settled; a client made
        for a broker that has since been replaced is dropped, offsets and all."""
        watch = self._watch
        if watch is not None and not watch.settled:
            return None
        current = None if watch is None else watch.cluster_id
        if self._consumer is not None and self._cluster != current:
            log.warning("broker replaced; reconnecting the consumer (cluster %s)", current)
            self.connected = False
            self._processed = {}  # offsets of the old broker: never commit them to the new one
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        if self._consumer is None:
            self._consumer = await self._connect()
            self._cluster = current
            self.connected = True
        return self._consumer

    async def _run(self) -> None:
        policy = self._s.settling
        backlog = Backlog(policy) if policy is not None and policy.holds else None
        while not self._stopping.is_set():
            consumer = await self._on_current_broker()
            if consumer is None:
                await asyncio.sleep(0.05)
                continue
            try:
                if backlog is None:
                    await self._fetch_and_apply(consumer, timeout_ms=200)
                else:
                    await self._settle(consumer, backlog)
            except KafkaError as exc:
                log.warning("fetch failed: %s", exc)
                await asyncio.sleep(0.5)
        await self.commit_offsets()

    async def _fetch_and_apply(self, consumer: AIOKafkaConsumer, timeout_ms: int) -> int:
        """One fetch, applied in one transaction; returns how many records it brought."""
        fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=self._s.max_batch)
        if not fetched:
            await self.commit_offsets()  # idle: settle what was processed
            return 0
        records = [r for batch in fetched.values() for r in batch]
        started = time.perf_counter()
        await self._process(records)
        metrics.batch_seconds.labels(self._s.group).observe(time.perf_counter() - started)
        for tp, recs in fetched.items():
            self._processed[tp] = recs[-1].offset + 1
        if time.monotonic() - self._last_commit >= self._s.commit_interval_s:
            await self.commit_offsets()
        return len(records)

    async def _settle(self, consumer: AIOKafkaConsumer, backlog: Backlog) -> None:
        """One look at how much is waiting (the partitions' ends against the positions, the
        partitions paused); drain it once it is due, else wait a probe."""
        assigned = list(consumer.assignment())
        if not assigned:  # joining the group: look again soon, without fetching meanwhile
            await asyncio.sleep(0.1)
            return
        consumer.pause(*assigned)  # a rebalance hands partitions over unpaused
        ends: dict[TopicPartition, int] = await consumer.end_offsets(assigned)
        waiting = 0
        for tp in assigned:
            position = await consumer.position(tp)
            waiting += max(ends.get(tp, position) - position, 0)
        now = time.monotonic()
        backlog.observe(ends, waiting, now)
        if backlog.due(now):
            if await self._drain(consumer, ends, yielding=not backlog.forced(now)):
                backlog.drained()
            else:
                backlog.interrupted(time.monotonic())
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), backlog.wait_s(now))
        # A poll that returns nothing while paused tells the group the consumer is alive
        # (max.poll.interval). A rebalance meanwhile hands partitions over unpaused, so pause
        # first; should records still come back, they are applied, never dropped.
        consumer.pause(*consumer.assignment())
        await self._fetch_and_apply(consumer, timeout_ms=0)

    async def _drain(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int], *, yielding: bool
    ) -> bool:
        """Fetch and apply, a batch at a time, until every assigned partition has reached
        the end noted, then pause again; True when it got there. A ``yielding`` drain (the
        stream had gone quiet) stops as soon as new events come: the next burst of leads is
        the path's time, and what is left waits for the next quiet (or the hold limit)."""
        consumer.resume(*consumer.assignment())
        empty = 0
        try:
            while not self._stopping.is_set() and empty < 3:
                assigned = list(consumer.assignment())
                behind = [
                    tp for tp in assigned if tp in ends and await consumer.position(tp) < ends[tp]
                ]
                if not behind:
                    return True
                fetched = await self._fetch_and_apply(consumer, timeout_ms=1000)
                empty = 0 if fetched else empty + 1
                if yielding and assigned and _moved(await consumer.end_offsets(assigned), ends):
                    return False
            return empty >= 3  # nothing more to fetch: as far as the broker goes
        finally:
            consumer.pause(*consumer.assignment())
            await self.commit_offsets()

    async def commit_offsets(self) -> None:
        """Commit the offsets of applied batches only (never of a batch still in hand, which a
        rebalance callback could otherwise commit before its transaction)."""
        if not self._processed or self._consumer is None:
            return
        if self._watch is not None and self._cluster != self._watch.cluster_id:
            self._processed = {}  # offsets on a broker that has been replaced: meaningless
            return
        offsets, self._processed = self._processed, {}
        self._last_commit = time.monotonic()
        try:
            await self._consumer.commit(offsets)
            metrics.last_offset_commit.labels(self._s.group).set(time.time())
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partitions away; the new owner redelivers, the inbox dedupes.
            log.warning("offset commit failed (%s); records will be redelivered", exc)

    async def record_lag(self) -> None:
        """Records behind the partition ends, per topic, asked of the broker (run on a timer,
        so the figure moves while nothing is fetched too)."""
        consumer = self._consumer
        if consumer is None:
            return
        assigned = list(consumer.assignment())
        if not assigned:
            return
        ends = await consumer.end_offsets(assigned)
        lag: dict[str, int] = {}
        for tp in assigned:
            position = await consumer.position(tp)
            lag[tp.topic] = lag.get(tp.topic, 0) + max(ends.get(tp, position) - position, 0)
        for topic, behind in lag.items():
            metrics.consumer_lag.labels(self._s.group, topic).set(behind)

    async def _process(self, records: list[ConsumerRecord]) -> None:
        envelopes: list[Envelope] = []
        dead: list[tuple[ConsumerRecord, str]] = []
        by_id: dict[str, ConsumerRecord] = {}
        for rec in records:
            try:
                env = decode(rec.value or b"", self._registry)
            except EnvelopeError as exc:
                dead.append((rec, str(exc)))
                continue
            envelopes.append(env)
            by_id[env.id] = rec
        try:
            await self._retry_transient(lambda: self._apply(envelopes))
        except Exception:
            log.warning("batch failed; retrying its %d event(s) one by one", len(envelopes))
            for env in envelopes:
                error = await self._apply_alone(env)
                if error is not None:
                    dead.append((by_id[env.id], error))
        if dead:
            await self._retry_transient(lambda: self._send_dead_letters(dead))

    async def _apply(self, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        async with UnitOfWork(self._engine, self._source, self._relay) as uow:
            fresh_ids, erased = await claim_new_of_live_leads(
                uow.conn, self._s.group, [e.id for e in envelopes], [e.subject for e in envelopes]
            )
            fresh: list[Envelope] = []
            for env in envelopes:
                if env.id in fresh_ids:
                    fresh.append(env)
                    fresh_ids.discard(env.id)  # a duplicate inside one batch counts once
            skipped = len(envelopes) - len(fresh)
            if skipped:
                metrics.events_duplicate.labels(self._s.group).inc(skipped)
            if erased:  # forgotten leads (GDPR): their later events are claimed, not applied
                live = live_events(fresh, erased)
                metrics.events_dropped_erased.labels(self._s.group).inc(len(fresh) - len(live))
                fresh = live
            if fresh:
                await self._handle(uow, fresh)
            await uow.commit()  # hands the events to the relay
        for env in fresh:
            metrics.events_handled.labels(self._s.group, env.type).inc()

    async def _apply_alone(self, env: Envelope) -> str | None:
        """Apply one event with retries; return the error text if it is poison."""
        error = ""
        for attempt in range(1, self._s.max_attempts + 1):
            try:
                await self._retry_transient(lambda: self._apply([env]))
                return None
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "event failed (attempt %d/%d): %s",
                    attempt,
                    self._s.max_attempts,
                    error,
                    extra={"event_id": env.id, "event_type": env.type},
                )
                await asyncio.sleep(0.05 * attempt)
        return error

    async def _retry_transient(self, action: Callable[[], Awaitable[None]]) -> None:
        await retry(action, what="dependency unavailable", transient=is_transient, first=0.1)

    async def _send_dead_letters(self, dead: list[tuple[ConsumerRecord, str]]) -> None:
        topic = dead_letter_topic(self._s.group)
        messages = [
            OutgoingMessage(
                event_id=f"{rec.topic}/{rec.partition}/{rec.offset}",
                topic=topic,
                key=(rec.key or b"").decode(errors="replace"),
                value=rec.value or b"",
                headers=(
                    *((k, v) for k, v in (rec.headers or ())),
                    ("dlq-error", error.encode()[:4000]),
                    ("dlq-original-topic", rec.topic.encode()),
                    ("dlq-original-partition", str(rec.partition).encode()),
                    ("dlq-original-offset", str(rec.offset).encode()),
                    ("dlq-group", self._s.group.encode()),
                ),
            )
            for rec, error in dead
        ]
        try:
            await self._dead_letters.publish(messages)
        except KafkaError as exc:
            raise OSError(f"dead-letter publish failed: {exc}") from exc
        metrics.dead_letters.labels(self._s.group).inc(len(messages))
        for rec, error in dead:
            log.error(
                "dead-lettered %s/%d@%d: %s",
                rec.topic,
                rec.partition,
                rec.offset,
                error,
                extra={"dlq_topic": topic},
            )
