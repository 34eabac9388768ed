"""One shape for every consumer's batch: load what the batch needs, let each event's handler
decide in memory, save once.

A service's ``handlers.py`` declares a batch state (what its events need to know, and what
they decided), ``load`` and ``save`` for it, small verb-named functions per event type, and
ends with a ``HANDLERS = {EventType: function}`` table; :func:`batch_handler` turns those
into the consumer's :data:`~shared.bus.consumer.BatchHandler`. Loading once and saving once
keeps a batch at one query per table whatever its size.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from shared.bus.consumer import BatchHandler
from shared.contracts.envelope import Envelope, Event
from shared.db.uow import UnitOfWork

log = logging.getLogger(__name__)

State = TypeVar("State")

# Decide one event against the batch state (in memory; no I/O).
EventHandler = Callable[[State, Envelope], None]


def batch_handler(
    handlers: Mapping[type[Event], EventHandler[State]],
    load: Callable[[UnitOfWork, Sequence[Envelope]], Awaitable[State]],
    save: Callable[[UnitOfWork, State], Awaitable[None]],
) -> BatchHandler:
    """The consumer's batch handler: ``load`` the batch's state for the events listed in
    ``handlers`` (in batch order), apply each, ``save``. A batch with none of them does
    nothing (other types reach a consumer only through a shared topic, e.g. erasures)."""

    async def handle(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
        mine = [env for env in envelopes if type(env.data) in handlers]
        if len(mine) != len(envelopes):
            log.debug("%d event(s) of types with no handler", len(envelopes) - len(mine))
        if not mine:
            return
        state = await load(uow, mine)
        for env in mine:
            handlers[type(env.data)](state, env)
        await save(uow, state)

    return handle
