"""Each KPI function on small, hand-counted fact sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.insights import schemas
from services.insights.domain import (
    accountability,
    effort,
    fairness,
    flow,
    funnel,
    speed,
    value,
)
from services.insights.domain.facts import LeadFact
from services.insights.domain.filters import Filters, select, time_zone
from services.insights.domain.value import CampaignCost

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def lead(n: int, captured_min: float = 0, **kw: Any) -> LeadFact:
    return LeadFact(f"L{n}", captured_at=T0 + timedelta(minutes=captured_min), **kw)


def mins(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def test_speed_percentiles_and_shares_are_over_the_cohort() -> None:
    facts = [
        lead(1, assigned_at=mins(1), first_contact_at=mins(4)),  # 4 min
        lead(2, assigned_at=mins(2), first_contact_at=mins(30)),  # 30 min
        lead(3, assigned_at=mins(3), first_contact_at=mins(120)),  # 2 h
        lead(4, assigned_at=mins(4)),  # never contacted
    ]
    got = speed.speed(facts)
    assert got == {
        "leads": 4, "assigned": 4, "contacted": 3,
        "captured_to_assigned_s": {"p50": 120.0, "p90": 240.0, "p99": 240.0},
        "captured_to_first_contact_s": {"p50": 1800.0, "p90": 7200.0, "p99": 7200.0},
        "contacted_within_5m": 0.25, "contacted_within_1h": 0.5,
    }  # fmt: skip


def test_speed_of_nothing_is_unknown_not_zero() -> None:
    got = speed.speed([])
    assert got["captured_to_assigned_s"] == {"p50": None, "p90": None, "p99": None}
    assert got["contacted_within_1h"] is None


def test_trend_days_are_calendar_days_in_the_asked_time_zone() -> None:
    late_evening_utc = LeadFact("A", captured_at=datetime(2026, 11, 2, 23, 30, tzinfo=UTC))
    morning_utc = LeadFact("B", captured_at=datetime(2026, 11, 3, 1, 0, tzinfo=UTC))
    in_utc = [d["day"] for d in speed.trend([late_evening_utc, morning_utc], ZoneInfo("UTC"))]
    in_tokyo = speed.trend([late_evening_utc, morning_utc], ZoneInfo("Asia/Tokyo"))
    in_la = speed.trend([late_evening_utc, morning_utc], ZoneInfo("America/Los_Angeles"))
    assert in_utc == ["2026-11-02", "2026-11-03"]
    assert [(d["day"], d["leads"]) for d in in_tokyo] == [("2026-11-03", 2)]
    assert [(d["day"], d["leads"]) for d in in_la] == [("2026-11-02", 2)]


def test_speed_report_groups_by_rep_queue_and_source_with_missing_named() -> None:
    facts = [lead(1, rep_id="ana", queue="uk", source="web"), lead(2, source="web")]
    got = speed.speed_report(facts, ZoneInfo("UTC"))
    assert {k: v["leads"] for k, v in got["by_rep"].items()} == {"(none)": 1, "ana": 1}
    assert list(got["by_source"]) == ["web"]


def test_funnel_counts_each_stage_with_step_and_lead_rates() -> None:
    facts = [
        lead(1, mql_at=mins(1), sql_at=mins(2), opportunity_at=mins(3), won_at=mins(4)),
        lead(2, mql_at=mins(1), sql_at=mins(2), lost_at=mins(9), lost_reason="budget"),
        lead(3, mql_at=mins(1), lost_at=mins(9), lost_reason="budget"),
        lead(4, lost_at=mins(9), lost_reason="timing"),
    ]
    got = funnel.funnel(facts)
    assert got["counts"] == {"lead": 4, "mql": 3, "sql": 2, "opportunity": 1, "won": 1}
    assert got["lost"] == 3
    assert got["step_rates"] == {"mql": 0.75, "sql": 0.666667, "opportunity": 0.5, "won": 1.0}
    assert got["lead_rates"] == {"mql": 0.75, "sql": 0.5, "opportunity": 0.25, "won": 0.25}
    assert funnel.lost_reasons(facts) == [
        {"reason": "budget", "leads": 2}, {"reason": "timing", "leads": 1},
    ]  # fmt: skip


def test_funnel_report_splits_by_every_dimension() -> None:
    got = funnel.funnel_report([lead(1, channel="cpc"), lead(2, channel="email")])
    assert set(got["by"]) == {"source", "channel", "campaign", "rep", "queue", "bucket"}
    assert got["by"]["channel"]["cpc"]["counts"]["lead"] == 1


def test_value_totals_averages_and_revenue_per_lead() -> None:
    facts = [
        lead(1, channel="cpc", won_at=mins(5), won_amount=Decimal("100")),
        lead(2, channel="cpc", won_at=mins(5), won_amount=Decimal("50.5")),
        lead(3, channel="cpc"),
        lead(4, channel="email", lost_at=mins(5)),
    ]
    got = value.value_report(facts, ())
    assert got["by_channel"]["cpc"] == {
        "leads": 3, "won": 2, "total_won": 150.5, "average_won": 75.25, "revenue_per_lead": 50.17,
    }  # fmt: skip
    assert got["by_channel"]["email"]["average_won"] is None
    assert got["overall"]["total_won"] == 150.5


def test_campaign_costs_give_cost_per_lead_per_won_and_return() -> None:
    facts = [
        lead(1, campaign="spring", channel="cpc", won_at=mins(5), won_amount=Decimal("3000")),
        lead(2, campaign="spring", channel="cpc"),
        lead(3, campaign="autumn", channel="email"),
    ]
    costs = [CampaignCost("spring", Decimal("1000"), "cpc"), CampaignCost("winter", Decimal("10"))]
    got = value.costs_report(facts, costs)
    assert got["by_campaign"]["spring"] == {
        "cost": 1000.0, "leads": 2, "won": 1, "revenue": 3000.0, "cost_per_lead": 500.0,
        "cost_per_won": 1000.0, "return": 2.0,
    }  # fmt: skip
    assert got["by_campaign"]["winter"]["cost_per_lead"] is None  # spent, nothing came of it
    assert got["by_campaign"]["winter"]["return"] == -1.0
    assert list(got["by_channel"]) == ["cpc"]


def test_effort_touches_to_close_and_responses() -> None:
    facts = [
        lead(
            1,
            first_contact_at=mins(1),
            touches=3,
            touches_to_close=3,
            won_at=mins(9),
            responded=True,
        ),  # fmt: skip
        lead(
            2,
            first_contact_at=mins(1),
            touches=1,
            touches_to_close=1,
            won_at=mins(9),
            responded=True,
            late_touches=1,
            touches_unanswered=3,
        ),  # fmt: skip
        lead(3, first_contact_at=mins(1), touches=4, missed_touches=2),
        lead(4),
    ]
    assert effort.effort(facts) == {
        "won": 2, "touches_to_close_avg": 2.0, "touches_to_close_p50": 1.0, "touches": 8,
        "contacted": 3, "response_rate": 0.666667, "never_responded": 0.333333,
        "stopped_responding": 0.333333, "stopped_responding_after": 3,
        "late_touches": 1, "missed_touches": 2,
    }  # fmt: skip
    assert effort.effort(facts, stopped_after=4)["stopped_responding"] == 0.0


def rep_leads(rep: str, n: int, won: int, start: int) -> list[LeadFact]:
    return [
        lead(start + i, rep_id=rep, won_at=mins(9) if i < won else None,
             won_amount=Decimal("10") if i < won else None)
        for i in range(n)
    ]  # fmt: skip


def test_leaderboard_marks_top_and_bottom_quarter_among_reps_with_enough_leads() -> None:
    facts = [
        *rep_leads("ana", 10, 8, 0), *rep_leads("ben", 10, 5, 100), *rep_leads("cy", 10, 4, 200),
        *rep_leads("dee", 10, 1, 300), *rep_leads("eve", 2, 2, 400),  # eve: too few to mark
    ]  # fmt: skip
    board = accountability.leaderboard(facts, [("L0", "ana"), ("L999", "ana")], {}, 10)
    marks = {r["rep"]: r["mark"] for r in board["reps"]}
    assert marks == {"ana": "high", "ben": None, "cy": None, "dee": "low", "eve": None}
    ana = board["reps"][0]
    assert (ana["assigned"], ana["won"], ana["conversion"], ana["value"], ana["breaches"]) == (
        10, 8, 0.8, 80.0, 1,  # the breach on a lead outside the selection does not count
    )  # fmt: skip


def test_each_rep_shows_the_fairness_multiplier_last_applied_or_one() -> None:
    board = accountability.leaderboard(rep_leads("ana", 1, 0, 0) + rep_leads("ben", 1, 0, 9),
                                       [], {}, 10, {"ana": 0.5})  # fmt: skip
    assert [(r["rep"], r["multiplier"]) for r in board["reps"]] == [("ana", 0.5), ("ben", 1.0)]


def test_fewer_than_four_markable_reps_marks_nobody() -> None:
    facts = [*rep_leads("ana", 10, 8, 0), *rep_leads("ben", 10, 1, 100)]
    board = accountability.leaderboard(facts, [], {}, 10)
    assert {r["mark"] for r in board["reps"]} == {None}


def test_teams_sum_their_reps_figures() -> None:
    facts = [*rep_leads("ana", 3, 1, 0), *rep_leads("ben", 2, 2, 100), *rep_leads("cy", 1, 0, 200)]
    board = accountability.leaderboard(facts, [("L0", "ana")], {"ana": "uk", "ben": "uk"}, 1)
    assert [(t["team"], t["members"], t["assigned"], t["won"], t["breaches"]) for t in
            board["teams"]] == [("uk", ["ana", "ben"], 5, 3, 1)]  # fmt: skip


def test_contacted_within_sla_compares_first_contact_with_the_deadline() -> None:
    facts = [
        lead(1, rep_id="ana", sla_due_at=mins(30), first_contact_at=mins(30)),  # on the dot
        lead(2, rep_id="ana", sla_due_at=mins(30), first_contact_at=mins(31)),
        lead(3, rep_id="ana", sla_due_at=mins(30)),
    ]
    row = accountability.figures(facts, 0)
    assert (row["contacted_within_sla"], row["within_sla_rate"]) == (1, 0.333333)


def test_flow_counts_waiting_running_clocks_and_nurture() -> None:
    facts = [
        lead(1, placement="waiting", placement_queue="uk"),
        lead(2, placement="waiting", placement_queue="uk"),
        lead(3, placement="assigned", queue="de", sla_running=True),
        lead(4, placement="nurture", nurture_active=True),
        lead(5, placement="snoozed"),
    ]
    assert flow.flow(facts, {"router": 2, "capture": 0}, {"L3", "L9"}) == {
        "waiting": 2, "waiting_by_queue": {"uk": 2}, "sla_running": 1,
        "sla_running_by_queue": {"de": 1}, "nurture_active": 1, "snoozed": 1,
        "dead_letters": 2, "dead_letters_by_service": {"capture": 0, "router": 2},
        "dead_letter_leads": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(), ["L1", "L2", "L3"]),
        (Filters(start=mins(10)), ["L2", "L3"]),
        (Filters(end=mins(10)), ["L1"]),  # the end is exclusive
        (Filters(start=mins(10), end=mins(20)), ["L2"]),
        (Filters(channel="cpc"), ["L1", "L3"]),
        (Filters(channel="cpc", rep="ana"), ["L1"]),
        (Filters(team="uk"), ["L1", "L2"]),
        (Filters(bucket="hot", source="web"), ["L3"]),
        (Filters(campaign="nope"), []),
    ],
)
def test_filters_select_by_capture_window_and_every_attribute(
    filters: Filters, expected: list[str]
) -> None:
    facts = [
        LeadFact("L1", captured_at=mins(0), channel="cpc", rep_id="ana", bucket="warm",
                 source="web"),
        LeadFact("L2", captured_at=mins(10), channel="email", rep_id="ben", bucket="warm"),
        LeadFact("L3", captured_at=mins(20), channel="cpc", rep_id="cy", bucket="hot",
                 source="web"),
        LeadFact("L4", captured_at=None, channel="cpc"),  # never captured: in no cohort
    ]  # fmt: skip
    teams = {"ana": "uk", "ben": "uk", "cy": "us"}
    assert [f.lead_id for f in select(facts, filters, teams)] == expected


@pytest.mark.parametrize(
    ("name", "known"),
    [("Europe/London", True), ("UTC", True), ("America", False), ("", False),
     ("../etc/passwd", False), ("zone.tab", False), ("Mars/Olympus", False)],
)  # fmt: skip
def test_a_time_zone_is_an_iana_zone_and_nothing_else_in_the_database(
    name: str, known: bool
) -> None:
    assert (time_zone(name) is not None) is known


def reports_of(facts: list[LeadFact]) -> dict[str, dict[str, Any]]:
    """Every KPI report the API answers with, built from ``facts``."""
    decisions = [
        fairness.Decision("uk", "ana", "weighted_round_robin",
                          (fairness.Member("ana", True, 2, 1.0), fairness.Member("ben", False))),
        fairness.Decision("uk", "ben", "round_robin", None),
    ]  # fmt: skip
    return {
        "speed": speed.speed_report(facts, ZoneInfo("Europe/London")),
        "funnel": funnel.funnel_report(facts),
        "value": value.value_report(facts, [CampaignCost("spring", Decimal(100), "paid")]),
        "effort": effort.effort(facts),
        "leaderboard": accountability.leaderboard(facts, [("L1", "ana")], {"ana": "uk"}, 1),
        "fairness": fairness.fairness(decisions),
        "flow": flow.flow(facts, {"router": 1}, {"L1"}),
    }


@pytest.mark.parametrize("populated", [False, True], ids=["no leads", "leads"])
def test_every_report_has_exactly_its_published_shape(populated: bool) -> None:
    """The OpenAPI models (services.insights.schemas) describe what the reports return:
    every key, nothing more, and the JSON round-trips through the model unchanged."""
    facts = [
        lead(1, rep_id="ana", source="web", channel="paid", campaign="spring", bucket="hot",
             queue="uk", assigned_at=mins(1), first_contact_at=mins(4), sla_due_at=mins(30),
             won_at=mins(90), won_amount=Decimal("120.50"), touches=2, touches_to_close=2,
             responded=True, placement="assigned", sla_running=False),
        lead(2, 1500, rep_id="ben", lost_at=mins(1600), lost_reason="budget",
             placement="waiting", placement_queue="uk", nurture_active=True),
    ] if populated else []  # fmt: skip
    for name, report in reports_of(facts).items():
        as_json = json.loads(json.dumps(report))
        model = schemas.REPORT_MODELS[name].model_validate_json(json.dumps(report), strict=True)
        assert model.model_dump(mode="json", by_alias=True) == as_json, name
