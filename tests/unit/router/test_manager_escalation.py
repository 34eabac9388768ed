"""Escalation to the owner's manager (``then: {manager: true}``): the lead goes to the rep the
owning rep's team manager takes leads as (an owner without one: the latest earlier owner's);
the config refuses a queue whose members have no such manager, naming the rep at
``queues[i].sla.then.manager``; a rep named as a manager cannot be deleted while named."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from services.router.config.changes import DeleteRep, Refused, apply_change
from services.router.config.document import Problem, to_document
from services.router.config.model import to_domain
from services.router.domain.model import Escalation, Manager, Routing, Team
from services.router.domain.reassignment import Handover, Stay
from shared.config import ConfigError
from tests.unit.router.test_config import VALID, validate
from tests.unit.router.test_sla import breach_of, clock, org, policy

MANAGER = Escalation(manager=True)


def managed(routing: Routing, manager_rep: str | None = "zoe") -> Routing:
    """ana and ben in team uk, managed by Zoe (as rep ``manager_rep``); cat in no team."""
    zoe = Manager("Zoe Grant", "zoe@example.com", None, manager_rep)
    return replace(routing, teams=(Team("uk", zoe, ("ana", "ben")),))


def test_after_the_last_attempt_the_owners_manager_takes_the_lead_as_their_rep() -> None:
    last = clock(rep_id="ben", attempt=2, owners=("ana", "ben"))
    outcome = breach_of(last, managed(org(policy(max_attempts=2, then=MANAGER))))
    assert isinstance(outcome, Handover)
    assert (outcome.rep_id, outcome.strategy, outcome.escalated) == ("zoe", "escalation", True)
    assert outcome.clock.owners == ("ana", "ben", "zoe") and outcome.clock.attempt == 3
    assert "all 2 attempts missed; escalated to the owner's manager" in outcome.trace
    assert "Zoe Grant (manager of team uk, as rep zoe) takes it" in outcome.trace


def test_nobody_else_in_the_queue_escalates_early_to_the_manager() -> None:
    sla = policy(max_attempts=3, then=MANAGER)
    routing = managed(org(sla, ben={"online": False}, cat={"online": False}))
    outcome = breach_of(clock(), routing)
    assert isinstance(outcome, Handover) and outcome.rep_id == "zoe"
    assert "escalated early to the owner's manager" in outcome.trace


def test_an_owner_in_no_team_escalates_to_the_latest_earlier_owners_manager() -> None:
    # cat (no team) got the lead on a reassignment; ben (team uk) had it before her.
    last = clock(rep_id="cat", attempt=2, owners=("ben", "cat"))
    outcome = breach_of(last, managed(org(policy(max_attempts=2, then=MANAGER))))
    assert isinstance(outcome, Handover) and outcome.rep_id == "zoe"
    assert "Zoe Grant (ben's manager, manager of team uk, as rep zoe) takes it" in outcome.trace


def test_no_owner_with_a_manager_keeps_the_lead_and_says_why() -> None:
    last = clock(rep_id="cat", attempt=1, owners=("cat",))
    outcome = breach_of(last, managed(org(policy(max_attempts=1, then=MANAGER))))
    assert isinstance(outcome, Stay) and outcome.retry is False
    assert outcome.reason.endswith(
        "no owner of the lead (cat) has a team manager who takes leads; stays with cat"
    )


def test_a_manager_without_a_rep_keeps_the_lead_with_its_owner() -> None:
    last = clock(rep_id="ben", attempt=2, owners=("ana", "ben"))
    outcome = breach_of(last, managed(org(policy(max_attempts=2, then=MANAGER)), None))
    assert isinstance(outcome, Stay) and outcome.action == "kept"
    assert "no owner of the lead (ana, ben) has a team manager who takes leads" in outcome.reason


def test_a_manager_who_cannot_take_it_now_is_tried_again() -> None:
    last = clock(rep_id="ben", attempt=2, owners=("ana", "ben"))
    routing = managed(org(policy(max_attempts=2, then=MANAGER), zoe={"online": False}))
    outcome = breach_of(last, routing)
    assert isinstance(outcome, Stay) and outcome.action == "retrying"
    assert "zoe cannot take it now: unavailable" in outcome.reason


# ---- the config ---------------------------------------------------------------------------


def config(then: dict[str, Any], manager_rep: str | None = "zoe", members: Any = None) -> Any:
    """VALID (fashion-uk: ana, ben, falling back to general-global: ben) with zoe, team uk
    (ana, ben) managed by Zoe, and fashion-uk's SLA escalating to ``then``."""
    data = copy.deepcopy(VALID)
    data["reps"].append({"id": "zoe", "name": "Zoe", "timezone": "Europe/London"})
    data["reps"].append({"id": "cy", "name": "Cy", "timezone": "Europe/London"})
    manager: dict[str, Any] = {"name": "Zoe Grant", "email": "zoe@example.com"}
    if manager_rep is not None:
        manager["rep"] = manager_rep
    data["teams"] = [{"name": "uk", "manager": manager, "members": members or ["ana", "ben"]}]
    data["queues"][0]["sla"]["then"] = then
    return data


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate(data)
    return str(caught.value).splitlines()


def test_manager_true_loads_and_the_manager_keeps_their_rep() -> None:
    routing = to_domain(validate(config({"manager": True})))
    sla = routing.queues["fashion-uk"].sla
    assert sla is not None and sla.then == Escalation(manager=True)
    assert sla.then.target == "the owner's manager"
    assert routing.teams[0].manager == Manager("Zoe Grant", "zoe@example.com", None, "zoe")


def test_a_possible_owner_in_no_team_is_refused_at_the_escalation() -> None:
    assert problems(config({"manager": True}, members=["ana"])) == [
        "leadflow.yaml: routing.queues[0].sla.then.manager: rep 'ben' (queues[0].members[1])"
        " is in no team, so has no manager to escalate to; put them in a team whose manager"
        " has a rep, or escalate to a queue or a rep"
    ]


def test_only_the_queues_own_members_need_a_manager() -> None:
    data = config({"manager": True})
    data["queues"][1]["members"] = ["ben", "cy"]  # general-global, fashion-uk's fallback
    assert to_domain(validate(data)).queues["fashion-uk"].sla is not None


def test_a_team_whose_manager_takes_no_leads_is_refused_naming_the_team() -> None:
    assert problems(config({"manager": True}, manager_rep=None)) == [
        "leadflow.yaml: routing.queues[0].sla.then.manager: rep 'ana' (queues[0].members[0])"
        " is in team 'uk', whose manager has no rep to take leads; give teams[0].manager a"
        " rep id",
        "leadflow.yaml: routing.queues[0].sla.then.manager: rep 'ben' (queues[0].members[1])"
        " is in team 'uk', whose manager has no rep to take leads; give teams[0].manager a"
        " rep id",
    ]


@pytest.mark.parametrize(
    ("then", "manager_rep", "message"),
    [
        ({"manager": False}, "zoe",
         "routing.queues[0].sla.then.manager: must be true (or leave it out)"),
        ({"manager": True, "rep": "zoe"}, "zoe",
         "routing.queues[0].sla.then: name one target: a queue, a rep or the owner's manager"),
        ({"manager": "yes please"}, "zoe", "routing.queues[0].sla.then.manager: Input should"),
        ({"manager": True}, "zed", "routing.teams[0].manager.rep: unknown rep 'zed'"),
    ],
)  # fmt: skip
def test_escalation_problems_are_named_at_their_key(
    then: dict[str, Any], manager_rep: str, message: str
) -> None:
    found = problems(config(then, manager_rep))
    assert any(message in p for p in found), found


def test_deleting_a_rep_named_as_a_manager_is_refused_at_the_manager() -> None:
    document = to_document(validate(config({"manager": True})))
    result = apply_change(document, DeleteRep("zoe"))
    assert isinstance(result, Refused)
    assert result.problems == (
        Problem("teams[0].manager.rep", "still names rep 'zoe'; change it first"),
    )
