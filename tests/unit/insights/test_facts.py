"""The fold from observations to a lead's fact row: order-free, stages, outcomes, touches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.insights.domain import followups
from services.insights.domain.facts import (
    FactRules,
    LeadFact,
    Observation,
    derive_fact,
    reached,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def act(minutes: float, kind: str, n: int = 0, **data: Any) -> Observation:
    return Observation("activity", at(minutes), {"activity_id": f"{kind}-{minutes}-{n}",
                                                  "activity": kind, **data})  # fmt: skip


def history() -> list[Observation]:
    due = at(30).isoformat()
    return [
        Observation("captured", at(0), {"source": "web", "channel": "cpc", "campaign": "spring"}),
        Observation("scored", at(0.1), {"bucket": "warm", "source": "web"}),
        Observation("qualified", at(0.2), {"bucket": "warm"}),
        Observation(
            "assigned", at(1), {"queue": "uk", "rep_id": "ana", "bucket": "warm", "sla_due_at": due}
        ),  # fmt: skip
        Observation("bucket_changed", at(50), {"bucket": "hot"}),
        act(10, "called", rep_id="ana"),
        act(20, "replied"),
        act(60, "emailed"),
        act(120, "meeting_booked"),
        act(500, "won", amount="1200.50"),
        act(900, "emailed"),  # after the win: not a touch to close
    ]


def test_a_full_history_folds_into_one_fact_row() -> None:
    fact = derive_fact("L1", history())
    assert fact == LeadFact(
        lead_id="L1", captured_at=at(0), source="web", channel="cpc", campaign="spring",
        queue="uk", rep_id="ana", bucket="hot", assigned_at=at(1), sla_due_at=at(30),
        first_contact_at=at(10), mql_at=at(0.2), sql_at=at(10), opportunity_at=at(120),
        won_at=at(500), won_amount=Decimal("1200.50"), touches=3, touches_to_close=2,
        responded=True, touches_unanswered=1, placement="assigned", placement_queue="uk",
    )  # fmt: skip


def test_the_fold_ignores_the_order_events_arrived_in() -> None:
    events = history()
    expected = derive_fact("L1", events)
    for seed in range(5):
        random.Random(seed).shuffle(events)
        assert derive_fact("L1", events) == expected


def test_an_activity_delivered_twice_counts_once() -> None:
    events = [Observation("captured", at(0), {"source": "web"}), act(5, "called"), act(5, "called")]
    assert derive_fact("L", events).touches == 1


def test_the_latest_outcome_wins_and_a_loss_keeps_its_reason() -> None:
    events = [Observation("captured", at(0), {"source": "web"}), act(5, "won", amount="10"),
              act(9, "lost", reason="budget")]  # fmt: skip
    fact = derive_fact("L", events)
    assert (fact.won_at, fact.lost_at, fact.lost_reason, fact.won_amount) == (
        None, at(9), "budget", None,
    )  # fmt: skip


def test_a_lead_known_only_from_its_assignment_takes_the_capture_time_it_carries() -> None:
    events = [Observation("assigned", at(3), {"queue": "q", "rep_id": "ben", "source": "api",
                                              "captured_at": at(0).isoformat()})]  # fmt: skip
    fact = derive_fact("L", events)
    assert (fact.captured_at, fact.source, fact.rep_id) == (at(0), "api", "ben")


def test_the_current_owner_is_the_latest_assignment_and_first_assigned_is_the_first() -> None:
    events = [
        Observation("captured", at(0), {"source": "web"}),
        Observation("assigned", at(1), {"queue": "uk", "rep_id": "ana"}),
        Observation("sla_breached", at(31), {"rep_id": "ana", "action": "reassigned"}),
        Observation("assigned", at(31), {"queue": "uk", "rep_id": "ben"}),
    ]
    fact = derive_fact("L", events)
    assert (fact.rep_id, fact.assigned_at, fact.breaches) == ("ben", at(1), 1)


@pytest.mark.parametrize(
    ("stage", "times", "expected"),
    [
        ("mql", {}, False),
        ("mql", {"mql_at": at(1)}, True),
        ("mql", {"won_at": at(9)}, True),  # a win passed every stage before it
        ("opportunity", {"sql_at": at(2)}, False),
        ("won", {"lost_at": at(5)}, False),
    ],
)
def test_a_later_stage_implies_the_earlier_ones(
    stage: str, times: dict[str, datetime], expected: bool
) -> None:
    assert reached(LeadFact("L", captured_at=at(0), **times), stage) is expected  # type: ignore[arg-type]


def test_response_counts_only_at_or_after_the_first_contact() -> None:
    early = [Observation("captured", at(0), {}), act(1, "replied"), act(5, "called")]
    assert derive_fact("L", early).responded is False
    assert derive_fact("L", early).touches_unanswered is None
    assert derive_fact("L", [*early, act(6, "meeting_booked")]).responded is True


def test_touches_unanswered_are_the_touches_after_the_last_response() -> None:
    touched = [Observation("captured", at(0), {}), act(1, "called"), act(2, "replied"),
               act(3, "emailed"), act(4, "meeting_booked"), act(5, "called"),
               act(6, "sms_sent", n=1), act(7, "contacted")]  # fmt: skip
    assert derive_fact("L", touched).touches_unanswered == 3
    assert derive_fact("L", [*touched, act(8, "replied")]).touches_unanswered == 0
    assert derive_fact("L", touched[:3]).touches_unanswered == 0


@pytest.mark.parametrize(
    ("due", "touches", "closed", "expected"),
    [
        ([at(0)], [at(10)], False, (0, 0)),  # on time
        ([at(0)], [at(0) + timedelta(hours=25)], False, (1, 0)),  # late
        ([at(0), at(60)], [at(70)], False, (0, 1)),  # first missed: no touch before the next due
        ([at(0)], [], False, (0, 0)),  # still open
        ([at(0)], [], True, (0, 1)),  # closed without the touch: missed
        ([at(0)], [at(-5)], True, (0, 1)),  # a touch before it was due does not close it
    ],
)
def test_follow_up_touches_are_on_time_late_or_missed(
    due: list[datetime], touches: list[datetime], closed: bool, expected: tuple[int, int]
) -> None:
    assert (
        followups.lateness(due, touches, closed=closed, late_after=timedelta(hours=24)) == expected
    )


def test_late_and_missed_follow_ups_land_on_the_fact() -> None:
    events = [
        Observation("captured", at(0), {}),
        Observation("followup_due", at(100), {}),
        Observation("followup_due", at(200), {}),
        act(200 + 60 * 30, "called"),  # 30 h after the second was due
        Observation("gone_cold", at(5000), {}),
    ]
    fact = derive_fact("L", events, FactRules(late_after=timedelta(hours=24)))
    assert (fact.late_touches, fact.missed_touches) == (1, 1)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([Observation("assigned", at(1), {"queue": "uk", "sla_due_at": at(30).isoformat()})],
         True),
        ([Observation("assigned", at(1), {"queue": "uk", "sla_due_at": at(30).isoformat()}),
          act(5, "called")], False),
        ([Observation("assigned", at(1), {"queue": "uk"})], False),  # no deadline
        ([Observation("assigned", at(1), {"queue": "uk", "sla_due_at": at(30).isoformat()}),
          Observation("sla_breached", at(31), {"action": "kept"})], False),
        ([Observation("assigned", at(1), {"queue": "uk", "sla_due_at": at(30).isoformat()}),
          Observation("recycled", at(40), {"to": "waiting", "queue": "pool"})], False),
    ],
)  # fmt: skip
def test_an_sla_clock_runs_until_contact_outcome_kept_breach_or_move(
    events: list[Observation], expected: bool
) -> None:
    assert derive_fact("L", events).sla_running is expected


def test_placement_follows_the_latest_placing_event_and_nurture_until_stopped() -> None:
    events = [
        Observation("routed_to_nurture", at(1), {"bucket": "cold"}),
        Observation("nurture_step_due", at(2), {}),
    ]
    fact = derive_fact("L", events)
    assert (fact.placement, fact.nurture_active) == ("nurture", True)
    moved = Observation("recycled", at(4), {"to": "waiting", "queue": "p"})
    stopped = derive_fact("L", [*events, Observation("nurture_stopped", at(3), {}), moved])
    assert (stopped.placement, stopped.placement_queue, stopped.nurture_active) == (
        "waiting", "p", False,
    )  # fmt: skip


def test_outcomes_at_the_same_moment_fold_the_same_whatever_the_order() -> None:
    events = [Observation("captured", at(0), {}), act(9, "won", amount="5"),
              act(9, "lost", reason="budget")]  # fmt: skip
    assert derive_fact("L", events) == derive_fact("L", events[::-1])


def moved(minutes: float, frm: str, to: str) -> Observation:
    return Observation("stage_changed", at(minutes), {"from_stage": frm, "to_stage": to,
                                                      "cause": "x"})  # fmt: skip


def test_the_routers_stage_moves_set_the_stage_times_when_it_announced_any() -> None:
    lost_first = [
        Observation("captured", at(0), {"source": "web"}),
        Observation("qualified", at(1), {"bucket": "warm"}),
        act(10, "called"),
        act(100, "lost", reason="budget"),
        act(200, "meeting_booked"),  # after the loss: the router moves nothing
        moved(2, "captured", "mql"),
        moved(10, "mql", "sql"),
        moved(100, "sql", "lost"),
    ]
    fact = derive_fact("L1", lost_first)
    assert (fact.mql_at, fact.sql_at, fact.opportunity_at) == (at(2), at(10), None)
    assert fact.lost_at == at(100) and fact.lost_reason == "budget"
    assert not reached(fact, "opportunity")


def test_without_stage_moves_the_stages_are_derived_from_the_activities() -> None:
    derived = [
        Observation("captured", at(0), {"source": "web"}),
        Observation("qualified", at(1), {"bucket": "warm"}),
        act(10, "called"),
        act(100, "lost", reason="budget"),
        act(200, "meeting_booked"),
    ]
    fact = derive_fact("L1", derived)
    assert (fact.mql_at, fact.sql_at, fact.opportunity_at) == (at(1), at(10), at(200))


def test_a_skipped_stage_is_reached_through_the_later_one() -> None:
    fact = derive_fact("L1", [Observation("captured", at(0)), moved(5, "mql", "opportunity")])
    assert fact.sql_at is None and reached(fact, "sql") and reached(fact, "opportunity")


def closed(step: int, outcome: str, plan: str = "p1") -> Observation:
    return Observation("followup_closed", at(step * 100), {"plan_id": plan, "step": step,
                                                           "outcome": outcome})  # fmt: skip


@pytest.mark.parametrize(
    ("closes", "late_missed"),
    [
        ([closed(1, "done"), closed(2, "late"), closed(3, "missed")], (1, 1)),
        ([closed(1, "late"), closed(1, "late")], (1, 0)),  # a republished close counts once
        ([closed(1, "late"), closed(1, "missed", plan="p2")], (1, 1)),  # another plan's touch
    ],
)
def test_nurtures_settled_touches_count_late_and_missed(
    closes: list[Observation], late_missed: tuple[int, int]
) -> None:
    due = [Observation("followup_due", at(100)), Observation("followup_due", at(200))]
    fact = derive_fact("L1", [Observation("captured", at(0)), *due, *closes])
    assert (fact.late_touches, fact.missed_touches) == late_missed


def test_without_settled_touches_lateness_is_derived() -> None:
    due = Observation("followup_due", at(100))
    late = act(100 + 25 * 60, "called")  # 25 h after due, past the 24 h rule
    fact = derive_fact("L1", [Observation("captured", at(0)), due, late])
    assert (fact.late_touches, fact.missed_touches) == (1, 0)
