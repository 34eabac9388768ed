"""Capture's HTTP API: thin — request model in, use case, response model out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.capture import domain, handlers, store
from services.capture.intake import IntakeBatcher
from shared.contracts import ActivityKind
from shared.contracts.envelope import now_utc
from shared.http import ApiError, problem_list
from shared.observability import metrics
from shared.service import RuntimeDep

router = APIRouter(prefix="/v1", tags=["leads"])

MAX_BATCH = 1000

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON"},
    413: {"description": "Body too large"},
    422: {"description": "A field is missing or invalid; `problems` names each one"},
}


class LeadIn(BaseModel):
    """A lead as a web form or marketing system sends it. Unknown fields are kept."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "email": "ana.silva@example.co.uk",
                "first_name": "Ana",
                "last_name": "Silva",
                "company": "Acme Shoes Ltd",
                "country": "GB",
                "phone": "+44 20 7183 8750",
                "source": "web",
                "interest": "shoes",
            }
        },
    )

    email: str | None = Field(None, max_length=320, description="E-mail address")
    phone: str | None = Field(None, max_length=64, description="Phone, any format")
    first_name: str | None = Field(None, max_length=256)
    last_name: str | None = Field(None, max_length=256)
    company: str | None = Field(None, max_length=256)
    title: str | None = Field(None, max_length=256, description="Job title")
    country: str | None = Field(None, max_length=64, description="ISO code or country name")
    interest: str | None = Field(None, max_length=256, description="Product line of interest")
    industry: str | None = Field(None, max_length=256)
    company_size: int | None = Field(None, ge=0, description="Employees")
    language: str | None = Field(None, max_length=8, description="ISO 639-1, e.g. en")
    source: str | None = Field(None, max_length=64, description="Where the lead came from")
    channel: str | None = Field(None, max_length=64)
    campaign: str | None = Field(None, max_length=256)
    utm_source: str | None = Field(None, max_length=256)
    utm_medium: str | None = Field(None, max_length=256)
    utm_campaign: str | None = Field(None, max_length=256)
    utm_term: str | None = Field(None, max_length=256)
    utm_content: str | None = Field(None, max_length=256)
    attributes: dict[str, Any] | None = Field(None, description="Free-form extra fields")


class LeadAccepted(BaseModel):
    lead_id: UUID
    status: Literal["accepted", "duplicate"] = Field(
        description="accepted: a new lead; duplicate: matched an existing lead (its id)"
    )


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    occurred_at: datetime | None = Field(None, description="Defaults to now; needs a time zone")
    channel: str | None = Field(None, max_length=64, description="call, email, sms, ...")
    rep_id: str | None = Field(None, max_length=128)
    amount: Decimal | None = Field(None, ge=0, description="Deal value, for won")
    reason: str | None = Field(None, max_length=512, description="Why, for lost")
    details: dict[str, Any] = Field(default_factory=dict)


class ActivityAccepted(BaseModel):
    activity_id: UUID
    lead_id: UUID


def _invalid(exc: domain.InvalidLead) -> ApiError:
    return ApiError(
        422,
        "invalid_lead",
        str(exc),
        [{"field": p.field, "problem": p.problem} for p in exc.problems],
    )


def _raw_lead(body: LeadIn) -> dict[str, Any]:
    """The submitted fields, with unknown top-level fields folded into ``attributes``."""
    raw = body.model_dump(exclude_none=True)
    extras = body.model_extra or {}
    if extras:
        raw["attributes"] = {**extras, **(body.attributes or {})}
        for key in extras:
            raw.pop(key, None)
    return raw


@router.post(
    "/leads",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LeadAccepted,
    responses={200: {"model": LeadAccepted, "description": "Matched an existing lead"}, **_ERRORS},
    summary="Submit one lead; 202 once it is durably stored",
)
async def submit_lead(body: LeadIn, runtime: RuntimeDep) -> Any:
    try:
        lead = domain.clean_lead(_raw_lead(body))
    except domain.InvalidLead as exc:
        raise _invalid(exc) from exc
    intake: IntakeBatcher = runtime.state["intake"]
    result = await intake.submit(lead)
    if result.duplicate:
        return JSONResponse({"lead_id": result.lead_id, "status": "duplicate"}, status_code=200)
    return {"lead_id": result.lead_id, "status": "accepted"}


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leads: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Up to {MAX_BATCH} leads, each shaped like the body of POST /v1/leads",
    )


class ProblemOut(BaseModel):
    field: str
    problem: str


class BatchItemResult(BaseModel):
    index: int = Field(description="Position of the lead in the request")
    status: Literal["accepted", "duplicate", "rejected"]
    lead_id: UUID | None = Field(None, description="New lead, or the lead it matched")
    problems: list[ProblemOut] = Field(default_factory=list, description="Why it was rejected")


class BatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItemResult]


@router.post(
    "/leads:batch",
    response_model=BatchOut,
    responses=_ERRORS,
    summary="Submit up to 1,000 leads; each is answered on its own, never all-or-nothing",
)
async def submit_batch(body: BatchIn, runtime: RuntimeDep) -> BatchOut:
    results: list[BatchItemResult | None] = [None] * len(body.leads)
    valid: list[tuple[int, domain.CleanLead]] = []
    for i, item in enumerate(body.leads):
        try:
            lead = domain.clean_lead(_raw_lead(LeadIn.model_validate(item)))
        except ValidationError as exc:
            results[i] = _rejected(i, problem_list(exc.errors()))
            continue
        except domain.InvalidLead as exc:
            results[i] = _rejected(
                i, [{"field": p.field, "problem": p.problem} for p in exc.problems]
            )
            continue
        valid.append((i, lead))
    if valid:
        uow = runtime.uow()
        captured = await handlers.capture_leads(uow, [lead for _, lead in valid], now_utc())
        runtime.relay.enqueue(uow.committed)
        for (i, _), outcome in zip(valid, captured, strict=True):
            results[i] = BatchItemResult(
                index=i,
                status="duplicate" if outcome.duplicate else "accepted",
                lead_id=UUID(outcome.lead_id),
            )
    final = [r for r in results if r is not None]
    if any(r.status == "rejected" for r in final):
        metrics.rejected_inputs.labels("/v1/leads:batch", "invalid_lead").inc(
            sum(r.status == "rejected" for r in final)
        )
    return BatchOut(
        accepted=sum(r.status == "accepted" for r in final),
        duplicates=sum(r.status == "duplicate" for r in final),
        rejected=sum(r.status == "rejected" for r in final),
        results=final,
    )


def _rejected(index: int, problems: list[dict[str, str]]) -> BatchItemResult:
    return BatchItemResult(
        index=index,
        status="rejected",
        problems=[ProblemOut(field=p["field"], problem=p["problem"]) for p in problems],
    )


@router.get("/leads/{lead_id}", summary="Read a lead as capture stored it")
async def read_lead(lead_id: UUID, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.engine.connect() as conn:
        lead = await store.get_lead(conn, str(lead_id))
    if lead is None:
        raise ApiError(404, "unknown_lead", f"no lead with id {lead_id}")
    return lead


@router.post(
    "/leads/{lead_id}/activities",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ActivityAccepted,
    responses={404: {"description": "Unknown lead id"}, **_ERRORS},
    summary="Report what happened to a lead (contacted, replied, won, ...)",
)
async def submit_activity(lead_id: UUID, body: ActivityIn, runtime: RuntimeDep) -> Any:
    now = now_utc()
    occurred_at = body.occurred_at or now
    if occurred_at.tzinfo is None:
        raise ApiError(
            422,
            "invalid_request",
            "occurred_at: needs a time zone",
            [{"field": "occurred_at", "problem": "needs a time zone, e.g. 2026-11-25T10:00:00Z"}],
        )
    activity = handlers.ActivityInput(
        kind=body.kind,
        occurred_at=occurred_at,
        channel=body.channel,
        rep_id=body.rep_id,
        amount=body.amount,
        reason=body.reason,
        details=body.details,
    )
    uow = runtime.uow()
    try:
        activity_id = await handlers.record_activity(uow, str(lead_id), activity, now)
    except handlers.UnknownLead as exc:
        raise ApiError(404, "unknown_lead", f"no lead with id {lead_id}") from exc
    runtime.relay.enqueue(uow.committed)
    return {"activity_id": activity_id, "lead_id": str(lead_id)}
