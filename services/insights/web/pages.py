"""The dashboard's pages: thin GET routes that read the filters, ask
:mod:`services.insights.queries` (the API's own query layer) and render a template.

Every page needs scope ``reports:read`` through :data:`~shared.auth.guard.ReportsPage`
(a header, or the session cookie the login page sets). The read model holds no e-mail,
phone or name; free text that could point at a person (lost reasons a rep typed, the
router's sentence) is shown only to a viewer with ``leads:read``, and that read is audited.
Pages are left out of the OpenAPI document (they answer HTML, not the API's contract); the
route-guard walk covers them (tests/integration/shared/test_every_route_guarded.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from services.insights import queries
from services.insights.deps import InsightsRuntime, RuntimeDep
from services.insights.domain.facts import STAGES
from services.insights.store import facts as store
from services.insights.web import views
from services.insights.web.asked import FilterRefused, asked, read_filters
from services.insights.web.render import page
from shared.auth.guard import ReportsPage
from shared.auth.principal import Principal
from shared.auth.scopes import Scope
from shared.db import audit

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

TITLES = dict(views.NAV)


def _frame(request: Request, caller: Principal, here: str, **extra: Any) -> dict[str, Any]:
    given = asked(request.query_params)
    return {
        "title": extra.pop("title", TITLES.get(here, "")), "here": here, "nav": views.NAV,
        "query": f"?{urlencode(given)}" if given else "", "asked": given,
        "viewer": caller.subject, "filter_fields": views.FILTER_FIELDS,
        "show_filters": True, **extra,
    }  # fmt: skip


async def _freshness(conn: AsyncConnection, runtime: InsightsRuntime) -> dict[str, Any]:
    """When events were last applied, and the longest they wait: every page says it."""
    return {"applied_at": await store.last_applied(conn), "max_hold_s": runtime.deps.max_hold_s}


async def _report_page(
    request: Request, runtime: RuntimeDep, caller: Principal, here: str, template: str
) -> HTMLResponse:
    frame = _frame(request, caller, here)
    try:
        filters = read_filters(frame["asked"])
    except FilterRefused as exc:
        return page("refused.html", 422, message=str(exc), **frame)
    deps = runtime.deps
    async with runtime.engine.connect() as conn:
        report = await queries.dashboard(
            conn, filters, deps.costs, deps.min_sample, stopped_after=deps.stopped_after
        )
        frame.update(await _freshness(conn, runtime))
    return page(
        template, r=report, charts=views.charts_for(report), stages=STAGES,
        dimensions=("source", "channel", "campaign", "rep", "queue", "bucket"),
        queues=views.queues_of(report), breaches=report["breaches_by_queue"], **frame,
    )  # fmt: skip


@router.get("/")
async def overview(request: Request, runtime: RuntimeDep, caller: ReportsPage) -> HTMLResponse:
    return await _report_page(request, runtime, caller, "/", "overview.html")


@router.get("/funnel")
async def funnel(request: Request, runtime: RuntimeDep, caller: ReportsPage) -> HTMLResponse:
    return await _report_page(request, runtime, caller, "/funnel", "funnel.html")


@router.get("/channels")
async def channels(request: Request, runtime: RuntimeDep, caller: ReportsPage) -> HTMLResponse:
    return await _report_page(request, runtime, caller, "/channels", "channels.html")


@router.get("/reps")
async def reps(request: Request, runtime: RuntimeDep, caller: ReportsPage) -> HTMLResponse:
    return await _report_page(request, runtime, caller, "/reps", "reps.html")


@router.get("/queues")
async def queues(request: Request, runtime: RuntimeDep, caller: ReportsPage) -> HTMLResponse:
    return await _report_page(request, runtime, caller, "/queues", "queues.html")


@router.get("/feed")
async def feed(request: Request, runtime: RuntimeDep, caller: ReportsPage) -> HTMLResponse:
    frame = _frame(request, caller, "/feed")
    try:
        filters = read_filters(frame["asked"])
    except FilterRefused as exc:
        return page("refused.html", 422, message=str(exc), **frame)
    personal = caller.may(Scope.LEADS_READ)
    async with runtime.engine.begin() as conn:
        found = await queries.recent_decisions(conn, filters)
        frame.update(await _freshness(conn, runtime))
        if personal and found:
            await audit.append(conn, caller.subject, "insights.feed_read", None,
                               {"leads": [lead for lead, *_ in found]})  # fmt: skip
    rows = [views.decision_row(*item) for item in found]
    return page("feed.html", decisions=rows, personal=personal, **frame)


@router.get("/leads/{lead_id}")
async def lead(
    request: Request, runtime: RuntimeDep, caller: ReportsPage, lead_id: UUID
) -> HTMLResponse:
    """A lead's timeline across services (the notifier's messages link here)."""
    frame = _frame(request, caller, f"/leads/{lead_id}", title=f"Lead {lead_id}",
                   show_filters=False)  # fmt: skip
    personal = caller.may(Scope.LEADS_READ)
    async with runtime.engine.begin() as conn:
        fact, observed = await queries.lead_timeline(conn, str(lead_id))
        frame.update(await _freshness(conn, runtime))
        if personal and fact is not None:
            await audit.append(conn, caller.subject, "lead.insights_read", str(lead_id))
    return page(
        "lead.html", status=200 if fact is not None else 404, lead_id=str(lead_id), fact=fact,
        stage=views.stage_of(fact) if fact else None,
        first_contact_s=views.first_contact_s(fact) if fact else None,
        timeline=views.timeline(observed, personal), personal=personal, **frame,
    )  # fmt: skip
