"""The KPI API: thin routes over :mod:`services.insights.queries`, JSON or CSV.

Every route needs scope ``reports:read`` and reads no personal data (the read model holds
none), so nothing is audited. Each report's shape is published from
:mod:`services.insights.schemas`. CSV is asked for with ``Accept: text/csv`` or
``?format=csv`` (see :mod:`services.insights.csv_format`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from services.insights import queries, schemas
from services.insights.csv_format import to_csv
from services.insights.deps import RuntimeDep
from services.insights.domain.filters import Filters, time_zone
from shared.auth.guard import ReportsRead
from shared.http import ApiError
from shared.params import NO_NUL, IsoDateTime

router = APIRouter(prefix="/v1/insights", tags=["insights"])

Text = Annotated[str | None, Query(max_length=200, pattern=NO_NUL)]


async def filters(
    start: Annotated[
        IsoDateTime | None,
        Query(alias="from", description="Leads captured at or after this moment"),
    ] = None,
    end: Annotated[
        IsoDateTime | None, Query(alias="to", description="Leads captured before this moment")
    ] = None,
    tz: Annotated[
        str, Query(max_length=64, pattern=NO_NUL, description="IANA time zone of trend days")
    ] = "UTC",
    source: Text = None,
    channel: Text = None,
    campaign: Text = None,
    queue: Text = None,
    team: Text = None,
    rep: Text = None,
    bucket: Text = None,
) -> Filters:
    """The question's filters; an unknown time zone or an empty window is refused by name."""
    zone = time_zone(tz)
    if zone is None:
        raise ApiError(
            422, "unknown_time_zone", f"unknown time zone {tz!r}",
            [{"field": "query:tz", "problem": "not an IANA time zone, e.g. Europe/London"}],
        )  # fmt: skip
    if start is not None and end is not None and end <= start:
        raise ApiError(
            422, "empty_window", "`to` must be after `from`",
            [{"field": "query:to", "problem": "must be after from"}],
        )  # fmt: skip
    return Filters(start, end, zone, source, channel, campaign, queue, team, rep, bucket)


FiltersDep = Annotated[Filters, Depends(filters)]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="csv: the same figures as CSV (or send Accept: text/csv)"),
]
REFUSALS: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "A filter is invalid (unknown tz, `to` not after `from`, ...);"
        " `problems` names it"
    },  # fmt: skip
    200: {
        "description": "The report as JSON, or as CSV (`metric,value`)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
}


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


async def _answer(
    request: Request,
    runtime: RuntimeDep,
    format: str | None,
    report: Callable[[AsyncConnection], Awaitable[dict[str, Any]]],
) -> Response:
    async with runtime.engine.connect() as conn:
        figures = await report(conn)
    if _wants_csv(request, format):
        return Response(to_csv(figures), media_type="text/csv; charset=utf-8")
    return JSONResponse(figures)


@router.get(
    "/speed", responses=REFUSALS, response_model=schemas.SpeedReport,
    summary="Speed to lead: captured -> assigned and -> first contact, p50/p90/p99; shares"
    " contacted within 5 minutes and 1 hour; by rep, queue, source; trend by day",
)  # fmt: skip
async def read_speed(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    return await _answer(request, runtime, format, lambda c: queries.speed_report(c, f))


@router.get(
    "/funnel", responses=REFUSALS, response_model=schemas.FunnelReport,
    summary="Conversion funnel lead -> MQL -> SQL -> opportunity -> won by source, channel,"
    " campaign, rep, queue and bucket, with counts and rates; lost reasons",
)  # fmt: skip
async def read_funnel(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    return await _answer(request, runtime, format, lambda c: queries.funnel_report(c, f))


@router.get(
    "/value", responses=REFUSALS, response_model=schemas.ValueReport,
    summary="Won amounts by channel and rep, revenue per lead; campaign costs: cost per lead,"
    " cost per won deal and return, by campaign and channel",
)  # fmt: skip
async def read_value(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    costs = runtime.deps.costs
    return await _answer(request, runtime, format, lambda c: queries.value_report(c, f, costs))


@router.get(
    "/effort", responses=REFUSALS, response_model=schemas.EffortReport,
    summary="Touches to close, response rate, never responded, stopped responding, follow-up"
    " touches late or missed",
)  # fmt: skip
async def read_effort(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    after = runtime.deps.stopped_after
    return await _answer(request, runtime, format, lambda c: queries.effort_report(c, f, after))


@router.get(
    "/leaderboard", responses=REFUSALS, response_model=schemas.Leaderboard,
    summary="Per-rep and per-team figures (assigned, contacted within SLA, breaches,"
    " conversion, value) with the high and low performers marked",
)  # fmt: skip
async def read_leaderboard(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    sample = runtime.deps.min_sample
    return await _answer(request, runtime, format, lambda c: queries.leaderboard(c, f, sample))


@router.get(
    "/fairness", responses=REFUSALS, response_model=schemas.FairnessReport,
    summary="Distribution fairness: per rep and per queue, assignments against the share"
    " their weight and fairness multiplier promised (assigned, expected, ratio)",
)  # fmt: skip
async def read_fairness(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    return await _answer(request, runtime, format, lambda c: queries.fairness_report(c, f))


@router.get(
    "/flow", responses=REFUSALS, response_model=schemas.FlowReport,
    summary="Leads waiting per queue, first-contact clocks running, nurture enrolments",
)  # fmt: skip
async def read_flow(
    request: Request, runtime: RuntimeDep, f: FiltersDep, caller: ReportsRead, format: Format = None
) -> Response:
    return await _answer(request, runtime, format, lambda c: queries.flow_report(c, f))
