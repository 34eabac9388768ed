"""Load that reflects effort: open leads weigh by bucket in capacity and least-loaded, and
daily, weekly and monthly caps count in the rep's own calendar (weeks start on Monday)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.load import (
    PeriodStarts,
    cap_reached,
    local_midnight,
    period_starts,
    roll_load,
    weighted_open,
)
from services.router.domain.model import (
    LoadWeights,
    OwnerMatch,
    Queue,
    Rep,
    RepLoad,
    Routing,
    Strategy,
)
from services.router.domain.owners import AccountOwner, AccountOwners
from services.router.domain.routing import Assigned, apply_assignment, route_lead
from services.router.domain.strategies import check_rep, choose_rep

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2026, 1, 13, 10, 0, tzinfo=UTC)  # Tuesday
WEIGHTS = LoadWeights((("hot", 3), ("warm", 2), ("cold", 1)))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def setup(
    *reps: Rep, strategy: Strategy = "least_loaded", weights: LoadWeights | None = WEIGHTS
) -> tuple[Queue, Routing]:
    queue = Queue("q", "sales", "uk", tuple(r.id for r in reps), strategy)
    return queue, Routing({r.id: r for r in reps}, {"q": queue}, (), "q", load_weights=weights)


def rep(rep_id: str, **kwargs: Any) -> Rep:
    return Rep(rep_id, rep_id.title(), LONDON, **kwargs)


@pytest.mark.parametrize(
    ("bucket", "weight"),
    [("hot", 3), ("HOT ", 3), ("warm", 2), ("cold", 1), ("unknown", 1), (None, 1), ("", 1)],
)
def test_a_lead_weighs_its_buckets_weight_and_unknown_buckets_the_default(
    bucket: str | None, weight: int
) -> None:
    assert WEIGHTS.weight_of(bucket) == weight
    assert LoadWeights((("hot", 3),), default=2).weight_of(bucket) == (3 if weight == 3 else 2)


def test_without_weights_every_lead_weighs_one() -> None:
    routing = setup(rep("ana"), weights=None)[1]
    assert routing.lead_weight("hot") == 1
    assert weighted_open({"hot": 2, "cold": 3}, None) == 5


def test_two_hot_leads_weigh_more_than_three_cold_ones() -> None:
    assert weighted_open({"hot": 2}, WEIGHTS) == 6
    assert weighted_open({"cold": 3}, WEIGHTS) == 3
    assert weighted_open({"hot": 1, "warm": 1, "nurture?": 2}, WEIGHTS) == 7


def test_least_loaded_sends_the_lead_to_the_rep_with_three_cold_leads() -> None:
    queue, routing = setup(rep("ana"), rep("ben"))
    loads = {"ana": RepLoad("ana", 2, open_weight=6), "ben": RepLoad("ben", 3, open_weight=3)}
    choice = choose_rep(queue, routing, loads, 0, NOW, {"bucket": "warm"})
    assert choice.rep_id == "ben"
    assert [c.reason for c in choice.candidates] == [
        "eligible, 2 open leads weighing 6",
        "lightest load (3 open leads weighing 3)",
    ]


def test_unweighted_least_loaded_keeps_counting_leads() -> None:
    queue, routing = setup(rep("ana"), rep("ben"), weights=None)
    loads = {"ana": RepLoad("ana", 2), "ben": RepLoad("ben", 3)}
    choice = choose_rep(queue, routing, loads, 0, NOW, {"bucket": "warm"})
    assert choice.rep_id == "ana"
    assert choice.candidates[0].reason == "fewest open leads (2)"


@pytest.mark.parametrize(
    ("open_weight", "bucket", "eligible"),
    [
        (7, "hot", True),  # 7 + 3 = 10: exactly at the cap
        (8, "hot", False),  # 8 + 3 passes it
        (8, "warm", True),
        (9, "cold", True),
        (10, "cold", False),
        (9, "mystery", True),  # unknown bucket: the default 1
    ],
)
def test_max_open_caps_the_weighted_load_with_the_new_lead(
    open_weight: int, bucket: str, eligible: bool
) -> None:
    queue, routing = setup(rep("ana", max_open=10))
    loads = {"ana": RepLoad("ana", 4, open_weight=open_weight)}
    choice = choose_rep(queue, routing, loads, 0, NOW, {"bucket": bucket})
    assert (choice.rep_id == "ana") is eligible
    if not eligible:
        weight = WEIGHTS.weight_of(bucket)
        assert choice.candidates[0].reason == (
            f"at capacity: max_open 10 reached (weighted load {open_weight} + this lead's {weight})"
        )


def test_unweighted_max_open_is_still_fewer_open_leads_than_the_cap() -> None:
    queue, routing = setup(rep("ana", max_open=3), weights=None)
    assert choose_rep(queue, routing, {"ana": RepLoad("ana", 2)}, 0, NOW, {}).rep_id == "ana"
    full = choose_rep(queue, routing, {"ana": RepLoad("ana", 3)}, 0, NOW, {"bucket": "hot"})
    assert full.candidates[0].reason == "at capacity: max_open 3 reached (3 open)"


def test_each_assignment_adds_its_leads_weight() -> None:
    load = RepLoad("ana", 1, 1, open_weight=2, assigned_week=4, assigned_month=9)
    assert load.plus_one(3) == RepLoad(
        "ana", 2, 2, open_weight=5, assigned_week=5, assigned_month=10
    )
    assert RepLoad("ana", 2).plus_one() == RepLoad("ana", 3, 1)  # unweighted stays unweighted
    assert RepLoad("ana", 2).plus_one(3).effort == 5


def test_a_batch_of_hot_and_cold_leads_balances_weighted_load() -> None:
    queue, routing = setup(rep("ana"), rep("ben"))
    loads: dict[str, RepLoad] = {
        "ana": RepLoad("ana", open_weight=0),
        "ben": RepLoad("ben", open_weight=0),
    }
    cursors: dict[str, int] = {}
    buckets = ["hot", "cold", "cold", "cold", "hot", "cold", "cold", "cold"]
    for bucket in buckets:
        decision = route_lead({}, bucket, routing, loads, cursors, NOW)
        assert isinstance(decision, Assigned)
        weight = routing.lead_weight(bucket)
        loads, cursors = apply_assignment(decision, loads, cursors, weight=weight)
    assert {r: load.effort for r, load in loads.items()} == {"ana": 6, "ben": 6}
    assert Counter({r: load.open_leads for r, load in loads.items()}) == {"ana": 2, "ben": 6}


@pytest.mark.parametrize(
    ("cap", "period", "load", "eligible"),
    [
        ("max_per_week", "week", RepLoad("ana", assigned_week=19), True),
        ("max_per_week", "week", RepLoad("ana", assigned_week=20), False),
        ("max_per_month", "month", RepLoad("ana", assigned_month=20), False),
        ("max_per_month", "month", RepLoad("ana", assigned_month=None), True),  # not counted
    ],
)
def test_weekly_and_monthly_caps_beside_the_daily_one(
    cap: str, period: str, load: RepLoad, eligible: bool
) -> None:
    queue, _ = setup(rep("ana"))
    ok, why = check_rep(rep("ana", **{cap: 20}), queue, load, NOW, {})
    assert ok is eligible
    if not eligible:
        assert why == f"at capacity: {cap} 20 reached (20 assigned this {period})"


def test_the_daily_cap_message_is_unchanged() -> None:
    queue, _ = setup(rep("ana"))
    ok, why = check_rep(rep("ana", max_per_day=2), queue, RepLoad("ana", 0, 2), NOW, {})
    assert (ok, why) == (False, "at capacity: max_per_day 2 reached (2 assigned today)")


@pytest.mark.parametrize(
    ("now", "zone", "day", "week", "month"),
    [
        # Tuesday 13 Jan 2026, London (UTC+0): week from Monday 12th, month from the 1st.
        ("2026-01-13T10:00", LONDON, "2026-01-13T00:00", "2026-01-12T00:00", "2026-01-01T00:00"),
        # Sunday 23:30 in London is still the week that began on Monday.
        ("2026-01-18T23:30", LONDON, "2026-01-18T00:00", "2026-01-12T00:00", "2026-01-01T00:00"),
        # 04:30 UTC Monday 19th is still Sunday 23:30 in New York: last week.
        ("2026-01-19T04:30", NEW_YORK, "2026-01-18T05:00", "2026-01-12T05:00", "2026-01-01T05:00"),
        ("2026-01-19T05:00", NEW_YORK, "2026-01-19T05:00", "2026-01-19T05:00", "2026-01-01T05:00"),
        # A week across the spring change (Sun 29 Mar 2026, London): Monday began at UTC+0,
        # the next one begins at UTC+1, so this week lasts 167 hours.
        ("2026-03-29T22:59", LONDON, "2026-03-29T00:00", "2026-03-23T00:00", "2026-03-01T00:00"),
        ("2026-03-29T23:00", LONDON, "2026-03-29T23:00", "2026-03-29T23:00", "2026-03-01T00:00"),
        # The autumn change (Sun 25 Oct 2026): 169 hours, the next Monday at UTC+0.
        ("2026-10-25T23:59", LONDON, "2026-10-24T23:00", "2026-10-18T23:00", "2026-09-30T23:00"),
        ("2026-10-26T00:00", LONDON, "2026-10-26T00:00", "2026-10-26T00:00", "2026-09-30T23:00"),
        # Month boundary in the rep's zone: 31 Jan 23:30 in New York is 1 Feb 04:30 UTC.
        ("2026-02-01T04:30", NEW_YORK, "2026-01-31T05:00", "2026-01-26T05:00", "2026-01-01T05:00"),
        ("2026-02-01T05:00", NEW_YORK, "2026-02-01T05:00", "2026-01-26T05:00", "2026-02-01T05:00"),
        # Where DST skips midnight (Santiago, Sun 6 Sep 2026), the day begins at the change.
        ("2026-09-06T12:00", SANTIAGO, "2026-09-06T04:00", "2026-08-31T04:00", "2026-09-01T04:00"),
    ],
)
def test_periods_begin_at_local_midnight_weeks_on_monday(
    now: str, zone: ZoneInfo, day: str, week: str, month: str
) -> None:
    assert period_starts(zone, utc(now)) == PeriodStarts(utc(day), utc(week), utc(month))


def test_a_week_across_a_dst_change_is_167_or_169_hours() -> None:
    spring = period_starts(LONDON, utc("2026-03-30T12:00")).week
    assert spring - period_starts(LONDON, utc("2026-03-28T12:00")).week == timedelta(hours=167)
    autumn = period_starts(LONDON, utc("2026-10-27T12:00")).week
    assert autumn - period_starts(LONDON, utc("2026-10-20T12:00")).week == timedelta(hours=169)
    assert local_midnight(LONDON, utc("2026-03-30T12:00").date()) == spring


def test_period_starts_need_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_starts(LONDON, datetime(2026, 1, 13, 10, 0))


STORED = RepLoad("ana", 5, 3, open_weight=9, assigned_week=12, assigned_month=40)


@pytest.mark.parametrize(
    ("at", "later", "today", "week", "month"),
    [
        ("2026-01-15T10:00", "2026-01-15T23:59", 3, 12, 40),  # the same local day
        ("2026-01-15T10:00", "2026-01-16T00:00", 0, 12, 40),  # a new day, same week and month
        ("2026-01-15T10:00", "2026-01-19T00:00", 0, 0, 40),  # Monday: a new week
        ("2026-01-29T10:00", "2026-02-01T00:00", 0, 12, 0),  # Sunday 1 Feb: new month, same week
        ("2026-01-29T10:00", "2026-02-02T00:00", 0, 0, 0),
        ("2026-03-28T10:00", "2026-03-29T23:00", 0, 0, 40),  # Monday 00:00 BST, after the change
        ("2026-03-28T10:00", "2026-03-29T22:59", 0, 12, 40),  # still Sunday
    ],
)
def test_each_period_count_starts_again_when_its_period_does(
    at: str, later: str, today: int, week: int, month: int
) -> None:
    counted = period_starts(LONDON, utc(at))
    rolled, starts = roll_load(STORED, counted, period_starts(LONDON, utc(later)))
    assert (rolled.assigned_today, rolled.assigned_week, rolled.assigned_month) == (
        today,
        week,
        month,
    )
    assert (rolled.open_leads, rolled.open_weight) == (5, 9)  # open leads stay
    assert starts == period_starts(LONDON, utc(later))


def test_a_replica_behind_the_stored_periods_keeps_them() -> None:
    counted = period_starts(LONDON, utc("2026-01-19T09:00"))  # Monday
    behind = period_starts(LONDON, utc("2026-01-18T23:59"))  # Sunday, last week
    rolled, starts = roll_load(STORED, counted, behind)
    assert rolled == STORED
    assert starts == counted


def test_a_load_never_counted_starts_at_zero_in_the_current_periods() -> None:
    current = period_starts(LONDON, NOW)
    rolled, starts = roll_load(RepLoad("ana", 2), None, current)
    assert rolled == RepLoad("ana", 2, 0, assigned_week=0, assigned_month=0)
    assert starts == current


@pytest.mark.parametrize(
    ("limit", "used", "adding", "reached"),
    [(None, 99, 1, False), (5, 4, 1, False), (5, 5, 1, True), (5, 3, 2, False), (5, 4, 2, True)],
)
def test_a_cap_is_reached_when_the_addition_would_pass_it(
    limit: int | None, used: int, adding: int, reached: bool
) -> None:
    assert cap_reached(limit, used, adding) is reached


def test_the_existing_owner_is_held_to_the_weighted_cap_too() -> None:
    queue, routing = setup(rep("ana", max_open=10), rep("ben"), strategy="round_robin")
    routing = replace(routing, owner_match=OwnerMatch(("email_domain",)))
    owners: AccountOwners = {
        ("email_domain", "acme.example"): (AccountOwner("ana", NOW - timedelta(days=3)),)
    }
    loads = {"ana": RepLoad("ana", 3, open_weight=8)}
    facts = {"email": "kim@acme.example"}
    cold = route_lead(facts, "cold", routing, loads, {}, NOW, owners=owners)
    assert isinstance(cold, Assigned) and cold.rep_id == "ana"
    hot = route_lead(facts, "hot", routing, loads, {}, NOW, owners=owners)
    assert isinstance(hot, Assigned) and hot.rep_id == "ben"
    assert "existing owner ana of account acme.example skipped: at capacity" in hot.trace
