"""The fairness ledger over HTTP: a rep's entries and why their multiplier is what it is now
(``GET /v1/reps/{rep_id}/ledger``, scope ``reports:read``), and a manager's override
(``PUT``/``DELETE /v1/admin/reps/{rep_id}/multiplier``, scope ``routing:admin``, audited
like every admin write: the credential, ``X-Actor``, the reason)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from services.router.admin.access import WriterDep
from services.router.deps import RoutingDep, RuntimeDep
from services.router.domain.fairness import (
    MAX_OVERRIDE,
    Explanation,
    InvalidOverride,
    LedgerEntry,
)
from services.router.handlers.ledger import FairnessOff, UnknownRep, explain_rep
from services.router.handlers.ledger import override_multiplier as override
from services.router.store import ledger as ledger_store
from shared.auth.guard import ReportsRead
from shared.db import audit
from shared.http import ApiError
from shared.params import NO_NUL, IsoDateTime

router = APIRouter(prefix="/v1", tags=["reports"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])


class EntryOut(BaseModel):
    at: datetime = Field(description="When it happened")
    kind: str = Field(
        description="sla_breach, touch_late, touch_missed, gone_cold, fast_first_contact, won,"
        " override or override_cleared"
    )
    effect: float = Field(
        description="Change to the multiplier when written (an override: its value)"
    )
    multiplier_after: float = Field(description="The rep's multiplier just after")
    reason: str = Field(description="Why")
    lead_id: str | None = Field(None, description="The lead it was about (null once erased)")
    source_id: str | None = Field(None, description="What caused it: activity id, sla:<attempt>")
    by: str | None = Field(None, description="Who set or cleared an override")
    until: datetime | None = Field(None, description="When an override ends (null: cleared)")

    @classmethod
    def of(cls, e: LedgerEntry, lead_id: str | None = None) -> EntryOut:
        return cls(
            at=e.at, kind=e.kind, effect=e.effect, multiplier_after=e.multiplier_after,
            reason=e.reason, lead_id=lead_id, source_id=e.source_event_id, by=e.by,
            until=e.until,
        )  # fmt: skip


class ContributionOut(BaseModel):
    at: datetime = Field(description="When the entry was written")
    kind: str = Field(description="The entry's kind")
    effect: float = Field(description="Its full effect")
    left: float = Field(description="Share of it still in force (fades linearly over window)")
    value: float = Field(description="effect x left: what it adds to the multiplier now")


class MultiplierOut(BaseModel):
    value: float = Field(description="The multiplier in force: weighted rotation and load use it")
    raw: float = Field(description="1 + the contributions, before the bounds")
    bound: str | None = Field(None, description="floor or ceiling when the bounds hold it")
    override: EntryOut | None = Field(None, description="The manual override in force, if any")
    contributions: list[ContributionOut] = Field(description="Entries still in force")
    explanation: str = Field(description="The sum in one line")

    @classmethod
    def of(cls, x: Explanation) -> MultiplierOut:
        return cls(
            value=x.multiplier, raw=x.raw, bound=x.bound,
            override=EntryOut.of(x.override) if x.override is not None else None,
            contributions=[
                ContributionOut(at=c.entry.at, kind=c.entry.kind, effect=c.entry.effect,
                                left=round(c.left, 6), value=c.value)
                for c in x.contributions
            ],
            explanation=x.text,
        )  # fmt: skip


class LedgerOut(BaseModel):
    rep_id: str
    at: datetime = Field(description="When the multiplier was worked out")
    fairness: bool = Field(description="Whether routing.fairness is on (off: every multiplier 1)")
    multiplier: MultiplierOut
    entries: list[EntryOut] = Field(description="The rep's entries, last recorded first")


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float = Field(gt=0, le=MAX_OVERRIDE, description="The multiplier to hold the rep at")
    reason: str = Field(min_length=1, max_length=1000, description="Why (kept in the ledger)")
    until: IsoDateTime | None = Field(None, description="When it ends (default: until cleared)")


NEUTRAL = MultiplierOut(
    value=1.0, raw=1.0, contributions=[], explanation="1.00: routing.fairness is off"
)


@router.get(
    "/reps/{rep_id}/ledger",
    response_model=LedgerOut,
    responses={404: {"description": "No rep of that id in the config or the ledger"}},
    summary="A rep's fairness ledger: every change with its reason, and the multiplier now",
)
async def read_ledger(
    rep_id: Annotated[str, Path(pattern=NO_NUL)],
    runtime: RuntimeDep,
    source: RoutingDep,
    caller: ReportsRead,
    since: Annotated[
        IsoDateTime | None, Query(description="Entries at or after (ISO 8601)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LedgerOut:
    now = runtime.deps.clock()
    async with runtime.engine.connect() as conn:
        routing = (await source.current(conn)).routing
        entries = await ledger_store.of_rep(conn, rep_id, since, limit)
        policy = routing.fairness
        why = await explain_rep(conn, policy, rep_id, now) if policy is not None else None
    if rep_id not in routing.reps and not entries:
        raise ApiError(404, "unknown_rep", f"no rep {rep_id!r} in the config or the ledger")
    await audit.append_now(runtime.engine, caller.subject, "rep.ledger_read", f"rep:{rep_id}")
    return LedgerOut(
        rep_id=rep_id,
        at=now,
        fairness=policy is not None,
        multiplier=MultiplierOut.of(why) if why is not None else NEUTRAL,
        entries=[EntryOut.of(s.entry, s.lead_id) for s in entries],
    )


OVERRIDE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such rep in the routing config in force"},
    409: {"description": "routing.fairness is off: a multiplier would change nothing"},
    422: {"description": "Invalid value or until"},
}


@admin_router.put(
    "/reps/{rep_id}/multiplier",
    response_model=MultiplierOut,
    responses=OVERRIDE_ERRORS,
    summary="Hold a rep's fairness multiplier at a value (until a time, or until cleared)",
)
async def set_multiplier(
    rep_id: str, body: OverrideIn, runtime: RuntimeDep, source: RoutingDep, who: WriterDep
) -> MultiplierOut:
    return await _override(runtime, source, who, rep_id, body.value, body.reason, body.until)


@admin_router.delete(
    "/reps/{rep_id}/multiplier",
    response_model=MultiplierOut,
    responses=OVERRIDE_ERRORS,
    summary="Clear a rep's override: their record decides their multiplier again",
)
async def clear_multiplier(
    rep_id: str, runtime: RuntimeDep, source: RoutingDep, who: WriterDep
) -> MultiplierOut:
    reason = who.reason or "override cleared"
    return await _override(runtime, source, who, rep_id, None, reason, None)


async def _override(
    runtime: RuntimeDep,
    source: RoutingDep,
    who: WriterDep,
    rep_id: str,
    value: float | None,
    reason: str,
    until: datetime | None,
) -> MultiplierOut:
    if until is not None and until.tzinfo is None:
        raise ApiError(422, "invalid_request", "until: needs a time zone",
                       [{"field": "until", "problem": "needs a time zone"}])  # fmt: skip
    uow = runtime.uow()
    try:
        async with uow:
            _, why = await override(
                uow, source, rep_id, value, reason=reason, until=until, actor=who.actor,
                now=runtime.deps.clock(),
            )  # fmt: skip
            await uow.commit()
    except UnknownRep as exc:
        raise ApiError(404, "unknown_rep", str(exc)) from None
    except FairnessOff as exc:
        raise ApiError(409, "fairness_off", str(exc)) from None
    except InvalidOverride as exc:
        field = "until" if "ends" in str(exc) else "value"
        raise ApiError(422, "invalid_override", str(exc),
                       [{"field": field, "problem": str(exc)}]) from None  # fmt: skip
    return MultiplierOut.of(why)
