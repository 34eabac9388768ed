"""``leadflow insights rebuild``: recompute the read model from the topics.

A read model is disposable. The rebuild:

1. migrates a fresh schema (``<schema>_rebuild``) beside the live one;
2. reads every consumed topic from its start to its end, noting where it ended (a plain
   client with no consumer group: the live service's group keeps its offsets),
   applying the events as the live consumer does (inbox, erasure, the same batch handler),
   erasures last: a lead's history is then folded before it is anonymised, whatever order
   the topics are read in;
3. swaps the rebuilt rows in (``store.swap``) in one transaction;
4. catches up in the live schema from the noted ends to where the topics end now: events
   the live service applied to the old rows during the rebuild are applied again, and the
   inbox (rebuilt too) skips those it has already applied since the swap;
5. drops the fresh schema.

Running while the insights service runs is safe; figures are the rebuilt ones from the
swap on. With the embedded broker, the topics hold what the services republished since the
broker last started (their outboxes are retained, see docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from services.insights import handlers
from services.insights.config import Settings, load_insights_config
from services.insights.main import MIGRATIONS
from services.insights.store import facts as store
from services.insights.store import swap
from shared.bus.consumer import BatchHandler
from shared.bus.erasure import honouring_erasure, live_events
from shared.contracts import EVENT_TYPES
from shared.contracts.envelope import Envelope, EnvelopeError, decode
from shared.contracts.topics import LEAD_ERASED, topic_name, topics_consumed_by
from shared.db.engine import make_engine
from shared.db.inbox import claim_new_of_live_leads
from shared.db.migrate import migrate
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

Offsets = dict[TopicPartition, int]
Apply = Callable[[list[Envelope]], Awaitable[int]]


@dataclass(frozen=True)
class RebuildReport:
    events: int  # applied into the fresh tables
    caught_up: int  # applied after the swap
    leads: int  # fact rows after the rebuild


async def apply_batch(
    engine: AsyncEngine, group: str, handle: BatchHandler, envelopes: Sequence[Envelope]
) -> int:
    """Apply envelopes as the consumer does: claim them in the inbox, drop those of leads
    already erased, run the handler, commit. Returns how many were new."""
    if not envelopes:
        return 0
    async with UnitOfWork(engine, group) as uow:
        fresh_ids, erased = await claim_new_of_live_leads(
            uow.conn, group, [e.id for e in envelopes], [e.subject for e in envelopes]
        )
        fresh = [e for e in envelopes if e.id in fresh_ids]
        fresh = list({e.id: e for e in fresh}.values())
        live = live_events(fresh, erased)
        if live:
            await handle(uow, live)
        await uow.commit()
    return len(fresh)


class TopicReplay:
    """Read the consumed topics between two sets of offsets, without a consumer group."""

    def __init__(self, settings: Settings) -> None:
        self._prefix = settings.topic_prefix
        self._topics = [topic_name(t, self._prefix) for t in topics_consumed_by("insights")]
        self._client = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            max_poll_records=settings.kafka_max_batch,
        )

    async def __aenter__(self) -> TopicReplay:
        await self._client.start()
        await self._client.topics()  # fetches the metadata of every topic, not only known ones
        partitions = []
        for topic in self._topics:
            for p in self._client.partitions_for_topic(topic) or ():
                partitions.append(TopicPartition(topic, p))
        if not partitions:
            await self._client.stop()
            raise SystemExit("no insights topic exists on the broker (leadflow topics?)")
        self._client.assign(partitions)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.stop()

    async def starts(self) -> Offsets:
        assigned = list(self._client.assignment())
        found: Offsets = await self._client.beginning_offsets(assigned)
        return found

    async def read(
        self, start: Offsets, *, erasures: bool, batch_size: int, apply: Apply
    ) -> tuple[int, Offsets]:
        """Apply the events from ``start`` to the end of each partition, chunk by chunk as
        they are fetched, of the erasure topic only or of every other topic; returns what
        ``apply`` counted and where each partition was read to.

        The end is where fetching finds nothing more (twice in a row) once the broker's end
        offsets, noted first, are reached: the embedded broker (Tansu 0.6) reports ends short
        of its last records (measured here: 107 records, end offset 100), so they are a
        floor, not the end. Undecodable records are skipped (the live consumer dead-letters
        them)."""
        erased_topic = topic_name(LEAD_ERASED, self._prefix)
        todo = {tp for tp in start if (tp.topic == erased_topic) == erasures}
        floor: Offsets = await self._client.end_offsets(list(todo)) if todo else {}
        for tp in todo:
            self._client.seek(tp, start[tp])
        self._client.pause(*(set(self._client.assignment()) - todo))
        self._client.resume(*todo)
        applied = idle = 0
        while todo:
            fetched = await self._client.getmany(*todo, timeout_ms=200, max_records=batch_size)
            chunk: list[Envelope] = []
            for tp, records in fetched.items():
                for rec in records:
                    try:
                        chunk.append(decode(rec.value or b"", EVENT_TYPES))
                    except EnvelopeError as exc:
                        log.warning("skipped %s/%d@%d: %s", tp.topic, tp.partition, rec.offset, exc)
            if chunk:
                applied += await apply(chunk)
            idle = 0 if fetched else idle + 1
            if idle >= 2 and all([await self._client.position(tp) >= floor[tp] for tp in todo]):
                break
        reached = {tp: await self._client.position(tp) for tp in todo}
        return applied, reached


async def _replay(
    replay: TopicReplay, engine: AsyncEngine, group: str, handle: BatchHandler,
    start: Offsets, batch_size: int,
) -> tuple[int, Offsets]:  # fmt: skip
    """Apply every event from ``start`` on, erasures last; how many were new, and where
    each partition was read to."""

    async def apply(chunk: list[Envelope]) -> int:
        return await apply_batch(engine, group, handle, chunk)

    applied = 0
    reached: Offsets = {}
    for erasures in (False, True):
        count, done = await replay.read(start, erasures=erasures, batch_size=batch_size,
                                        apply=apply)  # fmt: skip
        applied += count
        reached.update(done)
    return applied, reached


async def rebuild(settings: Settings) -> RebuildReport:
    """Recompute the read model from the topics and swap it in (module docstring)."""
    schema = settings.db_schema or "insights"
    fresh_schema = f"{schema}_rebuild"
    group = settings.consumer_group or "insights"
    config = load_insights_config(settings.config_file)
    live = make_engine(settings.asyncpg_url, schema, app_name="leadflow-insights-rebuild")
    fresh = make_engine(settings.asyncpg_url, fresh_schema, app_name="leadflow-insights-rebuild")

    def handler_for() -> BatchHandler:
        handle = handlers.make_batch_handler(config.fact_rules())
        return honouring_erasure(handle, lambda uow, ids: store.erase(uow.conn, ids), group)

    try:
        await migrate(live, schema, MIGRATIONS)
        async with fresh.begin() as conn:
            await swap.drop_schema(conn, fresh_schema)
        await migrate(fresh, fresh_schema, MIGRATIONS)
        async with TopicReplay(settings) as replay:
            size = settings.kafka_max_batch
            starts = await replay.starts()
            events, noted = await _replay(replay, fresh, group, handler_for(), starts, size)
            async with live.begin() as conn:
                await swap.replace_with(conn, fresh_schema, group)
            caught_up, _ = await _replay(replay, live, group, handler_for(), noted, size)
        async with live.begin() as conn:
            await swap.drop_schema(conn, fresh_schema)
            leads = await store.count_facts(conn)
    finally:
        await fresh.dispose()
        await live.dispose()
    return RebuildReport(events, caught_up, leads)
