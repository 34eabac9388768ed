"""The outbox: events written in the state change's own transaction, published after commit.

The hot path hands committed messages to :class:`OutboxRelay`, whose flusher publishes them
at once (batched across concurrent transactions). Removing published rows is off the hot
path: their ids are deleted in one statement every ``mark_interval_s``. A background sweep
re-publishes anything a crash or a Kafka outage left unsent. A message can therefore go
out twice; consumers dedupe by event id (see ``shared.db.inbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.bus.publisher import OutgoingMessage, Publisher
from shared.db.columns import column_params
from shared.observability import metrics

log = logging.getLogger(__name__)

_INSERT = text(
    "INSERT INTO outbox (event_id, topic, key, payload)"
    " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:topics AS text[]),"
    " CAST(:keys AS text[]), CAST(:payloads AS bytea[]))"
)
# Published rows are deleted: the event lives on in Kafka, and the table stays small.
_MARK = text("DELETE FROM outbox WHERE event_id = ANY(CAST(:ids AS text[]))")
_CLAIM_LEFTOVERS = text(
    "SELECT event_id, topic, key, payload FROM outbox"
    " WHERE published_at IS NULL AND created_at < now() - make_interval(secs => :grace)"
    " ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_BACKLOG = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")


async def write_outbox(conn: AsyncConnection, messages: Sequence[OutgoingMessage]) -> None:
    """Insert messages in one statement, inside the caller's transaction."""
    if not messages:
        return
    await conn.execute(
        _INSERT,
        column_params(messages, ids="event_id", topics="topic", keys="key", payloads="value"),
    )


@dataclass
class RelaySettings:
    interval_s: float = 1.0
    grace_s: float = 2.0
    batch: int = 1000
    mark_interval_s: float = 0.2


class OutboxRelay:
    """Publishes committed outbox messages right away, and sweeps up leftovers."""

    def __init__(
        self, engine: AsyncEngine, publisher: Publisher, settings: RelaySettings | None = None
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._settings = settings or RelaySettings()
        self._queue: asyncio.Queue[Sequence[OutgoingMessage]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._to_mark: list[str] = []

    def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        """Hand over messages whose transaction has committed."""
        if messages:
            self._queue.put_nowait(messages)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._flush_forever(), name="outbox-flush"),
            asyncio.create_task(self._sweep_forever(), name="outbox-sweep"),
            asyncio.create_task(self._mark_forever(), name="outbox-mark"),
        ]

    async def stop(self) -> None:
        """Publish what is queued (best effort), then stop; the sweep covers the rest."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain_once(block=False), timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._mark_published(), timeout=5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

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
            await self._publisher.publish(batch)
        except Exception:
            log.warning("outbox flush failed; the sweep will retry", exc_info=True)
            return
        self._to_mark.extend(m.event_id for m in batch)
        metrics.outbox_published.inc(len(batch))

    async def _mark_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.mark_interval_s)
            try:
                await self._mark_published()
            except Exception:
                log.warning("marking published outbox rows failed; will retry", exc_info=True)

    async def _mark_published(self) -> None:
        ids, self._to_mark = self._to_mark, []
        if not ids:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_MARK, {"ids": ids})
        except Exception:
            self._to_mark.extend(ids)
            raise

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.interval_s)
            try:
                await self.sweep_once()
            except Exception:
                log.warning("outbox sweep failed", exc_info=True)

    async def sweep_once(self) -> int:
        """Publish leftovers older than the grace period; return how many."""
        s = self._settings
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(_CLAIM_LEFTOVERS, {"grace": s.grace_s, "limit": s.batch})
            ).all()
            awaiting_mark = set(self._to_mark)  # published already, only not marked yet
            msgs = [
                OutgoingMessage(r[0], r[1], r[2], bytes(r[3]))
                for r in rows
                if r[0] not in awaiting_mark
            ]
            if msgs:
                await self._publisher.publish(msgs)
                metrics.outbox_published.inc(len(msgs))
                log.info("outbox sweep re-published %d message(s)", len(msgs))
            if rows:
                await conn.execute(_MARK, {"ids": [r[0] for r in rows]})
            backlog = (await conn.execute(_BACKLOG)).scalar_one()
            metrics.outbox_backlog.set(backlog)
        return len(rows)
