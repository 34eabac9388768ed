"""Touch status from the activities: done, late, missed, pending, due, skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.nurture.followup import FollowupPlan, PlanTouch, ScheduledTouch
from services.nurture.suppression import Suppression, SuppressionReason
from services.nurture.touch_modes import TouchMode
from services.nurture.touch_status import ReportedActivity, TouchStatus, touch_statuses

CALL, EMAIL, MEETING, TASK = TouchMode.CALL, TouchMode.EMAIL, TouchMode.MEETING, TouchMode.TASK
PENDING, DUE, DONE, LATE, MISSED, SKIPPED = (
    TouchStatus.PENDING,
    TouchStatus.DUE,
    TouchStatus.DONE,
    TouchStatus.LATE,
    TouchStatus.MISSED,
    TouchStatus.SKIPPED,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


ASSIGNED = at(9, 8)
# Mon 9 Mar 09:00 call, Tue 10 Mar 09:00 call, Thu 12 Mar 09:00 meeting; grace 4h, last 7d
PLAN = FollowupPlan(
    "hot",
    (PlanTouch(CALL), PlanTouch(CALL), PlanTouch(MEETING)),
    grace=timedelta(hours=4),
    last_touch_window=timedelta(days=7),
)
TOUCHES = (
    ScheduledTouch(1, 3, CALL, at(9, 9)),
    ScheduledTouch(2, 3, CALL, at(10, 9)),
    ScheduledTouch(3, 3, MEETING, at(12, 9)),
)


def called(moment: datetime) -> ReportedActivity:
    return ReportedActivity("called", moment)


def statuses(
    activities: list[ReportedActivity],
    now: datetime,
    touches: tuple[ScheduledTouch, ...] = TOUCHES,
    plan: FollowupPlan = PLAN,
    suppressions: tuple[Suppression, ...] = (),
) -> list[TouchStatus]:
    found = touch_statuses(
        plan, touches, activities, now, assigned_at=ASSIGNED, suppressions=suppressions
    )
    return [outcome.status for outcome in found]


@pytest.mark.parametrize(
    ("activities", "now", "expected"),
    [
        ([], at(9, 8, 30), [PENDING, PENDING, PENDING]),
        ([], at(9, 10), [DUE, PENDING, PENDING]),
        # never done by the time the next one is due: missed
        ([], at(10, 10), [MISSED, DUE, PENDING]),
        ([called(at(9, 10))], at(10, 10), [DONE, DUE, PENDING]),
        # done within the grace: done; after it: late
        ([called(at(9, 13))], at(9, 14), [DONE, PENDING, PENDING]),
        ([called(at(9, 14))], at(9, 15), [LATE, PENDING, PENDING]),
        # late but before the next was due: late, not missed
        ([called(at(10, 8)), called(at(10, 11))], at(10, 12), [LATE, DONE, PENDING]),
        # a call after the next touch fell due is that touch's: the earlier one is missed
        ([called(at(10, 9, 30))], at(10, 12), [MISSED, DONE, PENDING]),
        # one call completes one touch
        ([called(at(9, 10))], at(12, 10), [DONE, MISSED, DUE]),
        # done early (before its due time, once the previous was done) counts as done
        (
            [called(at(9, 9, 5)), called(at(9, 11)), ReportedActivity("meeting_booked", at(9, 12))],
            at(9, 13),
            [DONE, DONE, DONE],
        ),
        # the last touch stays open for last_touch_window, then is missed
        ([called(at(9, 10)), called(at(10, 10))], at(18, 9), [DONE, DONE, DUE]),
        ([called(at(9, 10)), called(at(10, 10))], at(19, 9), [DONE, DONE, MISSED]),
        # the wrong mode does not complete a touch; a call reported as "contacted" does
        ([ReportedActivity("emailed", at(9, 10))], at(9, 11), [DUE, PENDING, PENDING]),
        (
            [ReportedActivity("contacted", at(9, 10), channel="call")],
            at(9, 11),
            [DONE, PENDING, PENDING],
        ),
        # activities before the assignment (a previous owner's) and after now do not count
        ([called(at(9, 7))], at(9, 11), [DUE, PENDING, PENDING]),
        ([called(at(9, 12))], at(9, 11), [DUE, PENDING, PENDING]),
    ],
)
def test_touch_status_follows_the_reported_activities(
    activities: list[ReportedActivity], now: datetime, expected: list[TouchStatus]
) -> None:
    assert statuses(activities, now) == expected


def test_the_matching_activity_time_is_reported() -> None:
    found = touch_statuses(PLAN, TOUCHES, [called(at(9, 14))], at(9, 15), assigned_at=ASSIGNED)
    assert found[0].done_at == at(9, 14)
    assert found[1].done_at is None


def test_a_task_is_done_by_any_reps_touch() -> None:
    plan = FollowupPlan("warm", (PlanTouch(TASK),))
    touches = (ScheduledTouch(1, 1, TASK, at(9, 9)),)
    for activity in (
        ReportedActivity("emailed", at(9, 10)),
        ReportedActivity("contacted", at(9, 10)),
    ):
        assert statuses([activity], at(9, 11), touches, plan) == [DONE]
    assert statuses([ReportedActivity("replied", at(9, 10))], at(9, 11), touches, plan) == [DUE]


EMAIL_PLAN = FollowupPlan(
    "warm",
    (PlanTouch(CALL), PlanTouch(EMAIL), PlanTouch(CALL)),
    grace=timedelta(hours=4),
    last_touch_window=timedelta(days=7),
)
EMAIL_TOUCHES = (
    ScheduledTouch(1, 3, CALL, at(9, 9)),
    ScheduledTouch(2, 3, EMAIL, at(10, 9)),
    ScheduledTouch(3, 3, CALL, at(11, 9)),
)


def unsubscribed(moment: datetime) -> Suppression:
    return Suppression(EMAIL, SuppressionReason.UNSUBSCRIBED, moment)


@pytest.mark.parametrize(
    ("activities", "suppressed_at", "now", "expected"),
    [
        # unsubscribed before the e-mail was due: skipped, the calls go on
        ([called(at(9, 10))], at(9, 12), at(12, 9), [DONE, SKIPPED, DUE]),
        # unsubscribed while the e-mail was due and not sent: skipped, not missed
        ([called(at(9, 10))], at(10, 12), at(12, 9), [DONE, SKIPPED, DUE]),
        # e-mailed, then unsubscribed: the e-mail was done
        (
            [called(at(9, 10)), ReportedActivity("emailed", at(10, 10))],
            at(10, 12),
            at(10, 13),
            [DONE, DONE, PENDING],
        ),
        # missed before the unsubscribe: still missed
        ([called(at(9, 10))], at(11, 12), at(11, 13), [DONE, MISSED, DUE]),
    ],
)
def test_a_suppressed_email_touch_is_skipped_not_missed(
    activities: list[ReportedActivity],
    suppressed_at: datetime,
    now: datetime,
    expected: list[TouchStatus],
) -> None:
    suppression = (unsubscribed(suppressed_at),)
    assert statuses(activities, now, EMAIL_TOUCHES, EMAIL_PLAN, suppression) == expected


def test_a_touch_skipped_when_planned_is_transparent_to_its_neighbours() -> None:
    skip = unsubscribed(at(1, 0))
    touches = (
        EMAIL_TOUCHES[0],
        ScheduledTouch(2, 3, EMAIL, at(10, 9), skipped=skip),
        EMAIL_TOUCHES[2],
    )
    # the first call stays open until the second call is due
    found = touch_statuses(
        EMAIL_PLAN, touches, [called(at(10, 20))], at(10, 21), assigned_at=ASSIGNED
    )
    assert [o.status for o in found] == [LATE, SKIPPED, PENDING]
    assert found[1].skipped_by == skip
