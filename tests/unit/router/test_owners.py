"""Existing-owner match: a lead of an account someone already works goes to that rep when
they may take it; otherwise the queue's strategy decides, and the trace says which."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.model import (
    Candidate,
    OwnerMatch,
    Queue,
    Rep,
    RepLoad,
    Routing,
    Rule,
    WorkingHours,
)
from services.router.domain.owners import (
    Account,
    AccountOwner,
    AccountOwners,
    account_of,
    find_owner,
    note_owner,
)
from services.router.domain.routing import Assigned, Waiting, apply_assignment, route_lead
from shared.conditions import parse_condition

NOW = datetime(2026, 1, 13, 10, 0, tzinfo=UTC)  # Tuesday 10:00 in London
EARLIER = NOW - timedelta(days=3)
LONDON = ZoneInfo("Europe/London")
NINE_TO_FIVE = WorkingHours(frozenset(range(5)), 9 * 60, 17 * 60)
BOTH = OwnerMatch(("email_domain", "company"))
ACME = {"country": "GB", "interest": "shoes", "email": "kim@acme.example", "company": "ACME Ltd"}


def org(
    match: OwnerMatch | None = BOTH, queue_match: OwnerMatch | None = None, **ana: Any
) -> Routing:
    """fashion-uk (ana, ben, cat: round robin) -> general (uma); ana has the enterprise skill."""
    reps = [
        Rep("ana", "Ana", LONDON, working_hours=NINE_TO_FIVE, skills=frozenset({"vip"}), **ana),
        Rep("ben", "Ben", LONDON),
        Rep("cat", "Cat", LONDON),
        Rep("uma", "Uma", LONDON),
    ]
    queues = [
        Queue("fashion-uk", "fashion", "uk", ("ana", "ben", "cat"), fallback="general",
              owner_match=queue_match),
        Queue("vip", "fashion", "uk", ("ana", "ben"), required_skills=frozenset({"vip"})),
        Queue("general", "general", "global", ("uma",)),
    ]  # fmt: skip
    rules = (
        Rule("vip", parse_condition({"field": "interest", "eq": "couture"}), "vip"),
        Rule("uk", parse_condition({"field": "country", "eq": "GB"}), "fashion-uk"),
    )
    return Routing(
        {r.id: r for r in reps}, {q.name: q for q in queues}, rules, "general", owner_match=match
    )


def owned_by(*reps: str, key: tuple[str, str] = ("email_domain", "acme.example")) -> AccountOwners:
    return {key: tuple(AccountOwner(r, EARLIER + timedelta(hours=i)) for i, r in enumerate(reps))}  # type: ignore[dict-item]


def route(facts: dict[str, Any], routing: Routing, owners: AccountOwners, **kw: Any):
    return route_lead(
        facts, "warm", routing, kw.get("loads", {}), kw.get("cursors", {}), kw.get("now", NOW),
        owners=owners,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("profile", "account"),
    [
        (
            {"email": "Kim@ACME.example", "company": "ACME Shoes Ltd."},
            Account("acme.example", "acme shoes"),
        ),
        ({"email": "kim@gmail.com", "company": "Acme Shoes"}, Account(None, "acme shoes")),
        ({"email": "kim@acme.example"}, Account("acme.example", None)),
        ({"phone": "+447700900123"}, Account(None, None)),
    ],
)  # fmt: skip
def test_accounts_are_recognised_as_capture_matches_them(
    profile: dict[str, Any], account: Account
) -> None:
    assert account_of(profile) == account


def test_owner_is_the_queue_member_who_got_the_accounts_first_lead() -> None:
    queue = org().queues["fashion-uk"]
    owners = owned_by("uma", "ben", "ana")  # uma first, but not a member of fashion-uk
    keys = Account("acme.example", "acme").keys(BOTH.by)
    assert find_owner(keys, owners, queue, BOTH) == (("email_domain", "acme.example"), "ben")


def test_keys_are_tried_in_the_configured_order() -> None:
    queue = org().queues["fashion-uk"]
    owners = {**owned_by("ana"), **owned_by("cat", key=("company", "acme"))}
    account = Account("acme.example", "acme")
    by_company_first = OwnerMatch(("company", "email_domain"))
    assert find_owner(account.keys(BOTH.by), owners, queue, BOTH)[1] == "ana"  # type: ignore[index]
    assert find_owner(account.keys(by_company_first.by), owners, queue, by_company_first) == (
        ("company", "acme"),
        "cat",
    )


def test_owner_is_contacted_counts_only_reps_who_reached_a_lead() -> None:
    queue = org().queues["fashion-uk"]
    contacted = OwnerMatch(("email_domain",), "contacted")
    owners: AccountOwners = {("email_domain", "acme.example"): (
        AccountOwner("ana", EARLIER), AccountOwner("ben", EARLIER + timedelta(hours=1), True),
    )}  # fmt: skip
    keys = Account("acme.example").keys(contacted.by)
    assert find_owner(keys, owners, queue, contacted) == (("email_domain", "acme.example"), "ben")
    assert find_owner(keys, owned_by("ana"), queue, contacted) is None


def test_a_lead_of_an_owned_account_goes_to_its_owner_and_leaves_the_rotation_alone() -> None:
    decision = route(ACME, org(), owned_by("cat"), cursors={"fashion-uk": 1})
    assert isinstance(decision, Assigned)
    assert (decision.queue, decision.rep_id, decision.choice.strategy) == (
        "fashion-uk", "cat", "owner_match",
    )  # fmt: skip
    assert decision.next_cursor == 1  # ben is still next in the rotation
    assert decision.account == "acme.example"
    assert decision.trace == (
        "rule 'uk' matched: fashion-uk; existing owner cat of account acme.example: assigned"
    )
    why = "existing owner of account acme.example (available (no working hours set))"
    assert decision.attempts[0].choice.candidates == (Candidate("cat", True, why),)


@pytest.mark.parametrize(
    ("routing", "loads", "now", "why"),
    [
        (org(), {}, NOW + timedelta(hours=8),
         "unavailable: off hours (18:00 Europe/London, works 09:00-17:00)"),
        (org(online=False), {}, NOW, "unavailable: offline"),
        (org(max_open=2), {"ana": RepLoad("ana", 2, 2)}, NOW,
         "at capacity: max_open 2 reached (2 open)"),
        (org(max_per_day=1), {"ana": RepLoad("ana", 0, 1)}, NOW,
         "at capacity: max_per_day 1 reached (1 assigned today)"),
    ],
    ids=["off-hours", "offline", "max-open", "max-per-day"],
)  # fmt: skip
def test_an_owner_who_cannot_take_it_is_skipped_and_the_strategy_decides(
    routing: Routing, loads: dict[str, RepLoad], now: datetime, why: str
) -> None:
    decision = route(ACME, routing, owned_by("ana"), loads=loads, now=now)
    assert isinstance(decision, Assigned)
    assert decision.choice.strategy == "round_robin"
    assert decision.rep_id == "ben"
    assert decision.account == "acme.example"
    assert f"existing owner ana of account acme.example skipped: {why}; round_robin picked ben" in (
        decision.trace
    )
    assert decision.attempts[0].choice.candidates == (
        Candidate("ana", False, f"existing owner of account acme.example: {why}"),
    )
    # The owner is not asked twice: the queue's own pass still lists ana among its members.
    assert [a.queue for a in decision.attempts] == ["fashion-uk", "fashion-uk"]


def test_owner_without_the_queues_skill_is_skipped() -> None:
    facts = {**ACME, "interest": "couture"}
    routing = org()
    routing = replace(
        routing,
        reps={**routing.reps, "ben": replace(routing.reps["ben"], skills=frozenset({"vip"}))},
    )
    ana = replace(routing.reps["ana"], skills=frozenset())
    routing = replace(routing, reps={**routing.reps, "ana": ana})
    decision = route(facts, routing, owned_by("ana"))
    assert isinstance(decision, Assigned) and decision.rep_id == "ben"
    assert "existing owner ana of account acme.example skipped: missing skill vip" in decision.trace


def test_an_owner_outside_the_queue_does_not_count() -> None:
    decision = route(ACME, org(), owned_by("uma"))
    assert isinstance(decision, Assigned)
    assert (decision.rep_id, decision.choice.strategy) == ("ana", "round_robin")
    assert "owner match: account acme.example or acme has no owner in fashion-uk" in (
        decision.trace
    )
    assert decision.account is None


def test_a_lead_without_account_keys_is_routed_as_usual_and_the_trace_says_why() -> None:
    decision = route({"country": "GB", "email": "kim@gmail.com"}, org(), owned_by("cat"))
    assert isinstance(decision, Assigned) and decision.rep_id == "ana"
    assert "owner match: the lead has no company e-mail domain or company name" in decision.trace


@pytest.mark.parametrize(
    ("match", "queue_match", "owner_asked"),
    [
        (None, None, False),  # off by default
        (BOTH, OwnerMatch(()), False),  # the queue turns it off
        (None, BOTH, True),  # the queue turns it on
        (OwnerMatch(("company",)), OwnerMatch(("email_domain",)), True),  # the queue's wins
    ],
)
def test_a_queues_own_owner_match_wins_over_the_routing_default(
    match: OwnerMatch | None, queue_match: OwnerMatch | None, owner_asked: bool
) -> None:
    decision = route(ACME, org(match, queue_match), owned_by("cat"))
    assert isinstance(decision, Assigned)
    assert (decision.rep_id == "cat") is owner_asked
    assert ("owner" in decision.trace) is owner_asked


def test_waiting_lead_lists_the_skipped_owner_among_the_candidates() -> None:
    routing = org(online=False)
    routing = replace(routing, reps={
        r.id: replace(r, online=False) for r in routing.reps.values()
    })  # fmt: skip
    decision = route(ACME, routing, owned_by("ana"))
    assert isinstance(decision, Waiting)
    assert decision.candidates[0] == Candidate(
        "ana", False, "existing owner of account acme.example: unavailable: offline"
    )
    assert decision.reason == "nobody can take the lead now (tried fashion-uk -> general)"


def test_a_batch_sends_an_accounts_second_lead_to_the_rep_who_got_its_first() -> None:
    routing = org()
    loads: dict[str, RepLoad] = {}
    cursors: dict[str, int] = {"fashion-uk": 2}  # cat is next in rotation
    owners: AccountOwners = {}
    picked = []
    for facts in (
        ACME,
        {**ACME, "email": "lee@acme.example"},
        {"country": "GB", "company": "Globex"},
    ):
        decision = route(facts, routing, owners, loads=loads, cursors=cursors)
        assert isinstance(decision, Assigned)
        picked.append((decision.rep_id, decision.choice.strategy))
        loads, cursors = apply_assignment(decision, loads, cursors)
        owners = note_owner(owners, account_of(facts), decision.rep_id, NOW)
    assert picked == [("cat", "round_robin"), ("cat", "owner_match"), ("ana", "round_robin")]


def test_noting_an_owner_keeps_the_first_date_of_a_rep_already_listed() -> None:
    owners = note_owner(owned_by("ana"), Account("acme.example", "acme"), "ana", NOW)
    assert owners[("email_domain", "acme.example")] == (AccountOwner("ana", EARLIER),)
    assert owners[("company", "acme")] == (AccountOwner("ana", NOW),)
