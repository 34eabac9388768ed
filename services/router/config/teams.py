"""Teams in the routing config (``routing.teams``): reps who answer to one manager::

    teams:
      - name: emea
        manager: {name: Zoe Grant, email: zoe@example.com, slack_user_id: U024BE7LH}
        members: [ana, ben]

A rep is in at most one team; reps in no team are fine. SLA events carry the owner's team
and manager, and ``GET /v1/reports/teams`` sums the rep figures per team.
"""

from __future__ import annotations

from pydantic import EmailStr, Field

from services.router.config.fields import Model, Report
from services.router.domain.model import Manager, Team

TEAM_NAME = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class ManagerModel(Model):
    name: str = Field(min_length=1, description="Manager's display name")
    email: EmailStr = Field(description="Where the notifier can reach the manager")
    slack_user_id: str | None = Field(
        None, pattern=r"^[UW][A-Z0-9]+$", description="Slack member id, e.g. U024BE7LH"
    )


class TeamModel(Model):
    name: str = Field(pattern=TEAM_NAME, description="Lowercase slug, e.g. emea")
    manager: ManagerModel = Field(description="Who the team's reps answer to")
    members: list[str] = Field(min_length=1, description="Rep ids")


def check_teams(teams: list[TeamModel], reps: dict[str, int], problem: Report) -> None:
    """Team names are distinct; members are known reps, each in one team only."""
    names: dict[str, int] = {}
    homes: dict[str, int] = {}
    for ti, team in enumerate(teams):
        if team.name in names:
            message = f"duplicate team name {team.name!r} (also teams[{names[team.name]}])"
            problem(("teams", ti, "name"), message, team.name)
        else:
            names[team.name] = ti
        for mi, member in enumerate(team.members):
            loc: tuple[str | int, ...] = ("teams", ti, "members", mi)
            if member not in reps:
                problem(loc, f"unknown rep {member!r}", member)
            elif team.members.index(member) < mi:
                problem(loc, f"rep {member!r} listed twice", member)
            elif member in homes and homes[member] != ti:
                other = teams[homes[member]].name
                problem(loc, f"rep {member!r} is already in team {other!r}", member)
            else:
                homes[member] = ti


def teams_domain(teams: list[TeamModel]) -> tuple[Team, ...]:
    return tuple(_team(t) for t in teams)


def _team(team: TeamModel) -> Team:
    m = team.manager
    return Team(team.name, Manager(m.name, str(m.email), m.slack_user_id), tuple(team.members))
