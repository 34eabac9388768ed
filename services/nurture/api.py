"""Nurture's HTTP API: a lead's enrollments and follow-up plan, the configured sequences,
a manual stop."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.nurture import domain, followup_store, handlers, store
from services.nurture.deps import RulesDep, RuntimeDep
from shared.auth.guard import ConfigRead, LeadsRead, NurtureManage
from shared.contracts import ContactSnapshot
from shared.db import audit
from shared.http import ApiError

router = APIRouter(prefix="/v1", tags=["nurture"])


class StepOut(BaseModel):
    step: int = Field(description="1-based touch number")
    total: int = Field(description="Touches in the sequence")
    mode: str = Field(description="call, email, sms or task")
    template: str | None = Field(description="Template or script name")
    due_at: datetime = Field(description="When the touch is (or was) due, UTC")
    status: Literal["pending", "sent", "cancelled", "skipped"]
    skipped_by: str | None = Field(
        None, description="unsubscribed, hard_bounce, ... when its mode is suppressed"
    )
    sent_at: datetime | None = Field(description="When NurtureStepDue was emitted")


class EnrollmentOut(BaseModel):
    enrollment_id: UUID
    sequence: str
    status: Literal["active", "stopped", "completed"]
    reason: str | None = Field(description="Why it ended (responded: replied, assigned, ...)")
    contact: ContactSnapshot
    routed_at: datetime = Field(description="When the router sent the lead to nurture")
    enrolled_at: datetime
    stopped_at: datetime | None = Field(description="When it stopped or completed")
    zone: str | None = Field(
        None, description="The lead's time zone its touches were placed in (quiet hours, caps)"
    )
    zone_source: str | None = Field(
        None, description="What chose the zone: country, phone, configured, default"
    )
    steps: list[StepOut]


class LeadNurture(BaseModel):
    lead_id: UUID
    enrollments: list[EnrollmentOut] = Field(description="Oldest first")


class SequenceOut(BaseModel):
    name: str
    buckets: list[str]
    sales_cycle_weeks: float = Field(description="C")
    weeks_between_touches: float = Field(description="A")
    touches: int = Field(description="N = C / A + 1 (C / A floored)")
    interval_seconds: float = Field(description="Spacing between touches")
    first_touch_after_seconds: float = Field(description="Delay before the first touch")
    modes: list[str]
    templates: list[str]
    recycled: list[str] = Field(
        description="Recycle causes (gone_cold, lost, disqualified) whose leads join it"
    )


class SequencesOut(BaseModel):
    sequences: list[SequenceOut]
    stop_on: list[str] = Field(description="Activity kinds that end a sequence")


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1, max_length=200, pattern=r"\S", description="Why the lead leaves nurture"
    )

    @field_validator("reason")
    @classmethod
    def _reason_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class StopOut(BaseModel):
    lead_id: UUID
    enrollment_id: UUID
    status: Literal["stopped"]
    reason: str


@router.get(
    "/leads/{lead_id}/nurture",
    response_model=LeadNurture,
    responses={404: {"description": "The lead was never enrolled"}},
    summary="A lead's nurture enrollments and their touches",
)
async def read_lead_nurture(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> Any:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        enrollments = await store.enrollments_of_lead(conn, str(lead_id))
        if enrollments:
            await audit.append(conn, caller.subject, "lead.nurture_read", str(lead_id))
    if not enrollments:
        raise ApiError(404, "unknown_lead", f"lead {lead_id} was never enrolled in nurture")
    return {"lead_id": lead_id, "enrollments": enrollments}


class TouchOut(BaseModel):
    step: int = Field(description="1-based touch number")
    of: int = Field(description="Touches in the plan (N)")
    mode: str = Field(description="call, email, sms, meeting or task")
    rep_id: str = Field(description="Who owes it (an open touch moves with a reassignment)")
    rep_name: str
    due_at: datetime = Field(description="When it is (or was) due, UTC, in the lead's hours")
    closes_at: datetime = Field(description="Not done by then: missed")
    status: Literal["pending", "due", "done", "late", "missed", "skipped", "cancelled"]
    skipped_by: str | None = Field(description="unsubscribed, hard_bounce, ... when skipped")
    done_at: datetime | None = Field(description="When the activity that completed it happened")
    announced_at: datetime | None = Field(description="When LeadFollowupDue was emitted")


class PlanOut(BaseModel):
    plan_id: UUID
    bucket: str = Field(description="The lead's bucket, which chose the plan")
    rep_id: str = Field(description="The lead's owner")
    rep_name: str
    zone: str = Field(description="The lead's time zone (quiet hours, caps)")
    zone_source: str = Field(description="What chose it: country, phone, configured, default")
    assigned_at: datetime
    status: Literal["active", "ended"]
    reason: str | None = Field(description="Why it ended (converted: won, closed: lost)")
    ended_at: datetime | None
    touches: list[TouchOut]


class LeadFollowups(BaseModel):
    lead_id: UUID
    plans: list[PlanOut] = Field(description="Oldest first; at most one active")


@router.get(
    "/leads/{lead_id}/followups",
    response_model=LeadFollowups,
    responses={404: {"description": "The lead never had a follow-up plan"}},
    summary="A lead's follow-up plan: each touch, when it is due and what became of it",
)
async def read_lead_followups(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> Any:
    async with runtime.engine.connect() as conn:
        plans = await followup_store.plans_of_lead(conn, str(lead_id))
    if not plans:
        raise ApiError(404, "unknown_lead", f"lead {lead_id} never had a follow-up plan")
    await audit.append_now(runtime.engine, caller.subject, "lead.followups_read", str(lead_id))
    return {
        "lead_id": lead_id,
        "plans": [
            {
                "plan_id": plan.plan_id,
                "bucket": plan.bucket,
                "rep_id": plan.rep_id,
                "rep_name": plan.rep_name,
                "zone": plan.zone,
                "zone_source": plan.zone_source,
                "assigned_at": plan.assigned_at,
                "status": plan.status,
                "reason": plan.reason,
                "ended_at": plan.ended_at,
                "touches": [{**vars(t), "of": t.total} for t in touches],
            }
            for plan, touches in plans
        ],
    }


@router.get(
    "/nurture/sequences",
    response_model=SequencesOut,
    summary="The configured sequences, their touch counts and spacing",
)
async def list_sequences(rules: RulesDep, caller: ConfigRead) -> Any:
    return {
        "sequences": [
            {
                "name": s.name,
                "buckets": sorted(s.buckets),
                "sales_cycle_weeks": s.sales_cycle_weeks,
                "weeks_between_touches": s.weeks_between_touches,
                "touches": domain.total_steps(s),
                "interval_seconds": domain.step_interval(s).total_seconds(),
                "first_touch_after_seconds": s.first_touch_after.total_seconds(),
                "modes": list(s.modes),
                "templates": list(s.templates),
                "recycled": sorted(s.recycled),
            }
            for s in rules.sequences
        ],
        "stop_on": sorted(rules.stop_on),
    }


@router.post(
    "/leads/{lead_id}/nurture:stop",
    response_model=StopOut,
    responses={404: {"description": "The lead has no active enrollment"}},
    summary="Take a lead out of its sequence now (pending touches are cancelled)",
)
async def stop_lead_nurture(
    lead_id: UUID, body: StopIn, runtime: RuntimeDep, caller: NurtureManage
) -> Any:
    uow = runtime.uow()
    try:
        stopped = await handlers.stop_manually(
            uow, str(lead_id), body.reason, runtime.deps.clock(), caller.subject
        )
    except handlers.NotEnrolled as exc:
        raise ApiError(
            404, "not_enrolled", f"lead {lead_id} has no active nurture enrollment"
        ) from exc
    return {
        "lead_id": lead_id,
        "enrollment_id": stopped.enrollment_id,
        "status": "stopped",
        "reason": stopped.reason,
    }
