"""Teams in the routing config (``routing.teams``): reps who answer to one manager::

    teams:
      - name: emea
        manager: {name: Zoe Grant, email: zoe@example.com, slack_user_id: U024BE7LH, rep: zoe}
        members: [ana, ben]

A rep is in at most one team; reps in no team are fine. SLA events carry the owner's team
and manager, and ``GET /v1/reports/teams`` sums the rep figures per team. A manager with a
``rep`` (a rep id of ``reps``) takes leads as that rep: a queue's SLA can escalate to the
owner's manager (``then: {manager: true}``). Such a queue is refused at load when one of
its members is in no team, or in a team whose manager has no ``rep``: each at
``queues[i].sla.then.manager``, naming the rep. (A fallback queue's rep who got the lead on
a reassignment may have no manager: the lead then goes to the manager of its latest earlier
owner who has one; see ``domain/reassignment.py``.)
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
    rep: str | None = Field(
        None,
        description="The rep id the manager takes leads as (SLA then: {manager: true});"
        " absent: the manager is alerted, never assigned",
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
        rep = team.manager.rep
        if rep is not None and rep not in reps:
            problem(("teams", ti, "manager", "rep"), f"unknown rep {rep!r}", rep)


def check_manager_escalation(
    queue: int, members: list[str], teams: list[TeamModel], problem: Report
) -> None:
    """``then: {manager: true}`` needs every member of the queue (its leads' first owners
    under its SLA) in a team whose manager takes leads (has a ``rep``)."""
    loc: tuple[str | int, ...] = ("queues", queue, "sla", "then", "manager")
    for mi, rep_id in enumerate(members):
        where = f"queues[{queue}].members[{mi}]"
        team = next((t for t in teams if rep_id in t.members), None)
        if team is None:
            message = (
                f"rep {rep_id!r} ({where}) is in no team, so has no manager to escalate to;"
                " put them in a team whose manager has a rep, or escalate to a queue or a rep"
            )
            problem(loc, message, True)
        elif team.manager.rep is None:
            ti = teams.index(team)
            message = (
                f"rep {rep_id!r} ({where}) is in team {team.name!r}, whose manager has no rep"
                f" to take leads; give teams[{ti}].manager a rep id"
            )
            problem(loc, message, True)


def teams_domain(teams: list[TeamModel]) -> tuple[Team, ...]:
    return tuple(_team(t) for t in teams)


def _team(team: TeamModel) -> Team:
    m = team.manager
    manager = Manager(m.name, str(m.email), m.slack_user_id, m.rep)
    return Team(team.name, manager, tuple(team.members))
