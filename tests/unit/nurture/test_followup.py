"""Follow-up plans per bucket and their schedule: N = C / A + 1, spacing, quiet time, caps."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.contact_rules import (
    ContactRules,
    ContactWindow,
    PressureCaps,
    is_open,
)
from services.nurture.followup import (
    FollowupPlan,
    PlanTouch,
    ScheduledTouch,
    SettledTouch,
    cycle_touch_count,
    plan_end_reason,
    plan_for_bucket,
    plan_from_cycle,
    schedule_touches,
)
from services.nurture.suppression import Suppression, SuppressionReason
from services.nurture.touch_modes import TouchMode

CALL, EMAIL, MEETING = TouchMode.CALL, TouchMode.EMAIL, TouchMode.MEETING
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = ContactRules(window=ContactWindow())  # Mon-Fri 09:00-18:00, no caps
HOT = FollowupPlan(
    "hot",
    (PlanTouch(CALL), PlanTouch(CALL, timedelta(days=1)), PlanTouch(MEETING, timedelta(days=2))),
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def dues(touches: tuple[ScheduledTouch, ...]) -> list[datetime]:
    return [t.due_at for t in touches]


@pytest.mark.parametrize(
    ("cycle_weeks", "every_weeks", "expected"),
    [
        (6, 2, 4),
        (5, 2, 3),  # touches at weeks 0, 2, 4; a fourth at week 6 would be after the cycle
        (0, 2, 1),
        (1, 2, 1),
        (2, 2, 2),
        (12, 1.5, 9),
        (0.3, 0.1, 4),  # 0.3 / 0.1 is 2.999... in binary floating point
    ],
)
def test_touch_count_is_cycle_over_spacing_floored_plus_one(
    cycle_weeks: float, every_weeks: float, expected: int
) -> None:
    assert cycle_touch_count(cycle_weeks, every_weeks) == expected


@pytest.mark.parametrize(
    ("cycle_weeks", "every_weeks"), [(6, 0), (6, -1), (-1, 2), (math.nan, 2), (6, math.inf)]
)
def test_spacing_must_be_positive_and_the_cycle_not_negative(
    cycle_weeks: float, every_weeks: float
) -> None:
    with pytest.raises(ValueError):
        cycle_touch_count(cycle_weeks, every_weeks)


def test_a_cycle_plan_spaces_its_touches_a_weeks_apart() -> None:
    plan = plan_from_cycle("cold", 6, 2, EMAIL, first_after=timedelta(days=1))
    assert [t.mode for t in plan.touches] == [EMAIL] * 4
    assert [t.wait for t in plan.touches] == [timedelta(days=1)] + [timedelta(weeks=2)] * 3
    assert plan.last_touch_window == timedelta(weeks=2)


def test_a_bucket_picks_its_plan_case_insensitively() -> None:
    plans = {"Hot": HOT}
    assert plan_for_bucket(" hot ", plans) is HOT
    assert plan_for_bucket("warm", plans) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: FollowupPlan("x", ()),
        lambda: FollowupPlan("x", (PlanTouch(CALL, timedelta(hours=-1)),)),
        lambda: FollowupPlan("x", (PlanTouch(CALL),), grace=timedelta(hours=-1)),
        lambda: FollowupPlan("x", (PlanTouch(CALL),), last_touch_window=timedelta(0)),
        lambda: FollowupPlan("x", (PlanTouch(CALL),) * 101),
    ],
)
def test_a_plan_needs_touches_in_order_and_sane_windows(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_hot_leads_get_their_calls_in_order_inside_the_leads_working_hours() -> None:
    # Assigned Fri 27 Mar 2026 17:00 in London; the clocks change on Sunday
    touches = schedule_touches(HOT, utc(2026, 3, 27, 17), LONDON, OFFICE)
    assert [(t.step, t.total, t.mode) for t in touches] == [
        (1, 3, CALL),
        (2, 3, CALL),
        (3, 3, MEETING),
    ]
    assert dues(touches) == [
        utc(2026, 3, 27, 17),  # now: inside working hours
        utc(2026, 3, 30, 8),  # Saturday 17:00 is quiet -> Monday 09:00 BST
        utc(2026, 4, 1, 8),  # two days after the second call
    ]


def test_the_next_touch_is_spaced_from_the_moved_one_not_from_the_nominal_time() -> None:
    # Assigned Friday evening: the first call moves to Monday 09:00, the second comes a day
    # after it (Tuesday), not on Monday too
    touches = schedule_touches(HOT, utc(2026, 3, 6, 20), LONDON, OFFICE)
    assert dues(touches)[:2] == [utc(2026, 3, 9, 9), utc(2026, 3, 10, 9)]


def test_touches_follow_the_leads_zone_not_the_reps() -> None:
    touches = schedule_touches(HOT, utc(2026, 3, 6, 20), NEW_YORK, OFFICE)
    # 20:00 UTC is 15:00 in New York: call now; a day later is Saturday: Monday 09:00 EDT
    assert dues(touches)[:2] == [utc(2026, 3, 6, 20), utc(2026, 3, 9, 13)]


def test_a_cold_plan_sends_its_emails_two_weeks_apart_in_working_hours() -> None:
    plan = plan_from_cycle("cold", 6, 2, EMAIL)
    touches = schedule_touches(plan, utc(2026, 1, 5, 10), LONDON, OFFICE)
    assert dues(touches) == [utc(2026, 1, 5, 10) + timedelta(weeks=2 * k) for k in range(4)]
    assert {t.mode for t in touches} == {EMAIL}


def test_the_pressure_cap_counts_other_sequences_touches() -> None:
    rules = ContactRules(window=ContactWindow(), caps=PressureCaps(per_day=1))
    nurture_touch = utc(2026, 3, 9, 9, 30)  # Monday
    touches = schedule_touches(HOT, utc(2026, 3, 9, 9), LONDON, rules, contacts=[nurture_touch])
    assert dues(touches) == [utc(2026, 3, 10, 9), utc(2026, 3, 11, 9), utc(2026, 3, 13, 9)]


def test_an_unsubscribed_lead_gets_no_email_touches_but_keeps_its_calls() -> None:
    plan = FollowupPlan("warm", (PlanTouch(CALL), PlanTouch(EMAIL), PlanTouch(CALL)))
    rules = ContactRules(window=ContactWindow(), caps=PressureCaps(per_day=1))
    unsubscribed = Suppression(EMAIL, SuppressionReason.UNSUBSCRIBED, utc(2026, 3, 1))
    touches = schedule_touches(plan, utc(2026, 3, 9, 9), LONDON, rules, suppressions=[unsubscribed])
    assert [t.skipped for t in touches] == [None, unsubscribed, None]
    # the skipped e-mail takes no slot of Tuesday: the second call goes then
    assert dues(touches) == [utc(2026, 3, 9, 9), utc(2026, 3, 9, 9), utc(2026, 3, 10, 9)]


def test_settled_touches_keep_their_due_time_and_the_next_is_spaced_from_when_it_was_done() -> None:
    first = SettledTouch(due_at=utc(2026, 3, 9, 9), done_at=utc(2026, 3, 10, 15))
    touches = schedule_touches(HOT, utc(2026, 3, 9, 9), LONDON, OFFICE, settled=[first])
    assert dues(touches) == [utc(2026, 3, 9, 9), utc(2026, 3, 11, 15), utc(2026, 3, 13, 15)]


def test_a_touch_not_done_is_followed_from_its_due_time() -> None:
    first = SettledTouch(due_at=utc(2026, 3, 9, 9))
    touches = schedule_touches(HOT, utc(2026, 3, 9, 9), LONDON, OFFICE, settled=[first])
    assert dues(touches)[1] == utc(2026, 3, 10, 9)


def test_a_rescheduled_touch_is_never_planned_in_the_past() -> None:
    first = SettledTouch(due_at=utc(2026, 3, 9, 9))
    now = utc(2026, 3, 12, 11)
    touches = schedule_touches(
        HOT, utc(2026, 3, 9, 9), LONDON, OFFICE, settled=[first], not_before=now
    )
    assert dues(touches)[1] == now


def test_scheduling_refuses_naive_times_and_too_many_settled_touches() -> None:
    with pytest.raises(ValueError, match="aware"):
        schedule_touches(HOT, datetime(2026, 3, 9, 9), LONDON, OFFICE)
    settled = [SettledTouch(utc(2026, 3, 9, 9))] * 4
    with pytest.raises(ValueError, match="settled"):
        schedule_touches(HOT, utc(2026, 3, 9, 9), LONDON, OFFICE, settled=settled)


ZONES = st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe"]).map(ZoneInfo)
MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
TOUCHES = st.builds(
    PlanTouch,
    st.sampled_from(list(TouchMode)),
    st.integers(0, 10 * 24 * 4).map(lambda q: timedelta(minutes=15 * q)),
)


@settings(max_examples=150, deadline=None)
@given(
    touches=st.lists(TOUCHES, min_size=1, max_size=6),
    assigned_at=MOMENTS,
    contacts=st.lists(MOMENTS, max_size=6),
    zone=ZONES,
    days=st.frozensets(st.integers(0, 6), min_size=1),
    per_day=st.none() | st.integers(1, 3),
    per_week=st.none() | st.integers(1, 6),
    email_suppressed=st.booleans(),
)
def test_due_times_never_fall_in_quiet_time_and_never_break_the_caps(
    touches: list[PlanTouch],
    assigned_at: datetime,
    contacts: list[datetime],
    zone: ZoneInfo,
    days: frozenset[int],
    per_day: int | None,
    per_week: int | None,
    email_suppressed: bool,
) -> None:
    rules = ContactRules(ContactWindow(days=days), PressureCaps(per_day, per_week))
    blocks = (
        [Suppression(EMAIL, SuppressionReason.HARD_BOUNCE, assigned_at)] if email_suppressed else []
    )
    plan = FollowupPlan("b", tuple(touches))
    scheduled = schedule_touches(
        plan, assigned_at, zone, rules, contacts=contacts, suppressions=blocks
    )
    assert len(scheduled) == len(touches)
    counted = list(contacts)
    anchor = assigned_at
    for touch, planned in zip(touches, scheduled, strict=True):
        assert planned.due_at >= anchor + touch.wait
        assert is_open(planned.due_at, rules.window, zone)
        assert (planned.skipped is not None) == (email_suppressed and touch.mode is EMAIL)
        if planned.skipped is None:
            day = planned.due_at.astimezone(zone).date()
            same_day = [c for c in counted if c.astimezone(zone).date() == day]
            same_week = [c for c in counted if _week(c, zone) == _week(planned.due_at, zone)]
            assert per_day is None or len(same_day) < per_day
            assert per_week is None or len(same_week) < per_week
            counted.append(planned.due_at)
        anchor = planned.due_at


def _week(moment: datetime, zone: ZoneInfo) -> tuple[int, int]:
    day: date = moment.astimezone(zone).date()
    return day.isocalendar()[0], day.isocalendar()[1]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("won", "converted: won"),
        ("lost", "closed: lost"),
        ("replied", None),
        ("unsubscribed", None),
        ("called", None),
    ],
)
def test_only_a_won_or_lost_deal_ends_the_follow_up_plan(kind: str, reason: str | None) -> None:
    assert plan_end_reason(kind) == reason
