"""Nurture rules: touch counts, durations, sequence choice, step plans, stop reasons."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.nurture.domain import (
    DEFAULT_STOP_ON,
    STOP_CATEGORIES,
    PlannedStep,
    Sequence,
    plan_steps,
    sequence_for_bucket,
    stop_reason,
    touch_count,
)
from shared.config import parse_duration
from shared.contracts.capture import ActivityKind

ENROLLED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

STANDARD = Sequence(
    name="nurture-standard",
    buckets=frozenset({"nurture"}),
    sales_cycle_weeks=12,
    weeks_between_touches=2,
    modes=("email", "email", "call"),
    templates=("welcome", "case-study", "check-in-call"),
)
COLD = Sequence(
    name="cold-revive",
    buckets=frozenset({"cold", "dormant"}),
    sales_cycle_weeks=24,
    weeks_between_touches=6,
)


@pytest.mark.parametrize(
    ("cycle_weeks", "between_weeks", "expected"),
    [
        (12, 2, 7),
        (1, 2, 1),
        (2, 2, 2),
        (13, 2, 7),
        (12, 1.5, 9),
        (4, 0.5, 9),
        (52, 4, 14),
        (0.3, 0.1, 4),  # 0.3 / 0.1 is 2.999... in binary floating point
        (0.6, 0.2, 4),
    ],
)
def test_touch_count_is_cycle_over_spacing_floored_plus_one(
    cycle_weeks: float, between_weeks: float, expected: int
) -> None:
    assert touch_count(cycle_weeks, between_weeks) == expected


@pytest.mark.parametrize(
    ("cycle_weeks", "between_weeks"),
    [(0, 2), (12, 0), (-4, 2), (12, -1), (math.nan, 2), (math.inf, 2), (12, math.inf)],
)
def test_touch_count_refuses_non_positive_or_infinite_weeks(
    cycle_weeks: float, between_weeks: float
) -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        touch_count(cycle_weeks, between_weeks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("0s", timedelta(0)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration_reads_a_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "duration is empty"),
        ("   ", "duration is empty"),
        ("30", "invalid duration '30'"),
        ("30 s", "invalid duration '30 s'"),
        ("-5s", "invalid duration '-5s'"),
        ("2months", "invalid duration '2months'"),
        ("1y", "invalid duration '1y'"),
        ("s", "invalid duration 's'"),
        ("99999999999w", "is too long"),
    ],
)
def test_parse_duration_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_a_bad_duration_error_shows_the_accepted_form() -> None:
    with pytest.raises(ValueError, match=r"unit s, m, h, d or w, e\.g\. '30s'"):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        ("nurture", "nurture-standard"),
        ("cold", "cold-revive"),
        ("dormant", "cold-revive"),
        ("Nurture", "nurture-standard"),
        (" cold ", "cold-revive"),
        ("hot", None),
        ("", None),
    ],
)
def test_a_bucket_joins_the_sequence_that_lists_it(bucket: str, expected: str | None) -> None:
    found = sequence_for_bucket(bucket, (STANDARD, COLD))
    assert (found.name if found else None) == expected


def test_a_bucket_with_no_sequences_configured_joins_none() -> None:
    assert sequence_for_bucket("nurture", ()) is None


def test_touches_are_weeks_between_touches_apart_by_default() -> None:
    steps = plan_steps(COLD, ENROLLED)
    assert [s.due_at for s in steps] == [ENROLLED + timedelta(weeks=6 * i) for i in range(5)]
    assert [(s.step, s.total) for s in steps] == [(i, 5) for i in range(1, 6)]


def test_touch_interval_overrides_the_spacing_but_not_the_count() -> None:
    demo = Sequence(
        name="demo",
        buckets=frozenset({"nurture"}),
        sales_cycle_weeks=12,
        weeks_between_touches=2,
        touch_interval=timedelta(seconds=30),
        first_touch_after=timedelta(seconds=5),
    )
    steps = plan_steps(demo, ENROLLED)
    assert len(steps) == 7
    assert steps[0].due_at == ENROLLED + timedelta(seconds=5)
    assert steps[-1].due_at == ENROLLED + timedelta(seconds=5 + 6 * 30)


def test_first_touch_waits_first_touch_after_the_enrollment() -> None:
    delayed = Sequence(
        name="delayed",
        buckets=frozenset({"cold"}),
        sales_cycle_weeks=4,
        weeks_between_touches=2,
        first_touch_after=timedelta(days=3),
    )
    assert [s.due_at for s in plan_steps(delayed, ENROLLED)] == [
        ENROLLED + timedelta(days=3),
        ENROLLED + timedelta(days=3, weeks=2),
        ENROLLED + timedelta(days=3, weeks=4),
    ]


@pytest.mark.parametrize(
    ("step", "mode", "template"),
    [
        (1, "email", "welcome"),
        (2, "email", "case-study"),
        (3, "call", "check-in-call"),
        (4, "email", "welcome"),
        (6, "call", "check-in-call"),
        (7, "email", "welcome"),
    ],
)
def test_modes_and_templates_cycle_over_the_touches(step: int, mode: str, template: str) -> None:
    planned = plan_steps(STANDARD, ENROLLED)[step - 1]
    assert planned == PlannedStep(
        step=step,
        total=7,
        mode=mode,
        template=template,
        due_at=ENROLLED + timedelta(weeks=2 * (step - 1)),
    )


def test_a_sequence_without_templates_plans_touches_without_templates() -> None:
    steps = plan_steps(COLD, ENROLLED)
    assert {s.template for s in steps} == {None}
    assert {s.mode for s in steps} == {"email"}


def test_due_times_keep_the_enrollment_time_zone_offset() -> None:
    cet = timezone(timedelta(hours=1))
    enrolled = datetime(2025, 3, 3, 10, 0, tzinfo=cet)
    assert plan_steps(COLD, enrolled)[0].due_at == ENROLLED


def test_plan_steps_refuses_a_naive_enrollment_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_steps(COLD, datetime(2025, 3, 3, 9, 0))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("replied", "responded: replied"),
        ("meeting_booked", "responded: meeting_booked"),
        ("unsubscribed", "opted_out: unsubscribed"),
        ("won", "converted: won"),
        ("lost", "closed: lost"),
        ("contacted", "in_sales: contacted"),
        ("bounced", "unreachable: bounced"),
        ("email_opened", None),
        ("email_clicked", None),
        ("page_visited", None),
        ("form_submitted", None),
        (ActivityKind.UNSUBSCRIBED, "opted_out: unsubscribed"),
    ],
)
def test_default_stop_activities_end_the_sequence_with_a_reason(
    kind: str, expected: str | None
) -> None:
    assert stop_reason(kind, frozenset(DEFAULT_STOP_ON)) == expected


@pytest.mark.parametrize(
    ("kind", "stop_on", "expected"),
    [
        ("email_clicked", {"email_clicked", "unsubscribed"}, "engaged: email_clicked"),
        ("form_submitted", {"form_submitted"}, "engaged: form_submitted"),
        ("replied", {"unsubscribed"}, None),
        ("unsubscribed", set(), None),
        ("unsubscribed", {ActivityKind.UNSUBSCRIBED}, "opted_out: unsubscribed"),
    ],
)
def test_only_configured_activities_stop_a_sequence(
    kind: str, stop_on: set[str], expected: str | None
) -> None:
    assert stop_reason(kind, stop_on) == expected


@pytest.mark.parametrize("kind", list(ActivityKind))
def test_every_activity_kind_has_a_stop_category(kind: ActivityKind) -> None:
    assert kind.value in STOP_CATEGORIES


@pytest.mark.parametrize("kind", DEFAULT_STOP_ON)
def test_default_stop_kinds_are_activity_kinds(kind: str) -> None:
    assert ActivityKind(kind).value == kind
