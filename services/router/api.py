"""The router's HTTP API: simulate a decision, read assignments, reps, queues and the
per-rep SLA and outcome figures. Everything reads the routing config version in force
(the admin API that changes it is in :mod:`services.router.admin`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat

from services.router.deps import RoutingDep, RuntimeDep
from services.router.domain.availability import is_available
from services.router.domain.model import Routing, SlaPolicy
from services.router.domain.routing import Assigned, ToNurture, route_lead
from services.router.domain.rules import lead_facts
from services.router.domain.sla import mean, sla_met_rate
from services.router.handlers.ledger import open_ledger
from services.router.handlers.recycling import UnknownLead, snooze
from services.router.handlers.routing import load_now, open_round
from services.router.store import leads as lead_store
from services.router.store import sla as sla_store
from services.router.store import stats as stats_store
from shared.auth.guard import ConfigRead, LeadsRead, ReportsRead, RoutingAdmin
from shared.config import duration_text
from shared.contracts import LeadProfile
from shared.db import audit
from shared.db.uow import UnitOfWork
from shared.http import ApiError
from shared.params import NO_NUL, IsoDate, IsoDateTime

router = APIRouter(prefix="/v1", tags=["routing"])


class SimulatedLead(LeadProfile):
    """A lead profile as capture would send it, its values taken only as the document types
    them (strict: no ``false`` for a number)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: SimulatedLead = Field(description="The lead as capture would clean it")
    score: StrictFloat = Field(0, description="Score to assume")
    bucket: str = Field("warm", min_length=1, description="Bucket to assume")
    at: IsoDateTime | None = Field(None, description="Decide as of this time (default: now)")


class CandidateOut(BaseModel):
    queue: str
    rep_id: str
    eligible: bool
    reason: str


class SimulateOut(BaseModel):
    outcome: str = Field(description="assigned, nurture or waiting")
    rule: str | None = None
    matched_queue: str | None = None
    queue: str | None = None
    rep_id: str | None = None
    strategy: str | None = Field(
        None, description="What picked the rep: the queue's strategy, or owner_match"
    )
    account: str | None = Field(
        None, description="The account whose existing owner was asked first, if any"
    )
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None
    candidates: list[CandidateOut] = []
    explanation: str
    config_version: int | None = Field(
        None, description="Version of the routing config the answer used"
    )


class RepStatsOut(BaseModel):
    rep_id: str
    name: str | None = Field(None, description="Null for a rep no longer in the config")
    assigned: int = Field(description="Leads the rep got, reassignments to them included")
    contacted: int = Field(description="Leads the rep reached first (first contacts)")
    contacted_within_sla: int = Field(description="First contacts made by the SLA deadline")
    breached: int = Field(description="SLA deadlines the rep missed")
    reassigned_away: int = Field(description="Leads taken from the rep after a breach")
    won: int = Field(description="Leads the rep owned when they were won")
    sla_met_rate: float | None = Field(
        None, description="contacted_within_sla / (contacted_within_sla + breached)"
    )
    avg_first_contact_s: float | None = Field(
        None, description="Mean seconds from assignment to the rep's first contact"
    )


class RepReportOut(BaseModel):
    since: date | None = Field(description="First UTC day counted (null: since the start)")
    reps: list[RepStatsOut] = Field(description="Configured reps in config order, then others")


Since = Annotated[
    IsoDate | None, Query(description="Count from this UTC day on (YYYY-MM-DD); default: all")
]


@router.post(
    "/routing:simulate",
    response_model=SimulateOut,
    summary="Where would this lead go, and why? Uses live loads and rotation; changes nothing",
)
async def simulate(
    body: SimulateIn, runtime: RuntimeDep, source: RoutingDep, caller: ConfigRead
) -> SimulateOut:
    at = body.at or runtime.deps.clock()
    if at.tzinfo is None:
        raise ApiError(422, "invalid_request", "at: needs a time zone",
                       [{"field": "at", "problem": "needs a time zone"}])  # fmt: skip
    profile = body.lead.model_dump(mode="json")
    async with UnitOfWork(runtime.engine, "router-simulate") as uow:  # rolled back: read-only
        rnd = await open_round(uow, source, at, [], [profile])
    routing, version = rnd.routing, rnd.version
    facts = lead_facts(profile, score=body.score, bucket=body.bucket)
    d = route_lead(facts, body.bucket, routing, rnd.loads, rnd.cursors, at, owners=rnd.owners)
    if isinstance(d, ToNurture):
        return SimulateOut(outcome="nurture", explanation=d.reason, config_version=version)
    candidates = [
        CandidateOut(queue=a.queue, rep_id=c.rep_id, eligible=c.eligible, reason=c.reason)
        for a in d.attempts
        for c in a.choice.candidates
    ]
    if isinstance(d, Assigned):
        return SimulateOut(
            outcome="assigned", rule=d.rule, matched_queue=d.matched_queue, queue=d.queue,
            rep_id=d.rep_id, strategy=d.choice.strategy, account=d.account,
            sla_due_at=d.sla_due_at,
            sla_warn_at=d.deadline.warn_at if d.deadline else None, candidates=candidates,
            explanation=d.trace, config_version=version,
        )  # fmt: skip
    return SimulateOut(
        outcome="waiting", rule=d.rule, queue=d.queue, candidates=candidates,
        explanation=d.trace, config_version=version,
    )  # fmt: skip


@router.get(
    "/leads/{lead_id}/assignment",
    responses={404: {"description": "The router has decided nothing for this lead"}},
    summary="The router's decision for a lead, with its first-contact SLA clock",
)
async def read_assignment(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> dict[str, Any]:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        lead = await lead_store.get_lead(conn, str(lead_id))
        clock = None
        if lead is not None:
            clock = await sla_store.clock_view(conn, str(lead_id))
            await audit.append(conn, caller.subject, "lead.assignment_read", str(lead_id))
    if lead is None:
        raise ApiError(404, "unknown_lead", f"the router has no decision for lead {lead_id}")
    return {**lead, "sla": clock}


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: AwareDatetime = Field(description="When the lead is routed again (with an offset)")
    reason: str = Field(
        min_length=1, max_length=500, pattern=r"\S", description="Why, e.g. 'call in Q3'"
    )


class SnoozeOut(BaseModel):
    lead_id: UUID
    status: str = Field(description="snoozed")
    until: datetime = Field(description="When the lead is routed again (UTC)")
    reason: str
    was: str = Field(description="The lead's status before: assigned, waiting, nurture, snoozed")
    previous_rep: str | None = Field(
        description="The rep whose open lead it was (their open count dropped); null: none"
    )


@router.post(
    "/leads/{lead_id}:snooze",
    response_model=SnoozeOut,
    responses={
        404: {"description": "The router has no decision for the lead"},
        422: {"description": "Invalid body, or `until_not_in_future`"},
    },
    summary="Park a lead until a date (future interest); it is routed again then. Audited",
)
async def snooze_lead(
    lead_id: UUID, body: SnoozeIn, runtime: RuntimeDep, source: RoutingDep, caller: RoutingAdmin
) -> SnoozeOut:
    now = runtime.deps.clock()
    if body.until <= now:
        problem = f"must be in the future (now is {now:%Y-%m-%dT%H:%M:%SZ})"
        raise ApiError(422, "until_not_in_future", f"until: {problem}",
                       [{"field": "until", "problem": problem}])  # fmt: skip
    uow = runtime.uow()
    async with uow:
        try:
            row, previous = await snooze(uow, source, str(lead_id), body.until, body.reason,
                                         now, caller.subject)  # fmt: skip
        except UnknownLead as exc:
            raise ApiError(
                404, "unknown_lead", f"the router has no decision for lead {lead_id}"
            ) from exc
        await uow.commit()
    return SnoozeOut(lead_id=lead_id, status="snoozed", until=body.until, reason=body.reason,
                     was=row.status, previous_rep=previous)  # fmt: skip


@router.get("/reps", summary="Reps with their availability now, workload, caps and multiplier")
async def list_reps(
    runtime: RuntimeDep, source: RoutingDep, caller: ConfigRead
) -> list[dict[str, Any]]:
    now = runtime.deps.clock()
    async with runtime.engine.connect() as conn:
        routing = (await source.current(conn)).routing
        weights = routing.load_weights
        stored = await lead_store.load_rep_loads(conn, open_by_bucket=weights is not None)
        ledger = await open_ledger(conn, routing.fairness, now)
    shares = ledger.multipliers(routing.reps, now)
    out = []
    for rep in routing.reps.values():
        available, why = is_available(rep, now)
        load, _ = load_now(rep, stored.get(rep.id), weights, now)
        out.append({
            "rep_id": rep.id, "name": rep.name, "email": rep.email,
            "timezone": str(rep.timezone), "available": available, "availability": why,
            "open_leads": load.open_leads, "open_weight": load.open_weight,
            "assigned_today": load.assigned_today, "assigned_week": load.assigned_week or 0,
            "assigned_month": load.assigned_month or 0,
            "max_open": rep.max_open, "max_per_day": rep.max_per_day,
            "max_per_week": rep.max_per_week, "max_per_month": rep.max_per_month,
            "weight": rep.weight, "multiplier": shares[rep.id],
            "skills": sorted(rep.skills), "languages": sorted(rep.languages),
        })  # fmt: skip
    return out


@router.get("/queues", summary="Queues with members, strategy, rotation and waiting leads")
async def list_queues(
    runtime: RuntimeDep, source: RoutingDep, caller: ConfigRead
) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        routing = (await source.current(conn)).routing
        cursors = await lead_store.load_cursors(conn)
        counts = await lead_store.queue_counts(conn)
    return [
        {
            "name": q.name,
            "department": q.department,
            "region": q.region,
            "strategy": q.strategy,
            "members": list(q.members),
            "fallback": q.fallback,
            "sla": _sla_out(q.sla),
            "cursor": cursors.get(q.name, 0),
            "waiting": counts.get(q.name, {}).get("waiting", 0),
            "open": counts.get(q.name, {}).get("open", 0),
        }  # fmt: skip
        for q in routing.queues.values()
    ]


def _sla_out(policy: SlaPolicy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    then = policy.then
    return {
        "first_contact": duration_text(policy.first_contact),
        "by_bucket": {b: duration_text(t) for b, t in policy.by_bucket},
        "warn_before": duration_text(policy.warn_before) if policy.warn_before else None,
        "business_hours": policy.business_hours,
        "max_attempts": policy.max_attempts,
        "then": None if then is None else {"queue": then.queue, "rep": then.rep},
    }


def _stats(routing: Routing, rep_id: str, counts: dict[str, float]) -> RepStatsOut:
    rep = routing.reps.get(rep_id)
    return stats_of(rep_id, rep.name if rep is not None else None, counts)


def stats_of(rep_id: str, name: str | None, counts: dict[str, float]) -> RepStatsOut:
    """The figures from summed counters; rates come from the sums (a rep's or a team's)."""
    n = {c: int(counts.get(c, 0)) for c in stats_store.COUNTERS if c != "response_seconds"}
    return RepStatsOut(
        rep_id=rep_id,
        name=name,
        assigned=n["assigned"],
        contacted=n["contacted"],
        contacted_within_sla=n["contacted_within_sla"],
        breached=n["breached"],
        reassigned_away=n["reassigned_away"],
        won=n["won"],
        sla_met_rate=sla_met_rate(n["contacted_within_sla"], n["breached"]),
        avg_first_contact_s=mean(counts.get("response_seconds", 0.0), n["responses"]),
    )


@router.get(
    "/reps/{rep_id}/stats",
    responses={404: {"description": "No rep of that id in the config or the figures"}},
    response_model=RepStatsOut,
    tags=["reports"],
    summary="A rep's figures: assigned, contacted (within SLA), breached, reassigned away, won",
)
async def rep_stats(
    rep_id: Annotated[str, Path(pattern=NO_NUL)],
    runtime: RuntimeDep,
    source: RoutingDep,
    caller: ReportsRead,
    since: Since = None,
) -> RepStatsOut:
    async with runtime.engine.connect() as conn:
        routing = (await source.current(conn)).routing
        totals = await stats_store.rep_totals(conn, since, rep_id)
    if rep_id not in routing.reps and rep_id not in totals:
        raise ApiError(404, "unknown_rep", f"no rep {rep_id!r} in the config or the figures")
    return _stats(routing, rep_id, totals.get(rep_id, {}))


@router.get(
    "/reports/reps",
    response_model=RepReportOut,
    tags=["reports"],
    summary="Every rep's figures, to compare high and low performers",
)
async def reps_report(
    runtime: RuntimeDep, source: RoutingDep, caller: ReportsRead, since: Since = None
) -> RepReportOut:
    async with runtime.engine.connect() as conn:
        routing = (await source.current(conn)).routing
        totals = await stats_store.rep_totals(conn, since)
    order = [*routing.reps, *sorted(set(totals) - set(routing.reps))]
    return RepReportOut(since=since, reps=[_stats(routing, r, totals.get(r, {})) for r in order])
