"""The outbox: events written in the state change's own transaction, published after commit.

The hot path hands committed messages to :class:`OutboxRelay`, whose flusher publishes them
at once (batched across concurrent transactions). Recording what was published is off the
hot path: every ``mark_interval_s`` the published rows get their publish time and where the
broker put them (partition, offset), in one statement. A background sweep re-publishes
anything a crash or a Kafka outage left unsent. A message can therefore go out twice;
consumers dedupe by event id (see ``shared.db.inbox``).

**Retention.** Published rows are not deleted at once: they stay for ``retain_s`` and until
every consuming group of their topic has committed past their offset (``prune_once``), or
``retain_max_s`` at most. If the broker turns out to have forgotten them (``shared.recovery``),
:func:`adopt_broker` marks them unpublished again and the sweep republishes them in
their original order (``seq``).

A row is marked published only while the broker it was published to is still the one this
schema has adopted (``broker_identity``): an acknowledgement from a broker that has since been
replaced must not hide the row from the republish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.contracts.messages import OutgoingMessage, Placement, Publisher
from shared.db.columns import column_params
from shared.observability import metrics
from shared.periodic import Job

log = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO outbox (event_id, topic, key, payload)"
    " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:topics AS text[]),"
    " CAST(:keys AS text[]), CAST(:payloads AS bytea[]))"
)
_MARK = text(
    "UPDATE outbox o SET published_at = now(), kafka_partition = x.p, kafka_offset = x.o"
    " FROM unnest(CAST(:ids AS text[]), CAST(:parts AS int[]), CAST(:offs AS bigint[]))"
    " AS x(id, p, o)"
    " WHERE o.event_id = x.id"
    " AND (SELECT cluster_id FROM broker_identity) IS NOT DISTINCT FROM CAST(:cluster AS text)"
)
_CLAIM_LEFTOVERS = text(
    "SELECT event_id, topic, key, payload FROM outbox"
    " WHERE published_at IS NULL AND created_at < now() - make_interval(secs => :grace)"
    " ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_BACKLOG = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
_RETAINED = text("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
_PRUNE = text(
    "DELETE FROM outbox o WHERE o.published_at IS NOT NULL AND ("
    " o.published_at < now() - make_interval(secs => :max_s)"
    " OR (o.published_at < now() - make_interval(secs => :retain_s) AND ("
    "  o.topic = ANY(CAST(:unread_topics AS text[]))"
    "  OR EXISTS (SELECT 1 FROM unnest(CAST(:topics AS text[]), CAST(:parts AS int[]),"
    "   CAST(:safe AS bigint[])) AS s(t, p, off)"
    "   WHERE s.t = o.topic AND s.p = o.kafka_partition AND o.kafka_offset < s.off))))"
)
_ADOPTED = text("SELECT cluster_id FROM broker_identity")
_ADOPTED_LOCKED = text("SELECT cluster_id FROM broker_identity FOR UPDATE")
_ADOPT = text(
    "INSERT INTO broker_identity (cluster_id) VALUES (:cluster)"
    " ON CONFLICT (only_row) DO UPDATE SET cluster_id = EXCLUDED.cluster_id, adopted_at = now()"
)
_REQUEUE = text(
    "UPDATE outbox SET published_at = NULL, kafka_partition = NULL, kafka_offset = NULL"
    " WHERE published_at IS NOT NULL"
)

TopicPartition = tuple[str, int]


async def write_outbox(conn: AsyncConnection, messages: Sequence[OutgoingMessage]) -> None:
    """Insert messages in one statement, inside the caller's transaction."""
    if not messages:
        return
    await conn.execute(
        _INSERT,
        column_params(messages, ids="event_id", topics="topic", keys="key", payloads="value"),
    )


def safe_offsets(
    committed: Mapping[str, Mapping[TopicPartition, int | None]],
    readers: Mapping[str, Sequence[str]],
) -> dict[TopicPartition, int]:
    """Per partition, the offset below which every reading group has committed: the lowest
    committed offset of the topic's groups. A group with nothing committed there (or whose
    offsets could not be read) makes nothing safe on that partition."""
    out: dict[TopicPartition, int] = {}
    partitions = {tp for offsets in committed.values() for tp in offsets}
    for topic, partition in partitions:
        groups = readers.get(topic, ())
        if not groups:
            continue
        offsets = [committed.get(g, {}).get((topic, partition)) for g in groups]
        out[(topic, partition)] = min((o if o is not None else 0) for o in offsets)
    return out


async def adopted_broker(conn: AsyncConnection) -> str | None:
    """The cluster id of the broker this schema's outbox was last published to."""
    return (await conn.execute(_ADOPTED)).scalar_one_or_none()


async def adopt_broker(
    conn: AsyncConnection, cluster_id: str, *, lost_topics: bool = False
) -> tuple[str | None, int]:
    """Adopt the broker ``cluster_id`` for this schema. If another broker was adopted before
    (or this one lost our topics), every retained row is marked unpublished so the sweep sends
    it again. Answers the previously adopted id and how many rows were queued again. Replicas
    may race here: the row lock makes the first one requeue and the others find it done."""
    previous = (await conn.execute(_ADOPTED_LOCKED)).scalar_one_or_none()
    if previous == cluster_id and not lost_topics:
        return previous, 0
    requeued = 0
    if previous is not None:
        requeued = (await conn.execute(_REQUEUE)).rowcount or 0
    await conn.execute(_ADOPT, {"cluster": cluster_id})
    return previous, requeued


@dataclass
class RelaySettings:
    interval_s: float = 1.0
    grace_s: float = 2.0
    batch: int = 1000
    mark_interval_s: float = 0.2
    retain_s: float = 600.0
    retain_max_s: float = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class _Published:
    event_id: str
    placement: Placement
    cluster: str | None


class OutboxRelay:
    """Publishes committed outbox messages right away, and sweeps up leftovers."""

    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        settings: RelaySettings | None = None,
        cluster_of: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._settings = settings or RelaySettings()
        self._cluster_of = cluster_of  # the broker being published to, as the watch knows it
        self._queue: asyncio.Queue[Sequence[OutgoingMessage]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._to_mark: list[_Published] = []
        s = self._settings
        self._sweep = Job("outbox sweep", s.interval_s, self._sweep_round, wait_first=True)
        self._mark: Job[None] = Job(
            "marking published outbox rows",
            s.mark_interval_s,
            lambda _: self._mark_published(),
            wait_first=True,
        )

    def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        """Hand over messages whose transaction has committed."""
        if messages:
            self._queue.put_nowait(messages)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._flush_forever(), name="outbox-flush"),
            asyncio.create_task(self._sweep.run_forever(None), name="outbox-sweep"),
            asyncio.create_task(self._mark.run_forever(None), name="outbox-mark"),
        ]

    async def stop(self) -> None:
        """Stop the loops, then publish what is queued and record what was published (best
        effort; the next sweep covers the rest). The loops stop first: a mark cancelled
        halfway puts its rows back, so none is left unrecorded to be published again."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain_once(block=False), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._mark_published(), timeout=5)

    async def _flush_forever(self) -> None:
        while True:
            await self._drain_once(block=True)

    async def _drain_once(self, *, block: bool) -> None:
        batch: list[OutgoingMessage] = []
        if block:
            batch.extend(await self._queue.get())
        while not self._queue.empty():
            batch.extend(self._queue.get_nowait())
        if not batch:
            return
        try:
            placements = await self._publisher.publish(batch)
        except Exception:
            log.warning("outbox flush failed; the sweep will retry", exc_info=True)
            return
        cluster = self._cluster_of()
        self._to_mark.extend(
            _Published(m.event_id, p, cluster) for m, p in zip(batch, placements, strict=True)
        )
        metrics.outbox_published.inc(len(batch))

    async def _mark_published(self) -> None:
        done, self._to_mark = self._to_mark, []
        if not done:
            return
        try:
            async with self._engine.begin() as conn:
                await _mark(conn, done)
        except BaseException:  # failed or cancelled: the rows wait for the next mark
            self._to_mark.extend(done)
            raise

    async def _sweep_round(self, _: None) -> bool:
        """True after a full batch: more are waiting (a backlog, or a republish)."""
        return await self.sweep_once() >= self._settings.batch

    async def sweep_once(self) -> int:
        """Publish leftovers older than the grace period; return how many."""
        s = self._settings
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(_CLAIM_LEFTOVERS, {"grace": s.grace_s, "limit": s.batch})
            ).all()
            awaiting_mark = {p.event_id for p in self._to_mark}  # published, not marked yet
            msgs = [
                OutgoingMessage(r[0], r[1], r[2], bytes(r[3]))
                for r in rows
                if r[0] not in awaiting_mark
            ]
            if msgs:
                placements = await self._publisher.publish(msgs)
                cluster = self._cluster_of()
                await _mark(
                    conn,
                    [
                        _Published(m.event_id, p, cluster)
                        for m, p in zip(msgs, placements, strict=True)
                    ],
                )
                metrics.outbox_published.inc(len(msgs))
                log.info("outbox sweep published %d message(s)", len(msgs))
        return len(rows)

    async def prune_once(
        self, safe: Mapping[TopicPartition, int], unread_topics: Sequence[str]
    ) -> int:
        """Delete retained rows past the window that every reading group has read (``safe``
        from :func:`safe_offsets`; ``unread_topics`` have no reading group), or past the
        maximum retention; refresh the backlog and retention gauges. Answers rows deleted."""
        s = self._settings
        params = column_params(
            list(safe.items()),
            topics=lambda kv: kv[0][0],
            parts=lambda kv: kv[0][1],
            safe=lambda kv: kv[1],
        )
        async with self._engine.begin() as conn:
            deleted = (
                await conn.execute(
                    _PRUNE,
                    {
                        **params,
                        "retain_s": s.retain_s,
                        "max_s": s.retain_max_s,
                        "unread_topics": list(unread_topics),
                    },
                )
            ).rowcount or 0
            metrics.outbox_retained.set((await conn.execute(_RETAINED)).scalar_one())
        return deleted


async def outbox_backlog(engine: AsyncEngine) -> int:
    """Rows not yet published, counted where they are (the metric must not freeze while
    Kafka is down, when nothing is published)."""
    async with engine.connect() as conn:
        backlog = int((await conn.execute(_BACKLOG)).scalar_one())
    metrics.outbox_backlog.set(backlog)
    return backlog


async def _mark(conn: AsyncConnection, published: Sequence[_Published]) -> None:
    by_cluster: dict[str | None, list[_Published]] = {}
    for p in published:
        by_cluster.setdefault(p.cluster, []).append(p)
    for cluster, rows in by_cluster.items():
        await conn.execute(
            _MARK,
            {
                **column_params(
                    rows,
                    ids="event_id",
                    parts="placement.partition",
                    offs="placement.offset",
                ),
                "cluster": cluster,
            },
        )
