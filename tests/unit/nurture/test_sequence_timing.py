"""Nurture sequences get the same quiet hours, pressure caps and suppression as follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.contact_rules import ContactRules, ContactWindow, PressureCaps, is_open
from services.nurture.domain import Sequence, plan_steps
from services.nurture.sequence_timing import place_steps
from services.nurture.suppression import Suppression, SuppressionReason
from services.nurture.touch_modes import TouchMode

LONDON = ZoneInfo("Europe/London")
OFFICE = ContactRules(window=ContactWindow())
COLD_REVIVE = Sequence(
    name="cold-revive",
    buckets=frozenset({"cold"}),
    sales_cycle_weeks=24,
    weeks_between_touches=6,
    first_touch_after=timedelta(days=3),
    modes=("email", "email", "sms"),
)
DEMO = Sequence(
    name="nurture-standard",
    buckets=frozenset({"nurture"}),
    sales_cycle_weeks=12,
    weeks_between_touches=2,
    touch_interval=timedelta(seconds=30),
    modes=("email", "email", "call"),
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_without_contact_rules_a_sequence_keeps_its_planned_times() -> None:
    steps = plan_steps(DEMO, utc(2026, 3, 7, 23, 59))
    placed = place_steps(steps, LONDON, ContactRules())
    assert [p.step for p in placed] == list(steps)
    assert all(p.skipped is None for p in placed)


def test_a_sequence_touch_in_quiet_time_moves_to_the_leads_next_working_moment() -> None:
    # enrolled Friday 20:00: the first touch (3 days later) is Monday 20:00 -> Tuesday 09:00
    placed = place_steps(plan_steps(COLD_REVIVE, utc(2026, 3, 6, 20)), LONDON, OFFICE)
    assert placed[0].step.due_at == utc(2026, 3, 10, 9)
    assert placed[0].step.step == 1
    assert all(is_open(p.step.due_at, OFFICE.window, LONDON) for p in placed)


def test_a_sequence_touch_respects_the_caps_counting_the_reps_touches() -> None:
    rules = ContactRules(window=ContactWindow(), caps=PressureCaps(per_week=1))
    steps = plan_steps(COLD_REVIVE, utc(2026, 3, 6, 20))
    rep_call = utc(2026, 3, 9, 10)  # Monday of the week the first touch falls in
    placed = place_steps(steps, LONDON, rules, contacts=[rep_call])
    assert placed[0].step.due_at == utc(2026, 3, 16, 9)


def test_an_unsubscribed_lead_gets_the_sms_but_not_the_emails() -> None:
    steps = plan_steps(COLD_REVIVE, utc(2026, 3, 6, 20))
    unsubscribed = Suppression(TouchMode.EMAIL, SuppressionReason.UNSUBSCRIBED, utc(2026, 3, 1))
    placed = place_steps(steps, LONDON, OFFICE, suppressions=[unsubscribed])
    # five touches, modes cycled: email, email, sms, email, email
    assert [p.skipped for p in placed] == [
        unsubscribed,
        unsubscribed,
        None,
        unsubscribed,
        unsubscribed,
    ]
    assert placed[2].step.mode == "sms"


@settings(max_examples=100, deadline=None)
@given(
    enrolled=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    ),
    per_day=st.none() | st.integers(1, 2),
    per_week=st.none() | st.integers(1, 3),
)
def test_placed_steps_keep_their_order_and_are_never_in_quiet_time(
    enrolled: datetime, per_day: int | None, per_week: int | None
) -> None:
    rules = ContactRules(ContactWindow(), PressureCaps(per_day, per_week))
    steps = plan_steps(DEMO, enrolled)
    placed = place_steps(steps, LONDON, rules)
    dues = [p.step.due_at for p in placed]
    assert dues == sorted(dues)
    assert all(p.step.due_at >= s.due_at for p, s in zip(placed, steps, strict=True))
    assert all(is_open(d, rules.window, LONDON) for d in dues)
    days = [d.astimezone(LONDON).date() for d in dues]
    assert per_day is None or all(days.count(d) <= per_day for d in days)
