"""``GET /v1/leads/{lead_id}/stages``: a lead's lifecycle stage now and every move with its
time and cause (the same moves ``lead.stage_changed`` announced). Scope ``leads:read``; the
read is audited (``lead.stages_read``) in its own transaction, like the assignment read."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.router.deps import RuntimeDep
from services.router.store import stages as stage_store
from shared.auth.guard import LeadsRead
from shared.contracts import LifecycleStage
from shared.db import audit
from shared.http import ApiError

router = APIRouter(prefix="/v1", tags=["routing"])


class StageMoveOut(BaseModel):
    from_stage: LifecycleStage = Field(description="The stage the lead left")
    to_stage: LifecycleStage = Field(description="The stage it moved to")
    cause: str = Field(description="What moved it, e.g. qualified, called, meeting_booked")
    changed_at: datetime = Field(description="When the causing fact happened (UTC)")
    rep_id: str | None = Field(None, description="Its owner then (null: nobody)")
    queue: str | None = Field(None, description="Its queue then (null: none, e.g. nurture)")
    recorded_at: datetime = Field(description="When the router recorded the move")


class StagesOut(BaseModel):
    lead_id: UUID
    stage: LifecycleStage | None = Field(
        description="The stage now (null: closed before the router kept stages)"
    )
    history: list[StageMoveOut] = Field(description="Every move, first first")


@router.get(
    "/leads/{lead_id}/stages",
    response_model=StagesOut,
    responses={404: {"description": "The router has decided nothing for this lead"}},
    summary="A lead's lifecycle stage and every move, with times and causes",
)
async def read_stages(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> StagesOut:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        known, stage = await stage_store.stage_now(conn, str(lead_id))
        history = await stage_store.stage_history(conn, str(lead_id)) if known else []
        if known:
            await audit.append(conn, caller.subject, "lead.stages_read", str(lead_id))
    if not known:
        raise ApiError(404, "unknown_lead", f"the router has no decision for lead {lead_id}")
    return StagesOut(
        lead_id=lead_id,
        stage=stage,
        history=[StageMoveOut.model_validate(h) for h in history],
    )
