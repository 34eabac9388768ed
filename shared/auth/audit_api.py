"""``GET /v1/audit``: the audit trail of the service, for every service the same."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shared.auth.guard import AuditRead
from shared.db import audit
from shared.params import NO_NUL, IsoDateTime


class AuditEntryOut(BaseModel):
    id: int = Field(description="Increasing; pass as before_id for the next page")
    at: datetime
    actor: str = Field(description="key:<id> or jwt:<subject>")
    action: str = Field(description="e.g. lead.read, lead.erased, delivery.retried")
    target: str | None = Field(description="What it was done to (a lead id, a rep id, ...)")
    detail: dict[str, Any]


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_before_id: int | None = Field(
        description="Pass as before_id for older entries; null when this is the last page"
    )


def audit_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["audit"])

    @router.get("/audit", response_model=AuditPage, summary="Who did what, newest first")
    async def read_audit(
        request: Request,
        caller: AuditRead,
        actor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        action: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
        target: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        since: Annotated[
            IsoDateTime | None, Query(description="From this time (inclusive, ISO 8601)")
        ] = None,
        until: Annotated[
            IsoDateTime | None, Query(description="Before this time (ISO 8601)")
        ] = None,
        before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPage:
        runtime = request.app.state.runtime
        found = await audit.entries(
            runtime.engine,
            audit.AuditFilter(actor, action, target, since, until, before_id, limit),
        )
        return AuditPage(
            entries=[AuditEntryOut(**vars(e)) for e in found],
            next_before_id=found[-1].id if len(found) == limit else None,
        )

    return router
