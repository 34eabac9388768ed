"""Right to erasure, the same way in every service.

Every consuming service subscribes to ``leadflow.lead.erased``. This wrapper around the
service's batch handler records the erased lead ids (no personal data) in the service's
``erased_leads`` table and calls the service's own ``erase`` hook to delete what it holds.
Later events for an erased lead are dropped before the service sees them: by the consumer,
in the same statement that claims their ids in the inbox (``claim_new_of_live_leads``), and
here for events that follow the erasure within its own batch — so a late activity or a
redelivered capture cannot bring the person back. All inside the batch's transaction. The
rule itself (:func:`live_events`) is written once, here; the consumer applies it to what the
inbox claim found erased before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import text

from shared.contracts import LeadErased
from shared.contracts.envelope import Envelope
from shared.db.uow import UnitOfWork
from shared.observability import metrics

if TYPE_CHECKING:
    from shared.bus.consumer import BatchHandler

# Delete everything the service holds about these leads (ids), inside the given transaction.
EraseHook = Callable[[UnitOfWork, list[str]], Awaitable[None]]

_RECORD = text(
    "INSERT INTO erased_leads (lead_id) SELECT unnest(CAST(:ids AS text[])) ON CONFLICT DO NOTHING"
)


def is_erasure(env: Envelope) -> bool:
    return env.type == LeadErased.TYPE


def live_events(envelopes: Sequence[Envelope], erased: Collection[str]) -> list[Envelope]:
    """The rule: an event about an erased lead is never applied; an erasure always is (it
    is what records the lead as erased, and a repeated one changes nothing)."""
    return [e for e in envelopes if e.subject not in erased or is_erasure(e)]


def honouring_erasure(
    handle: BatchHandler, erase: EraseHook | None, group: str, *, pass_on_erasures: bool = False
) -> BatchHandler:
    """Wrap a batch handler so erasure requests are applied and erased leads stay erased.

    With ``pass_on_erasures`` the handler is also given the erasures themselves, after the
    ``erase`` hook ran in the same transaction (the notifier delivers them to the webhook
    subscribers that ask for them: what it writes for an erasure outlives the erase)."""

    async def handle_batch(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> None:
        erased_now = list(
            dict.fromkeys(e.data.lead_id for e in envelopes if isinstance(e.data, LeadErased))
        )
        if erased_now:
            await uow.conn.execute(_RECORD, {"ids": erased_now})
            if erase is not None:
                await erase(uow, erased_now)
        kept = live_events(envelopes, erased_now)
        dropped = len(envelopes) - len(kept)
        live = kept if pass_on_erasures else [e for e in kept if not is_erasure(e)]
        if dropped:
            metrics.events_dropped_erased.labels(group).inc(dropped)
        if live:
            await handle(uow, live)

    return handle_batch
