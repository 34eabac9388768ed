"""What the router reacts to: scored leads are routed; first contacts stop SLA clocks; won and
lost close leads (lost ones may be recycled, as may disqualified ones); fast first contacts
and wins are fairness-ledger entries; touches and replies warm leads up; follow-up touches
nurture settled late or missed lower their rep's share; qualifying scores, contacts, meetings
and outcomes move lifecycle stages; erased leads leave. The HANDLERS table at the bottom
lists it.

A late or missed follow-up touch (``LeadFollowupClosed``) appends a
:class:`~services.router.handlers.ledger.RepEvent` to ``RouterBatch.rep_events`` (kind
``touch_late`` or ``touch_missed``, the event id as ``source_id``), and the batch writes the
ledger entries in its transaction (once: the inbox drops a redelivery, the ledger a second
entry with the same source). ``gone_cold`` entries are written by the gone-cold scan
(:mod:`services.router.handlers.recycling`), which is what announces ``lead.gone_cold``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.router.domain.cold import warms_up
from services.router.domain.lifecycle import StageFact, qualified, stage_of_activity
from services.router.domain.model import Routing
from services.router.domain.sla import is_first_contact
from services.router.domain.touches import SettledTouch, touch_entry
from services.router.handlers.ledger import RepEvent, save_ledger
from services.router.handlers.recycling import (
    note_touches,
    recycle_disqualified,
    recycle_lost,
)
from services.router.handlers.routing import LeadToRoute, close_round, decide, open_round
from services.router.handlers.sla import close_won_lost, record_contacts, utc
from services.router.handlers.source import FixedRouting, RoutingSource
from services.router.handlers.stages import record_stages
from services.router.store import leads as lead_store
from services.router.store import ledger as ledger_store
from shared.bus.consumer import BatchHandler
from shared.bus.dispatch import batch_handler
from shared.clock import Clock, now
from shared.contracts import (
    LeadActivityRecorded,
    LeadDisqualified,
    LeadFollowupClosed,
    LeadScored,
)
from shared.contracts.envelope import Envelope, Event
from shared.db.uow import UnitOfWork


@dataclass
class RouterBatch:
    """What a batch brings: leads to route, contacts that stop or close their clocks, and
    what reps did that the fairness ledger counts (``rep_events``)."""

    scored: list[LeadToRoute] = field(default_factory=list)
    contacts: list[LeadActivityRecorded] = field(default_factory=list)
    rep_events: list[RepEvent] = field(default_factory=list)
    touches: list[LeadActivityRecorded] = field(default_factory=list)
    disqualified: list[LeadDisqualified] = field(default_factory=list)
    qualified: list[StageFact] = field(default_factory=list)
    stage_moves: list[StageFact] = field(default_factory=list)

    def stage_facts(self) -> list[StageFact]:
        """Lifecycle facts in the order the batch applies them: qualifying scores (the leads
        are decided first), then activities by when they happened."""
        return [*self.qualified, *sorted(self.stage_moves, key=lambda f: utc(f.at))]


def route_scored_lead(batch: RouterBatch, env: Envelope) -> None:
    """Every scored lead is routed (a lead already decided stays as it is: see ``decide``)."""
    event = env.data
    assert isinstance(event, LeadScored)
    batch.scored.append(
        LeadToRoute(
            event.lead_id,
            event.score,
            event.bucket,
            event.lead.model_dump(mode="json"),
            event.captured_at,
            env.id,
        )
    )
    if event.qualified:
        batch.qualified.append(qualified(event.lead_id, event.scored_at, env.id))


def note_contact(batch: RouterBatch, env: Envelope) -> None:
    """A first contact (or a won/lost outcome) stops the lead's SLA clock; a lost lead may be
    recycled; a touch or a reply warms the lead up (it is not cold)."""
    event = env.data
    assert isinstance(event, LeadActivityRecorded)
    if is_first_contact(event.kind):
        batch.contacts.append(event)
    if warms_up(event.kind):
        batch.touches.append(event)
    stage = stage_of_activity(event.kind)
    if stage is not None:
        batch.stage_moves.append(
            StageFact(event.lead_id, stage, str(event.kind), event.occurred_at, causation=env.id)
        )


def note_disqualified(batch: RouterBatch, env: Envelope) -> None:
    """An open lead whose score fell below the threshold may be recycled."""
    event = env.data
    assert isinstance(event, LeadDisqualified)
    batch.disqualified.append(event)


def note_followup_closed(batch: RouterBatch, env: Envelope) -> None:
    """A follow-up touch done late or missed is a ledger entry for the rep who owed it."""
    event = env.data
    assert isinstance(event, LeadFollowupClosed)
    touch = SettledTouch(event.outcome, event.mode, event.step, event.of, event.due_at,
                         event.closes_at, event.done_at)  # fmt: skip
    entry = touch_entry(touch)
    if entry is not None:
        batch.rep_events.append(
            RepEvent(event.rep_id, entry.kind, entry.at, entry.reason, env.id, event.lead_id)
        )


def make_batch_handler(routing: Routing | RoutingSource, clock: Clock = now) -> BatchHandler:
    """A batch with scored leads or contacts takes the routing lock once, so it never races
    the breach job (nor a config change: the batch decides with the version in force once it
    holds the lock)."""
    source = FixedRouting(routing) if isinstance(routing, Routing) else routing

    async def load(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> RouterBatch:
        return RouterBatch()

    async def save(uow: UnitOfWork, batch: RouterBatch) -> None:
        if not (
            batch.scored or batch.contacts or batch.rep_events or batch.touches
            or batch.disqualified
        ):  # fmt: skip
            return
        now = clock()
        rnd = await open_round(
            uow, source, now, [s.lead_id for s in batch.scored], [s.profile for s in batch.scored]
        )
        for event in batch.rep_events:
            rnd.note(event)
        for lead in batch.scored:
            decide(rnd, lead)
        await close_round(uow, rnd)
        if batch.contacts:
            await record_contacts(uow, batch.contacts, rnd.ledger)
            closed = await close_won_lost(uow, batch.contacts, now, rnd.ledger)
            await save_ledger(uow.conn, rnd.ledger)
            await recycle_lost(uow, rnd, batch.contacts, closed)
        await note_touches(uow, batch.touches)
        await recycle_disqualified(uow, rnd, batch.disqualified)
        await record_stages(uow, batch.stage_facts())

    return batch_handler(HANDLERS, load, save)


async def erase_leads(uow: UnitOfWork, lead_ids: list[str]) -> None:
    """An erased lead leaves the router: its decision, SLA clock and timers go (no timer may
    announce the person again), and an open assignment frees the rep's capacity."""
    ids = [i for i in lead_ids if _is_uuid(i)]
    if not ids:
        return
    await lead_store.lock_routing(uow.conn)
    reps = await lead_store.forget_leads(uow.conn, ids)
    await lead_store.release_load(uow.conn, reps)
    await ledger_store.forget_leads(uow.conn, ids)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


Handler = Callable[[RouterBatch, Envelope], None]

HANDLERS: dict[type[Event], Handler] = {
    LeadScored: route_scored_lead,
    LeadActivityRecorded: note_contact,
    LeadDisqualified: note_disqualified,
    LeadFollowupClosed: note_followup_closed,
}
