"""Routing use cases: route scored leads and retry waiting ones.

Every routing decision runs under one advisory lock per batch (see store), against the
loads and cursors read inside that lock, so replicas never double-assign, rotation stays
fair and caps hold. An assignment in a queue with an SLA starts the lead's clock in the
same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.router.domain.lifecycle import StageFact, placed_again
from services.router.domain.load import PeriodStarts, period_starts, roll_load, weighted_open
from services.router.domain.model import LoadWeights, Rep, RepLoad, Routing
from services.router.domain.owners import Account, AccountKey, AccountOwner, account_of, note_owner
from services.router.domain.routing import (
    Assigned,
    QueueAttempt,
    RoutingDecision,
    ToNurture,
    Waiting,
    apply_assignment,
    is_nurture_bucket,
    route_lead,
    stays_decided,
)
from services.router.domain.rules import lead_facts
from services.router.domain.sla import SlaClock, start_clock
from services.router.handlers.ledger import Ledger, RepEvent, open_ledger, save_ledger
from services.router.handlers.source import RoutingSource
from services.router.handlers.stages import record_stages
from services.router.store import accounts as account_store
from services.router.store import leads as lead_store
from services.router.store import sla as sla_store
from services.router.store import stats as stats_store
from shared.contracts import (
    CandidateTrace,
    ContactSnapshot,
    LeadAssigned,
    LeadProfile,
    LeadRoutedToNurture,
    RepRef,
    RoutingTrace,
)
from shared.contracts.envelope import Event
from shared.contracts.router import ManagerRef, TeamRef
from shared.db.uow import UnitOfWork


@dataclass(frozen=True)
class LeadToRoute:
    lead_id: str
    score: float
    bucket: str
    profile: Mapping[str, Any]
    captured_at: datetime
    causation: str | None = None


@dataclass
class RoutingRound:
    """Loads, cursors and decisions of one locked batch, updated as leads are decided;
    ``version`` is the routing config's version the batch decides with."""

    routing: Routing
    version: int | None
    now: datetime
    loads: dict[str, RepLoad]
    periods: dict[str, PeriodStarts]
    cursors: dict[str, int]
    known: dict[str, lead_store.LeadRow]
    ledger: Ledger = field(default_factory=lambda: Ledger(None))
    owners: dict[AccountKey, tuple[AccountOwner, ...]] = field(default_factory=dict)
    decisions: list[lead_store.LeadDecision] = field(default_factory=list)
    score_updates: list[lead_store.ScoreUpdate] = field(default_factory=list)
    events: list[tuple[Event, str | None]] = field(default_factory=list)
    clocks: list[SlaClock] = field(default_factory=list)
    tally: stats_store.RepTally = field(default_factory=stats_store.RepTally)
    touched: set[str] = field(default_factory=set)
    placed: list[StageFact] = field(default_factory=list)

    def save_load_of(self, rep_id: str) -> None:
        """Write this rep's load when the round closes (reps no longer configured are not)."""
        if rep_id in self.periods:
            self.touched.add(rep_id)

    def note(self, event: RepEvent) -> None:
        """A rep's record changed (e.g. an SLA breach): a ledger entry, and their multiplier
        for the rest of the round."""
        if self.ledger.note(event) is not None and event.rep_id in self.loads:
            multiplier = self.ledger.multiplier_of(event.rep_id, self.now)
            self.loads[event.rep_id] = replace(self.loads[event.rep_id], multiplier=multiplier)


async def open_round(
    uow: UnitOfWork,
    source: RoutingSource,
    now: datetime,
    lead_ids: list[str],
    profiles: Sequence[Mapping[str, Any]] = (),
) -> RoutingRound:
    """Take the routing lock and read the state decisions depend on: the routing config version in
    force, loads, cursors, the leads already known, and who owns the accounts of
    ``profiles`` (when a queue matches owners), all inside the lock so replicas decide on
    the same facts.

    Loads: the stored counts brought to the rep's current day, week and month; with
    ``load_weights`` the open leads weighed by their current bucket (read with the loads, in
    the same statement); with ``fairness`` each rep's multiplier from the ledger entries in
    force (one more statement per batch)."""
    await lead_store.lock_routing(uow.conn)
    active = await source.current(uow.conn)
    routing = active.routing
    weights = routing.load_weights
    stored = await lead_store.load_rep_loads(uow.conn, open_by_bucket=weights is not None)
    ledger = await open_ledger(uow.conn, routing.fairness, now)
    shares = ledger.multipliers(routing.reps, now)
    loads: dict[str, RepLoad] = {}
    periods: dict[str, PeriodStarts] = {}
    for rep in routing.reps.values():
        loads[rep.id], periods[rep.id] = load_now(rep, stored.get(rep.id), weights, now)
        loads[rep.id] = replace(loads[rep.id], multiplier=shares[rep.id])
    cursors = await lead_store.load_cursors(uow.conn)
    known = await lead_store.load_leads(uow.conn, lead_ids)
    fields = tuple(sorted(routing.account_fields))
    keys = {k for p in profiles for k in account_of(p).keys(fields)} if fields else set()
    owners = await account_store.load_account_owners(uow.conn, keys)
    return RoutingRound(
        routing, active.version, now, loads, periods, cursors, known, ledger=ledger, owners=owners
    )


def load_now(
    rep: Rep, stored: lead_store.StoredLoad | None, weights: LoadWeights | None, now: datetime
) -> tuple[RepLoad, PeriodStarts]:
    """A rep's stored load as of ``now``: each period begun since starts at zero (a stored
    period never goes back); with ``weights`` the open leads weigh by bucket."""
    current = period_starts(rep.timezone, now)
    if stored is None:  # never counted: every period starts at zero now
        load, periods = roll_load(RepLoad(rep.id), None, current)
    else:
        load, periods = roll_load(stored.load, stored.periods, current)
    if weights is not None:
        by_bucket = stored.open_by_bucket if stored is not None else None
        load = replace(load, open_weight=weighted_open(by_bucket or {}, weights))
    return load, periods


def decide(rnd: RoutingRound, lead: LeadToRoute) -> None:
    """An owned lead keeps its owner; a nurtured lead stays until it qualifies; others route."""
    row = rnd.known.get(lead.lead_id)
    routing = rnd.routing
    account = account_of(lead.profile)
    nurture_bucket = is_nurture_bucket(lead.bucket, routing)
    if row is not None and stays_decided(row.status, nurture_bucket):
        rnd.score_updates.append(
            lead_store.ScoreUpdate(lead.lead_id, lead.score, lead.bucket, lead.profile,
                                   account.email_domain, account.company)
        )  # fmt: skip
        return
    facts = lead_facts(lead.profile, score=lead.score, bucket=lead.bucket)
    decision = route_lead(
        facts, lead.bucket, routing, rnd.loads, rnd.cursors, rnd.now, owners=rnd.owners
    )
    if row is not None:  # routed again (from nurture, waiting): a lost lead re-enters
        rnd.placed.append(placed_again(lead.lead_id, "routed", rnd.now))
    record_decision(rnd, lead, account, decision)


def record_decision(
    rnd: RoutingRound, lead: LeadToRoute, account: Account, decision: RoutingDecision
) -> None:
    """Apply a decision to the round: the rep's load and the queue's rotation, the lead's row,
    its SLA clock, the counters and the event (waiting leads have none)."""
    routing = rnd.routing
    if isinstance(decision, Assigned):
        rnd.loads, rnd.cursors = apply_assignment(
            decision, rnd.loads, rnd.cursors, routing.lead_weight(lead.bucket)
        )
        rnd.owners = note_owner(rnd.owners, account, decision.rep_id, rnd.now)
        rnd.save_load_of(decision.rep_id)
        assignment_id = str(uuid.uuid4())
        _record(rnd, lead, account, "assigned", decision.queue, decision.rep_id, assignment_id,
                decision.rule, assigned=True, sla_due_at=decision.sla_due_at)  # fmt: skip
        rnd.tally.add(decision.rep_id, rnd.now, "assigned")
        if decision.deadline is not None:
            rnd.clocks.append(
                start_clock(
                    lead.lead_id,
                    decision.queue,
                    lead.bucket,
                    decision.rep_id,
                    assignment_id,
                    decision.deadline,
                    rnd.now,
                )  # fmt: skip
            )
        event = assigned_event(routing, lead, decision, assignment_id, rnd.now, rnd.version)
        rnd.events.append((event, lead.causation))
    elif isinstance(decision, ToNurture):
        _record(rnd, lead, account, "nurture", None, None, None, None)
        rnd.events.append(
            (
                LeadRoutedToNurture(
                    lead_id=lead.lead_id,
                    bucket=lead.bucket,
                    score=lead.score,
                    routed_at=rnd.now,
                    lead=LeadProfile.model_validate(lead.profile),
                    reason=decision.reason,
                ),
                lead.causation,
            )
        )
    else:
        assert isinstance(decision, Waiting)
        _record(rnd, lead, account, "waiting", decision.queue, None, None, decision.rule)


def _record(
    rnd: RoutingRound,
    lead: LeadToRoute,
    account: Account,
    status: str,
    queue: str | None,
    rep_id: str | None,
    assignment_id: str | None,
    rule: str | None,
    *,
    assigned: bool = False,
    sla_due_at: datetime | None = None,
) -> None:
    rnd.decisions.append(
        lead_store.LeadDecision(
            lead.lead_id, status, queue, rep_id, assignment_id, rule, lead.score, lead.bucket,
            lead.profile, lead.captured_at, rnd.now, rnd.now if assigned else None, sla_due_at,
            account.email_domain, account.company, rnd.version,
        )
    )  # fmt: skip
    rnd.known[lead.lead_id] = lead_store.LeadRow(
        lead.lead_id, status, queue, rep_id, assignment_id, lead.score, lead.bucket,
        dict(lead.profile), lead.captured_at, None, rule, rnd.now if assigned else None,
    )  # fmt: skip


def rep_ref(routing: Routing, rep_id: str) -> RepRef:
    """The rep as events name it; a rep since removed from the routing config keeps its id."""
    rep = routing.reps.get(rep_id)
    if rep is None:
        return RepRef(rep_id=rep_id, name=rep_id)
    return RepRef(rep_id=rep.id, name=rep.name, email=rep.email, timezone=rep.timezone.key)


def team_ref(routing: Routing, rep_id: str) -> TeamRef | None:
    """The rep's team and manager as events name them (None: the rep is in no team)."""
    team = routing.team_of(rep_id)
    if team is None:
        return None
    m = team.manager
    manager = ManagerRef(name=m.name, email=m.email, slack_user_id=m.slack_user_id, rep_id=m.rep)
    return TeamRef(name=team.name, manager=manager)


def candidate_traces(
    attempts: tuple[QueueAttempt, ...], routing: Routing | None = None
) -> list[CandidateTrace]:
    return [
        CandidateTrace(
            rep_id=c.rep_id,
            eligible=c.eligible,
            reason=f"{a.queue}: {c.reason}",
            multiplier=c.multiplier,
            weight=_weight(routing, c.rep_id),
        )
        for a in attempts
        for c in a.choice.candidates
    ]


def pool_trace(
    routing: Routing, attempts: tuple[QueueAttempt, ...], rep_id: str
) -> list[CandidateTrace] | None:
    """The picking queue's members as fairness reads them, from the attempt that picked
    ``rep_id``; None when no share strategy picked (the account's owner, a named rep)."""
    picked = next((a for a in attempts if a.choice.rep_id == rep_id and a.choice.pool), None)
    if picked is None:
        return None
    return [
        CandidateTrace(rep_id=c.rep_id, eligible=c.eligible, reason=f"{picked.queue}: {c.reason}",
                       multiplier=c.multiplier, weight=_weight(routing, c.rep_id))
        for c in picked.choice.pool
    ]  # fmt: skip


def _weight(routing: Routing | None, rep_id: str) -> int | None:
    rep = routing.reps.get(rep_id) if routing is not None else None
    return rep.weight if rep is not None else None


def assigned_event(
    routing: Routing,
    lead: LeadToRoute,
    d: Assigned,
    assignment_id: str,
    now: datetime,
    config_version: int | None = None,
) -> LeadAssigned:
    profile = LeadProfile.model_validate(lead.profile)
    return LeadAssigned(
        lead_id=lead.lead_id,
        assignment_id=assignment_id,
        queue=d.queue,
        rep=rep_ref(routing, d.rep_id),
        team=team_ref(routing, d.rep_id),
        lead=ContactSnapshot.of(profile),
        score=lead.score,
        bucket=lead.bucket,
        source=profile.source,
        captured_at=lead.captured_at,
        assigned_at=now,
        sla_due_at=d.sla_due_at,
        trace=RoutingTrace(
            rule=d.rule,
            queue=d.matched_queue,
            strategy=d.choice.strategy,
            candidates=candidate_traces(d.attempts, routing),
            pool=pool_trace(routing, d.attempts, d.rep_id),
            explanation=d.trace,
            account=d.account,
            config_version=config_version,
        ),
    )


async def close_round(uow: UnitOfWork, rnd: RoutingRound) -> None:
    """Persist the round's decisions, loads, cursors, SLA clocks and counters; emit its events;
    a lost lead routed again re-enters the funnel (lifecycle stage)."""
    await lead_store.save_decisions(uow.conn, rnd.decisions)
    await lead_store.update_scores(uow.conn, rnd.score_updates)
    if rnd.touched:
        await lead_store.save_rep_loads(
            uow.conn,
            {r: lead_store.StoredLoad(rnd.loads[r], rnd.periods[r]) for r in sorted(rnd.touched)},
        )
        await lead_store.save_cursors(uow.conn, rnd.cursors)
    if rnd.clocks:
        await sla_store.save_clocks(uow.conn, rnd.clocks)
        await sla_store.arm_timers(
            uow.conn, [t for c in rnd.clocks for t in sla_store.timers_for(c)]
        )
    await stats_store.save_tally(uow.conn, rnd.tally)
    await save_ledger(uow.conn, rnd.ledger)
    for event, causation in rnd.events:
        uow.emit(event, causationid=causation)
    await record_stages(uow, rnd.placed)


async def retry_waiting(
    uow: UnitOfWork, source: RoutingSource, now: datetime, limit: int = 500
) -> int:
    """Leads nobody could take are offered again (someone came online or freed capacity)."""
    await lead_store.lock_routing(uow.conn)
    waiting = await lead_store.load_waiting(uow.conn, limit)
    if not waiting:
        return 0
    rnd = await open_round(
        uow, source, now, [w.lead_id for w in waiting], [w.profile for w in waiting]
    )
    for row in waiting:
        decide(rnd, LeadToRoute(row.lead_id, row.score, row.bucket, row.profile, row.captured_at))
    await close_round(uow, rnd)
    return sum(1 for d in rnd.decisions if d.status != "waiting")
