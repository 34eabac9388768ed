"""The query layer: each KPI report as one call, for the API, the gauges and the dashboard
pages alike. It selects the facts (SQL, through ``store``), filters them and hands them to
the pure KPI functions; nothing here computes a figure itself.

Every function takes an open connection (the caller owns the transaction) and the
:class:`~services.insights.domain.filters.Filters` of the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.insights.dead_letters import consuming_groups
from services.insights.domain import accountability, effort, fairness, flow, funnel, speed, value
from services.insights.domain.facts import LeadFact, Observation
from services.insights.domain.filters import Filters, select
from services.insights.domain.value import CampaignCost
from services.insights.store import dead_letters as letters_store
from services.insights.store import facts as store

REPORTS = ("speed", "funnel", "value", "effort", "leaderboard", "fairness", "flow")


async def facts_for(
    conn: AsyncConnection, filters: Filters
) -> tuple[list[LeadFact], dict[str, str]]:
    """The facts a question is about, and the rep -> team map its team filter used."""
    teams = await store.select_teams(conn)
    facts = await store.select_facts(conn, filters.start, filters.end)
    return select(facts, filters, teams), teams


async def speed_report(conn: AsyncConnection, filters: Filters) -> dict[str, Any]:
    facts, _ = await facts_for(conn, filters)
    return speed.speed_report(facts, filters.tz)


async def funnel_report(conn: AsyncConnection, filters: Filters) -> dict[str, Any]:
    facts, _ = await facts_for(conn, filters)
    return funnel.funnel_report(facts)


async def value_report(
    conn: AsyncConnection, filters: Filters, costs: Sequence[CampaignCost]
) -> dict[str, Any]:
    facts, _ = await facts_for(conn, filters)
    return value.value_report(facts, costs)


async def effort_report(
    conn: AsyncConnection, filters: Filters, stopped_after: int = effort.STOPPED_AFTER
) -> dict[str, Any]:
    facts, _ = await facts_for(conn, filters)
    return effort.effort(facts, stopped_after)


async def leaderboard(conn: AsyncConnection, filters: Filters, min_sample: int) -> dict[str, Any]:
    facts, teams = await facts_for(conn, filters)
    breaches = await store.select_breaches(conn)
    multipliers = await store.select_multipliers(conn)
    return accountability.leaderboard(facts, breaches, teams, min_sample, multipliers)


async def fairness_report(conn: AsyncConnection, filters: Filters) -> dict[str, Any]:
    """Over the assignment decisions of the leads the filters other than rep and team
    select; rep and team pick the rows shown (a rep's fairness is about the leads they
    could have had, not only the ones they got)."""
    teams = await store.select_teams(conn)
    facts = await store.select_facts(conn, filters.start, filters.end)
    leads = select(facts, replace(filters, rep=None, team=None), teams)
    decisions = [
        fairness.decision_of(data)
        for data in await store.select_assignments(conn, [f.lead_id for f in leads])
    ]
    return fairness.fairness(decisions, shown_reps(decisions, filters, teams))


def shown_reps(
    decisions: Sequence[fairness.Decision], filters: Filters, teams: dict[str, str]
) -> set[str] | None:
    if filters.rep is None and filters.team is None:
        return None
    reps = {d.rep_id for d in decisions} | {m.rep_id for d in decisions for m in d.pool or ()}
    return {
        r for r in reps
        if filters.rep in (None, r) and (filters.team is None or teams.get(r) == filters.team)
    }  # fmt: skip


async def flow_report(conn: AsyncConnection, filters: Filters) -> dict[str, Any]:
    facts, _ = await facts_for(conn, filters)
    return await _flow(conn, facts)


async def _flow(conn: AsyncConnection, facts: Sequence[LeadFact]) -> dict[str, Any]:
    counted = await letters_store.count_by_group(conn)
    per_service = {group: counted.get(group, 0) for group in consuming_groups()}
    return flow.flow(facts, per_service, await letters_store.leads_with_letters(conn))


async def dashboard(
    conn: AsyncConnection,
    filters: Filters,
    costs: Sequence[CampaignCost],
    min_sample: int,
    *,
    stopped_after: int = effort.STOPPED_AFTER,
) -> dict[str, Any]:
    """Every report at once, over one selection of facts (a dashboard page shows several),
    plus the speed-to-lead distribution the charts draw. Each report is the same function
    the API answers with, so a page's figures are the API's."""
    facts, teams = await facts_for(conn, filters)
    breaches = await store.select_breaches(conn)
    multipliers = await store.select_multipliers(conn)
    return {
        "speed": speed.speed_report(facts, filters.tz),
        "funnel": funnel.funnel_report(facts),
        "value": value.value_report(facts, costs),
        "effort": effort.effort(facts, stopped_after),
        "leaderboard": accountability.leaderboard(facts, breaches, teams, min_sample, multipliers),
        "fairness": await fairness_report(conn, filters),
        "flow": await _flow(conn, facts),
        "distribution": speed.first_contact_distribution(facts),
        "breaches_by_queue": flow.breaches_by_queue(facts),
    }


async def recent_decisions(
    conn: AsyncConnection, filters: Filters, limit: int = 50
) -> list[tuple[str, datetime, dict[str, Any], dict[str, Any] | None]]:
    """The latest assignments of the leads the filters select, with the score behind each."""
    facts, _ = await facts_for(conn, filters)
    return await store.select_decisions(conn, [f.lead_id for f in facts], limit)


async def lead_timeline(
    conn: AsyncConnection, lead_id: str
) -> tuple[LeadFact | None, list[Observation]]:
    """A lead's fact row and everything observed about it, oldest first."""
    fact = await store.select_fact(conn, lead_id)
    observed = (await store.observations_of(conn, [lead_id]))[lead_id]
    return fact, sorted(observed, key=lambda o: (o.at, o.kind))
