"""The unit of work: one transaction for a state change and the events it emits."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shared.contracts.envelope import Event
from shared.contracts.messages import OutgoingMessage, to_message
from shared.db.outbox import OutboxRelay, write_outbox


class UnitOfWork:
    """``async with uow: ...; uow.emit(e); await uow.commit()`` — rolls back unless committed.

    Committing hands the emitted messages to ``relay`` (published right away, see
    :class:`~shared.db.outbox.OutboxRelay`), so nobody calls the relay by hand and a forgotten
    call can no longer leave events to the sweep. Without a relay (tests, tools) the sweep
    publishes them. After a commit, :attr:`committed` holds the emitted messages, and the
    callbacks given to :meth:`after_commit` have run (never after a rollback).
    """

    def __init__(self, engine: AsyncEngine, source: str, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self.source = source
        self._relay = relay
        self._conn: AsyncConnection | None = None
        self._tx: AsyncTransaction | None = None
        self._pending: list[OutgoingMessage] = []
        self._after_commit: list[Callable[[], None]] = []
        self.committed: list[OutgoingMessage] = []

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("UnitOfWork used outside 'async with'")
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._engine.connect()
        self._tx = await self._conn.begin()
        self._pending = []
        self._after_commit = []
        self.committed = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                await self._tx.rollback()
        finally:
            if self._conn is not None:
                await self._conn.close()
            self._conn = None
            self._tx = None

    def emit(
        self, event: Event, *, causationid: str | None = None, correlationid: str | None = None
    ) -> str:
        """Queue an event for the outbox; returns its event id."""
        msg = to_message(
            event, source=self.source, causationid=causationid, correlationid=correlationid
        )
        self._pending.append(msg)
        return msg.event_id

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed, e.g. to hand its rows to a
        worker in memory instead of having the worker poll the table for them."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        assert self._tx is not None, "commit() outside 'async with'"
        await write_outbox(self.conn, self._pending)
        await self._tx.commit()
        self.committed, self._pending = self._pending, []
        if self._relay is not None:
            self._relay.enqueue(self.committed)
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
