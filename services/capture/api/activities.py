"""Activity routes: what happened to a lead, one or a batch. Thin: request model in, use
case (:mod:`services.capture.activities`), answer out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from services.capture import activities, handlers, idempotency
from services.capture.api.common import (
    ERRORS,
    MAX_BATCH,
    IdempotencyKey,
    ProblemOut,
    problems_of,
    respond,
)
from services.capture.deps import RuntimeDep
from services.capture.domain.lead import Problem
from services.capture.domain.storable import repair_text, storable
from shared import clock
from shared.auth.guard import ActivitiesWrite
from shared.contracts import ActivityKind
from shared.http import ApiError

router = APIRouter(prefix="/v1", tags=["leads"])


# What pydantic reads as a Decimal of 0 or more, and nothing else (no "", "1e3" or "NaN").
_AMOUNT = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
        {"type": "null"},
    ]
}


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    occurred_at: datetime | None = Field(None, description="Defaults to now; needs a time zone")
    channel: str | None = Field(None, max_length=64, description="call, email, sms, ...")
    rep_id: str | None = Field(None, max_length=128)
    amount: Annotated[Decimal | None, WithJsonSchema(_AMOUNT)] = Field(
        None, ge=0, description="Deal value, for won: a number or its decimal text"
    )
    reason: str | None = Field(None, max_length=512, description="Why, for lost")
    details: dict[str, Any] = Field(default_factory=dict)


class ActivityAccepted(BaseModel):
    activity_id: UUID
    lead_id: UUID


@router.post(
    "/leads/{lead_id}/activities",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ActivityAccepted,
    responses={404: {"description": "Unknown lead id"}, **ERRORS},
    summary="Report what happened to a lead (contacted, replied, won, ...)",
)
async def submit_activity(
    lead_id: UUID,
    body: ActivityIn,
    runtime: RuntimeDep,
    caller: ActivitiesWrite,
    key: IdempotencyKey = None,
) -> Any:
    dumped = body.model_dump(mode="json")
    now = clock.now()
    if problems := _activity_problems(body):
        raise ApiError(422, "invalid_activity", _summary(problems), problems)
    route = f"/v1/leads/{lead_id}/activities"
    request_key = idempotency.request_key(route, dumped, key, caller.subject)
    activity = _activity_input(body, now)
    try:
        answer = await activities.record_one(
            runtime, request_key, str(lead_id), activity, now, caller.subject
        )
    except handlers.UnknownLead as exc:
        raise ApiError(404, "unknown_lead", f"no lead with id {lead_id}") from exc
    return respond(answer)


class ActivityBatchItem(ActivityIn):
    lead_id: UUID


class ActivityBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activities: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Up to {MAX_BATCH} activities, each a POST /v1/leads/{{id}}/activities"
        " body plus its lead_id",
    )


class ActivityItemResult(BaseModel):
    index: int = Field(description="Position of the activity in the request")
    status: Literal["recorded", "rejected"]
    activity_id: UUID | None = None
    problems: list[ProblemOut] = Field(default_factory=list, description="Why it was rejected")


class ActivityBatchOut(BaseModel):
    recorded: int
    rejected: int
    results: list[ActivityItemResult]


@router.post(
    "/activities:batch",
    response_model=ActivityBatchOut,
    responses=ERRORS,
    summary="Report up to 1,000 activities at once (e.g. a sales tool's sync);"
    " each is answered on its own",
)
async def submit_activities(
    body: ActivityBatchIn, runtime: RuntimeDep, caller: ActivitiesWrite, key: IdempotencyKey = None
) -> Any:
    now = clock.now()
    dumped = body.model_dump(mode="json")
    request_key = idempotency.request_key("/v1/activities:batch", dumped, key, caller.subject)
    problems: dict[int, list[Problem]] = {}
    items: list[tuple[int, str, handlers.ActivityInput]] = []
    for i, raw in enumerate(body.activities):
        try:
            item = ActivityBatchItem.model_validate(raw)
        except ValidationError as exc:
            problems[i] = problems_of(exc)
            continue
        if found := _activity_problems(item):
            problems[i] = [Problem(**p) for p in found]
            continue
        items.append((i, str(item.lead_id), _activity_input(item, now)))
    answer = await activities.record_many(
        runtime, request_key, items, problems, now, caller.subject
    )
    return respond(answer)


def _activity_problems(body: ActivityIn) -> list[dict[str, str]]:
    problems = []
    if body.occurred_at is not None and body.occurred_at.tzinfo is None:
        problems.append(
            {"field": "occurred_at", "problem": "needs a time zone, e.g. 2026-11-25T10:00:00Z"}
        )
    return problems


def _summary(problems: list[dict[str, str]]) -> str:
    return "; ".join(f"{p['field']}: {p['problem']}" for p in problems)


def _activity_input(body: ActivityIn, now: datetime) -> handlers.ActivityInput:
    """Text and details as PostgreSQL and every JSON reader take them (as lead attributes
    are: NUL and lone surrogates become U+FFFD, integers beyond 2^53 decimal text), never
    refused: the JSON is valid, the activity happened."""
    return handlers.ActivityInput(
        kind=body.kind,
        occurred_at=body.occurred_at or now,
        channel=_text(body.channel),
        rep_id=_text(body.rep_id),
        amount=body.amount,
        reason=_text(body.reason),
        details=storable(body.details),
    )


def _text(value: str | None) -> str | None:
    return None if value is None else repair_text(value)[0]
