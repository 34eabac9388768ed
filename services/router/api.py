"""The router's HTTP API: simulate a decision, read assignments, reps and queues."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.router import domain, store
from services.router.domain import Assigned, Routing, ToNurture
from services.router.handlers import open_round
from shared.contracts import LeadProfile
from shared.contracts.envelope import now_utc
from shared.db.uow import UnitOfWork
from shared.http import ApiError
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/v1", tags=["routing"])


class SimulateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: LeadProfile = Field(description="The lead as capture would clean it")
    score: float = Field(0, description="Score to assume")
    bucket: str = Field("warm", min_length=1, description="Bucket to assume")
    at: datetime | None = Field(None, description="Decide as of this time (default: now)")


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
    strategy: str | None = None
    sla_due_at: datetime | None = None
    candidates: list[CandidateOut] = []
    explanation: str


def _routing(runtime: Runtime) -> Routing:
    routing: Routing = runtime.state["routing"]
    return routing


@router.post(
    "/routing:simulate",
    response_model=SimulateOut,
    summary="Where would this lead go, and why? Uses live loads and rotation; changes nothing",
)
async def simulate(body: SimulateIn, runtime: RuntimeDep) -> SimulateOut:
    at = body.at or now_utc()
    if at.tzinfo is None:
        raise ApiError(422, "invalid_request", "at: needs a time zone",
                       [{"field": "at", "problem": "needs a time zone"}])  # fmt: skip
    routing = _routing(runtime)
    async with UnitOfWork(runtime.engine, "router-simulate") as uow:  # rolled back: read-only
        rnd = await open_round(uow, routing, at, [])
    facts = domain.lead_facts(
        body.lead.model_dump(mode="json"), score=body.score, bucket=body.bucket
    )
    d = domain.route_lead(facts, body.bucket, routing, rnd.loads, rnd.cursors, at)
    if isinstance(d, ToNurture):
        return SimulateOut(outcome="nurture", explanation=d.reason)
    candidates = [
        CandidateOut(queue=a.queue, rep_id=c.rep_id, eligible=c.eligible, reason=c.reason)
        for a in d.attempts
        for c in a.choice.candidates
    ]
    if isinstance(d, Assigned):
        return SimulateOut(
            outcome="assigned", rule=d.rule, matched_queue=d.matched_queue, queue=d.queue,
            rep_id=d.rep_id, strategy=d.choice.strategy, sla_due_at=d.sla_due_at,
            candidates=candidates, explanation=d.trace,
        )  # fmt: skip
    return SimulateOut(
        outcome="waiting", rule=d.rule, queue=d.queue, candidates=candidates, explanation=d.trace
    )


@router.get("/leads/{lead_id}/assignment", summary="The router's decision for a lead")
async def read_assignment(lead_id: UUID, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.engine.connect() as conn:
        lead = await store.get_lead(conn, str(lead_id))
    if lead is None:
        raise ApiError(404, "unknown_lead", f"the router has no decision for lead {lead_id}")
    return lead


@router.get("/reps", summary="Reps with their availability now and their workload")
async def list_reps(runtime: RuntimeDep) -> list[dict[str, Any]]:
    routing = _routing(runtime)
    now = now_utc()
    async with runtime.engine.connect() as conn:
        loads = await store.load_rep_loads(conn)
    out = []
    for rep in routing.reps.values():
        available, why = domain.is_available(rep, now)
        load = loads.get(rep.id)
        out.append({
            "rep_id": rep.id, "name": rep.name, "email": rep.email,
            "timezone": str(rep.timezone), "available": available, "availability": why,
            "open_leads": load.load.open_leads if load else 0,
            "assigned_today": load.load.assigned_today if load else 0,
            "max_open": rep.max_open, "max_per_day": rep.max_per_day, "weight": rep.weight,
            "skills": sorted(rep.skills), "languages": sorted(rep.languages),
        })  # fmt: skip
    return out


@router.get("/queues", summary="Queues with members, strategy, rotation and waiting leads")
async def list_queues(runtime: RuntimeDep) -> list[dict[str, Any]]:
    routing = _routing(runtime)
    async with runtime.engine.connect() as conn:
        cursors = await store.load_cursors(conn)
        counts = await store.queue_counts(conn)
    return [
        {
            "name": q.name,
            "department": q.department,
            "region": q.region,
            "strategy": q.strategy,
            "members": list(q.members),
            "fallback": q.fallback,
            "sla_minutes": q.sla_minutes,
            "cursor": cursors.get(q.name, 0),
            "waiting": counts.get(q.name, {}).get("waiting", 0),
            "open": counts.get(q.name, {}).get("open", 0),
        }  # fmt: skip
        for q in routing.queues.values()
    ]
