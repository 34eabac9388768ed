"""Teams: the config names every problem at its key, and a team's figures are its reps'
figures summed, with rates worked out from the sums."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from services.router.api import stats_of
from services.router.config.changes import DeleteRep, Refused, apply_change
from services.router.config.document import Problem, to_document
from services.router.config.model import to_domain
from services.router.domain.model import Manager, Team
from services.router.domain.teams import team_totals
from shared.config import ConfigError
from tests.unit.router.test_config import VALID, validate

UK = {
    "name": "uk",
    "manager": {"name": "Zoe", "email": "zoe@example.com", "slack_user_id": "U024BE7LH"},
    "members": ["ana"],
}


def with_teams(*teams: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    data["teams"] = [copy.deepcopy(t) for t in teams]
    return data


def test_teams_convert_to_domain_values_and_a_rep_finds_their_team() -> None:
    us = {"name": "us", "manager": {"name": "Max", "email": "max@example.com"}, "members": ["ben"]}
    routing = to_domain(validate(with_teams(UK, us)))
    uk = Team("uk", Manager("Zoe", "zoe@example.com", "U024BE7LH"), ("ana",))
    assert routing.teams == (uk, Team("us", Manager("Max", "max@example.com"), ("ben",)))
    assert routing.team_of("ana") == uk
    assert routing.team_of("ben") is not None and routing.team_of("ben") != uk
    assert routing.team_of("zed") is None


def test_teams_are_optional() -> None:
    routing = to_domain(validate(copy.deepcopy(VALID)))
    assert routing.teams == ()
    assert routing.team_of("ana") is None


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate(data)
    return str(caught.value).splitlines()


def test_unknown_rep_in_a_team_is_named_at_its_key() -> None:
    team = {**UK, "members": ["ana", "zed"]}
    assert _problems(with_teams(team)) == [
        "leadflow.yaml: routing.teams[0].members[1]: unknown rep 'zed'"
    ]


def test_a_rep_in_two_teams_is_refused() -> None:
    other = {"name": "us", "manager": {"name": "Max", "email": "max@example.com"}}
    other["members"] = ["ben", "ana"]
    assert _problems(with_teams(UK, other)) == [
        "leadflow.yaml: routing.teams[1].members[1]: rep 'ana' is already in team 'uk'"
    ]


def test_duplicate_team_and_member_listed_twice_are_refused() -> None:
    twice = {**UK, "members": ["ben", "ben"]}
    assert _problems(with_teams(UK, twice)) == [
        "leadflow.yaml: routing.teams[1].name: duplicate team name 'uk' (also teams[0])",
        "leadflow.yaml: routing.teams[1].members[1]: rep 'ben' listed twice",
    ]


@pytest.mark.parametrize(
    ("manager", "message"),
    [
        ({"name": "Zoe"}, "routing.teams[0].manager.email: Field required"),
        ({"name": "Zoe", "email": "nope"}, "routing.teams[0].manager.email: value is not"),
        (
            {"name": "Zoe", "email": "zoe@example.com", "slack_user_id": "zoe"},
            "routing.teams[0].manager.slack_user_id: String should match pattern",
        ),
    ],
)
def test_manager_problems_are_named_at_their_key(manager: dict[str, Any], message: str) -> None:
    problems = _problems(with_teams({**UK, "manager": manager}))
    assert any(message in p for p in problems), problems


def test_team_figures_are_the_members_figures_summed() -> None:
    team = Team("uk", Manager("Zoe", "zoe@example.com"), ("ana", "ben", "cara"))
    totals = {
        "ana": {"assigned": 10.0, "contacted_within_sla": 8.0, "breached": 2.0,
                "responses": 9.0, "response_seconds": 900.0},
        "ben": {"assigned": 2.0, "contacted_within_sla": 0.0, "breached": 2.0,
                "responses": 1.0, "response_seconds": 1900.0},
        "zed": {"assigned": 100.0, "breached": 100.0},  # in no team: not counted
    }  # fmt: skip
    summed = team_totals(team, totals)
    assert summed == {"assigned": 12.0, "contacted_within_sla": 8.0, "breached": 4.0,
                      "responses": 10.0, "response_seconds": 2800.0}  # fmt: skip
    figures = stats_of("uk", "Zoe", summed)
    # 8 of 12 clocks met: not the mean of the reps' rates (0.8 and 0.0)
    assert figures.sla_met_rate == round(8 / 12, 4)
    assert figures.avg_first_contact_s == 280.0
    assert (figures.assigned, figures.breached, figures.won) == (12, 4, 0)


def test_a_team_without_figures_has_zeros_and_no_rates() -> None:
    team = Team("uk", Manager("Zoe", "zoe@example.com"), ("ana",))
    figures = stats_of("uk", "Zoe", team_totals(team, {}))
    assert (figures.assigned, figures.sla_met_rate, figures.avg_first_contact_s) == (0, None, None)


def test_deleting_a_rep_still_in_a_team_is_refused_at_the_member() -> None:
    data = with_teams({**UK, "members": ["ana", "ben"]})
    data["reps"].append({"id": "cara", "name": "Cara", "timezone": "Europe/London"})
    data["teams"].append({"name": "us", "manager": {"name": "Max", "email": "max@example.com"},
                          "members": ["cara"]})  # fmt: skip
    document = to_document(validate(data))
    assert document["teams"][0]["manager"]["email"] == "zoe@example.com"
    result = apply_change(document, DeleteRep("cara"))
    assert isinstance(result, Refused)
    assert result.problems == (
        Problem("teams[1].members[0]", "still names rep 'cara'; change it first"),
    )
