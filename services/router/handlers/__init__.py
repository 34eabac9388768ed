"""The router's use cases: route scored leads, retry waiting ones, keep first-contact SLAs,
close won/lost leads, forget erased ones.

``routing`` decides owners; ``sla`` runs the clocks (contacts, warnings, breaches,
reassignment); ``source`` says which config version a decision uses; ``config`` changes
that config (admin API, file reload, rollback). The consumer's batch handler below is the
table of what the router reacts to is ``events.HANDLERS``.
"""

from __future__ import annotations

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
from services.router.handlers.events import HANDLERS, erase_leads, make_batch_handler
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

__all__ = [
    "HANDLERS",
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
