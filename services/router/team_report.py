"""``GET /v1/reports/teams``: the rep figures of ``GET /v1/reports/reps`` summed per team
(``routing.teams``), with the team's manager, so managers compare teams as they compare reps."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.router.api import RepStatsOut, Since, stats_of
from services.router.deps import RoutingDep, RuntimeDep
from services.router.domain.teams import team_totals
from services.router.store import stats as stats_store
from shared.auth.guard import ReportsRead

router = APIRouter(prefix="/v1", tags=["reports"])


class ManagerOut(BaseModel):
    name: str
    email: str
    slack_user_id: str | None = None
    rep_id: str | None = Field(None, description="The rep id the manager takes leads as")


class TeamStatsOut(BaseModel):
    team: str = Field(description="Team name from routing.teams")
    manager: ManagerOut = Field(description="Who the team's reps answer to")
    members: list[str] = Field(description="Rep ids in the team now")
    figures: RepStatsOut = Field(
        description="The members' figures summed (rep_id is the team name, name the manager's);"
        " rates worked out from the sums"
    )


class TeamReportOut(BaseModel):
    since: date | None = Field(description="First UTC day counted (null: since the start)")
    teams: list[TeamStatsOut] = Field(description="Teams in config order")


@router.get(
    "/reports/teams",
    response_model=TeamReportOut,
    summary="Every team's figures: its reps' figures summed, with the manager",
)
async def teams_report(
    runtime: RuntimeDep, source: RoutingDep, caller: ReportsRead, since: Since = None
) -> TeamReportOut:
    async with runtime.engine.connect() as conn:
        routing = (await source.current(conn)).routing
        totals = await stats_store.rep_totals(conn, since)
    teams = []
    for team in routing.teams:
        m = team.manager
        figures = stats_of(team.name, m.name, team_totals(team, totals))
        teams.append(
            TeamStatsOut(
                team=team.name,
                manager=ManagerOut(
                    name=m.name, email=m.email, slack_user_id=m.slack_user_id, rep_id=m.rep
                ),
                members=list(team.members),
                figures=figures,
            )
        )
    return TeamReportOut(since=since, teams=teams)
