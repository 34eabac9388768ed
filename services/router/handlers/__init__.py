"""The router's use cases: route scored leads, retry waiting ones, keep first-contact SLAs,
close won/lost leads, forget erased ones.

``routing`` decides owners; ``sla`` runs the clocks (contacts, warnings, breaches,
reassignment); ``source`` says which config version a decision uses; ``config`` changes
that config (admin API, file reload, rollback). The consumer's batch handler below is the
table of what the router reacts to.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.router import domain, store
from services.router.domain import Routing
from services.router.handlers.config import (
    SYSTEM_ACTOR,
    ChangeRejected,
    Outcome,
    StaleVersion,
    UnknownVersion,
    change_config,
    import_file,
    rollback_config,
)
from services.router.handlers.routing import (
    LeadToRoute,
    RoutingRound,
    assigned_event,
    close_round,
    decide,
    open_round,
    retry_waiting,
)
from services.router.handlers.sla import (
    close_won_lost,
    fire_due_breaches,
    fire_due_warnings,
    record_contacts,
)
from services.router.handlers.source import (
    ActiveRouting,
    FixedRouting,
    RoutingSource,
    VersionedRouting,
)
from shared import clock
from shared.bus.consumer import BatchHandler
from shared.clock import Clock
from shared.contracts import LeadActivityRecorded, LeadScored
from shared.contracts.envelope import Envelope
from shared.db.uow import UnitOfWork

__all__ = [
    "SYSTEM_ACTOR",
    "ActiveRouting",
    "ChangeRejected",
    "FixedRouting",
    "LeadToRoute",
    "Outcome",
    "RoutingRound",
    "RoutingSource",
    "StaleVersion",
    "UnknownVersion",
    "VersionedRouting",
    "assigned_event",
    "change_config",
    "close_round",
    "close_won_lost",
    "decide",
    "erase_leads",
    "fire_due_breaches",
    "fire_due_warnings",
    "import_file",
    "make_batch_handler",
    "open_round",
    "record_contacts",
    "retry_waiting",
    "rollback_config",
]


def make_batch_handler(routing: Routing | RoutingSource, clock: Clock = clock.now) -> BatchHandler:
    """Scored leads are routed; first contacts stop SLA clocks; won/lost close leads. A batch
    with any of these takes the routing lock once, so it never races the breach job (nor a
    config change: the batch decides with the version in force once it holds the lock)."""
    source = FixedRouting(routing) if isinstance(routing, Routing) else routing

    async def handle(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
        scored = [
            LeadToRoute(
                e.data.lead_id,
                e.data.score,
                e.data.bucket,
                e.data.lead.model_dump(mode="json"),
                e.data.captured_at,
                e.id,
            )  # fmt: skip
            for e in envelopes
            if isinstance(e.data, LeadScored)
        ]
        contacts = [
            e.data
            for e in envelopes
            if isinstance(e.data, LeadActivityRecorded) and domain.is_first_contact(e.data.kind)
        ]
        if not scored and not contacts:
            return
        now = clock()
        rnd = await open_round(
            uow, source, now, [s.lead_id for s in scored], [s.profile for s in scored]
        )
        for lead in scored:
            decide(rnd, lead)
        await close_round(uow, rnd)
        if contacts:
            await record_contacts(uow, contacts)
            await close_won_lost(uow, contacts, now)

    return handle


async def erase_leads(uow: UnitOfWork, lead_ids: list[str]) -> None:
    """An erased lead leaves the router: its decision, SLA clock and timers go (no timer may
    announce the person again), and an open assignment frees the rep's capacity."""
    ids = [i for i in lead_ids if _is_uuid(i)]
    if not ids:
        return
    await store.lock_routing(uow.conn)
    reps = await store.forget_leads(uow.conn, ids)
    await store.release_load(uow.conn, reps)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
