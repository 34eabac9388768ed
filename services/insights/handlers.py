"""The insights consumer's batch: observe every event, then refold the touched leads.

1. each event becomes an observation (``observations.OBSERVERS``), noted in a
   :class:`BatchState` with its event id, and an SLA event that names a team notes the
   rep's team;
2. :func:`save` stores the new observations, reads every observation of the touched leads
   (one query), folds each lead's fact row with ``domain.facts.derive_fact`` and upserts
   them (one statement), and records the teams.

Refolding from all of a lead's observations, instead of patching its row, makes the row
independent of the order events arrive in from their many topics, so a rebuild from the
topics (any batching) gives the same rows. Insights emits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.insights.domain.facts import FactRules, Observation, derive_fact
from services.insights.observations import OBSERVERS
from services.insights.store import facts as store
from shared.bus.consumer import BatchHandler
from shared.bus.dispatch import EventHandler, batch_handler
from shared.contracts.envelope import Envelope, Event
from shared.db.uow import UnitOfWork


@dataclass
class BatchState:
    observed: list[tuple[str, str, Observation]] = field(default_factory=list)
    teams: dict[str, tuple[str, datetime]] = field(default_factory=dict)


def observe(state: BatchState, env: Envelope) -> None:
    """Every lead event is kept as an observation of its lead."""
    observation = OBSERVERS[type(env.data)](env.data)
    state.observed.append((env.id, env.subject, observation))
    team, rep = observation.data.get("team"), observation.data.get("rep_id")
    if isinstance(team, str) and isinstance(rep, str):
        seen = state.teams.get(rep)
        if seen is None or (observation.at, team) > (seen[1], seen[0]):
            state.teams[rep] = (team, observation.at)


async def refold(uow: UnitOfWork, state: BatchState, rules: FactRules) -> None:
    """Store the batch's observations and recompute the fact row of every lead it touched."""
    await store.insert_observations(uow.conn, state.observed)
    leads = sorted({lead for _, lead, _ in state.observed})
    await store.lock_leads(uow.conn, leads)
    observed = await store.observations_of(uow.conn, leads)
    await store.save_facts(uow.conn, [derive_fact(lead, observed[lead], rules) for lead in leads])
    await store.save_teams(uow.conn, state.teams)
    await store.mark_applied(uow.conn)


def make_batch_handler(rules: FactRules) -> BatchHandler:
    async def load(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> BatchState:
        return BatchState()

    async def save(uow: UnitOfWork, state: BatchState) -> None:
        await refold(uow, state, rules)

    return batch_handler(HANDLERS, load, save)


HANDLERS: dict[type[Event], EventHandler[BatchState]] = dict.fromkeys(OBSERVERS, observe)
