"""Lead routes: submit one or a batch, read, trace merges, erase. Thin: request model in,
use case (:mod:`services.capture.intake`, :mod:`services.capture.handlers`), answer out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncConnection

from services.capture import handlers, idempotency, intake
from services.capture.api.common import (
    ERRORS,
    MAX_BATCH,
    IdempotencyKey,
    ProblemOut,
    problems_of,
    respond,
)
from services.capture.deps import IntakeDep, RuntimeDep
from services.capture.domain.cleaning import clean_lead
from services.capture.domain.lead import CleanLead, InvalidLead
from services.capture.store import erasure as erasure_store
from services.capture.store import leads as lead_store
from shared import clock
from shared.auth.guard import LeadsErase, LeadsRead, LeadsWrite
from shared.db import audit
from shared.http import ApiError
from shared.params import NO_NUL

router = APIRouter(prefix="/v1", tags=["leads"])

# Text by intent, but any JSON value is taken (and documented so): cleaning reads the value,
# keeps one that does not clean raw and flagged, and refuses only a lead nobody can contact.
_LooseText = Annotated[Any, WithJsonSchema({"description": "Text"})]
# The one rule the document can state about contacts: an e-mail or a phone is given. Whether
# it validates (email-validator, libphonenumber) no JSON Schema can say: 422 invalid_lead.
_A_CONTACT: list[JsonValue] = [
    {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
    for name in ("email", "phone")
]


class LeadIn(BaseModel):
    """A lead as a web form or marketing system sends it. Unknown fields are kept; a value
    that does not clean (an invalid phone, an unknown country, a number where text was
    meant) is kept raw and flagged in ``data_quality``; only a lead with no valid e-mail and
    no valid phone is refused."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "anyOf": _A_CONTACT,
            "example": {
                "email": "ana.silva@example.co.uk",
                "first_name": "Ana",
                "last_name": "Silva",
                "company": "Acme Shoes Ltd",
                "country": "GB",
                "phone": "+44 20 7183 8750",
                "source": "web",
                "interest": "shoes",
            },
        },
    )

    email: _LooseText = Field(None, description="E-mail address")
    phone: _LooseText = Field(None, description="Phone, any format (E.164 when it validates)")
    first_name: _LooseText = Field(None, description="Given name, kept as typed")
    last_name: _LooseText = Field(None, description="Family name, kept as typed")
    company: _LooseText = None
    title: _LooseText = Field(None, description="Job title")
    country: _LooseText = Field(None, description="ISO code or country name")
    interest: _LooseText = Field(None, description="Product line of interest")
    industry: _LooseText = None
    company_size: Annotated[Any, WithJsonSchema({})] = Field(
        None, description="Employees, a whole number 0 or more"
    )
    language: _LooseText = Field(None, description="ISO 639-1, e.g. en")
    source: _LooseText = Field(None, description="Where the lead came from")
    channel: _LooseText = None
    campaign: _LooseText = None
    utm_source: _LooseText = None
    utm_medium: _LooseText = None
    utm_campaign: _LooseText = None
    utm_term: _LooseText = None
    utm_content: _LooseText = None
    attributes: Annotated[Any, WithJsonSchema({})] = Field(
        None, description="Free-form extra fields, an object"
    )


class LeadAccepted(BaseModel):
    lead_id: UUID
    status: Literal["accepted", "duplicate"] = Field(
        description="accepted: a new lead; duplicate: matched an existing lead (its id)"
    )
    matched_by: Literal["email", "phone"] | None = Field(
        None, description="For a duplicate: which identity matched"
    )
    updated_fields: list[str] = Field(
        default_factory=list,
        description="For a duplicate: the fields the submission changed on the lead (merged)",
    )


def _invalid(exc: InvalidLead) -> ApiError:
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
        given = body.attributes
        if given is not None and not isinstance(given, dict):  # cleaning flags it; keep both
            raw["attributes"] = given
        else:
            raw["attributes"] = {**extras, **(given or {})}
            for key in extras:
                raw.pop(key, None)
    return raw


@router.post(
    "/leads",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LeadAccepted,
    responses={200: {"model": LeadAccepted, "description": "Matched an existing lead"}, **ERRORS},
    summary="Submit one lead; 202 once it is durably stored",
)
async def submit_lead(
    body: LeadIn, batcher: IntakeDep, caller: LeadsWrite, key: IdempotencyKey = None
) -> Any:
    raw = _raw_lead(body)
    request_key = idempotency.request_key("/v1/leads", raw, key, caller.subject)
    try:
        lead = clean_lead(raw)
    except InvalidLead as exc:
        raise _invalid(exc) from exc
    return respond(await batcher.submit(lead, request_key, caller.subject))


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leads: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Up to {MAX_BATCH} leads, each shaped like the body of POST /v1/leads",
    )


class BatchItemResult(BaseModel):
    index: int = Field(description="Position of the lead in the request")
    status: Literal["accepted", "duplicate", "rejected"]
    lead_id: UUID | None = Field(None, description="New lead, or the lead it matched")
    matched_by: Literal["email", "phone"] | None = Field(
        None, description="For a duplicate: which identity matched"
    )
    updated_fields: list[str] = Field(
        default_factory=list, description="For a duplicate: fields the submission changed"
    )
    problems: list[ProblemOut] = Field(default_factory=list, description="Why it was rejected")


class BatchOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItemResult]


@router.post(
    "/leads:batch",
    response_model=BatchOut,
    responses=ERRORS,
    summary="Submit up to 1,000 leads; each is answered on its own, never all-or-nothing",
)
async def submit_batch(
    body: BatchIn, runtime: RuntimeDep, caller: LeadsWrite, key: IdempotencyKey = None
) -> Any:
    dumped = body.model_dump(mode="json")
    request_key = idempotency.request_key(intake.BATCH_ROUTE, dumped, key, caller.subject)
    valid: list[tuple[int, CleanLead]] = []
    rejected: dict[int, intake.Outcome] = {}
    for i, item in enumerate(body.leads):
        try:
            valid.append((i, clean_lead(_raw_lead(LeadIn.model_validate(item)))))
        except ValidationError as exc:
            rejected[i] = intake.Outcome(i, "rejected", problems=tuple(problems_of(exc)))
        except InvalidLead as exc:
            rejected[i] = intake.Outcome(i, "rejected", problems=tuple(exc.problems))
    answer = await intake.submit_batch(
        runtime, request_key, len(body.leads), valid, rejected, caller.subject
    )
    return respond(answer)


@router.get(
    "/leads/{lead_id}",
    summary="Read a lead as capture stored it",
    responses={404: {"description": "Unknown lead id"}, 410: {"description": "Lead erased"}},
)
async def read_lead(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> dict[str, Any]:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        lead = await lead_store.get_lead(conn, str(lead_id))
        if lead is None:
            await _raise_missing(conn, lead_id)
        await audit.append(conn, caller.subject, "lead.read", str(lead_id))
    assert lead is not None
    return lead


async def _raise_missing(conn: AsyncConnection, lead_id: UUID) -> None:
    if (when := await erasure_store.erased_at(conn, str(lead_id))) is not None:
        raise ApiError(410, "lead_erased", f"lead {lead_id} was erased on {when.isoformat()}")
    raise ApiError(404, "unknown_lead", f"no lead with id {lead_id}")


class MergeOut(BaseModel):
    merge_id: UUID
    matched_by: str = Field(description="Identity rule that matched: email or phone")
    source: str = Field(description="Source of the merged submission")
    changes: list[dict[str, Any]] = Field(description="[{field, old, new}] the merge changed")
    merged_at: datetime


@router.get(
    "/leads/{lead_id}/merges",
    response_model=list[MergeOut],
    summary="The identity-resolution trace: every later submission merged into this lead",
    responses={404: {"description": "Unknown lead id"}, 410: {"description": "Lead erased"}},
)
async def read_merges(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> Any:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        if not await lead_store.lead_exists(conn, str(lead_id)):
            await _raise_missing(conn, lead_id)
        merges = await lead_store.get_merges(conn, str(lead_id))
        await audit.append(conn, caller.subject, "lead.merges_read", str(lead_id))
    return merges


class ErasureOut(BaseModel):
    lead_id: UUID
    status: Literal["erased", "already_erased"]


@router.delete(
    "/leads/{lead_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasureOut,
    responses={
        200: {"model": ErasureOut, "description": "Erased before; nothing left to delete"},
        404: {"description": "Unknown lead id"},
    },
    summary="Erase a person (GDPR art. 17): capture deletes the lead now, every service"
    " deletes its data on the lead.erased event",
)
async def erase_lead(
    lead_id: UUID,
    runtime: RuntimeDep,
    caller: LeadsErase,
    reason: Annotated[
        str | None, Query(max_length=512, pattern=NO_NUL, description="Why, for the record")
    ] = None,
) -> Any:
    uow = runtime.uow()
    try:
        erased = await handlers.erase_lead(uow, str(lead_id), reason, clock.now(), caller.subject)
    except handlers.UnknownLead as exc:
        raise ApiError(404, "unknown_lead", f"no lead with id {lead_id}") from exc
    if not erased:
        return JSONResponse({"lead_id": str(lead_id), "status": "already_erased"})
    return {"lead_id": lead_id, "status": "erased"}
