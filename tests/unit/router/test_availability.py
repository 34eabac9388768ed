"""A rep is available when online, not away, and inside working hours in their own zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.availability import is_available, local_day_start
from services.router.domain.model import DateRange, Rep, WorkingHours

MON_FRI = frozenset(range(5))


def rep(zone: str, start: str = "09:00", end: str = "17:30", **kwargs: Any) -> Rep:
    h1, m1 = start.split(":")
    h2, m2 = end.split(":")
    hours = WorkingHours(MON_FRI, int(h1) * 60 + int(m1), int(h2) * 60 + int(m2))
    return Rep("ana", "Ana", ZoneInfo(zone), working_hours=hours, **kwargs)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# 2026-01-13 is a Tuesday; 2026-01-17 a Saturday; 2026-07-14 a Tuesday (summer time).
# fmt: off
WORKING_HOURS = [
    # zone, window, now (UTC), available, reason
    ("Europe/London", "09:00-17:30", "2026-01-13T08:12", False,
     "off hours (08:12 Europe/London, works 09:00-17:30)"),
    ("Europe/London", "09:00-17:30", "2026-07-14T08:12", True,
     "in working hours (09:12 Europe/London, works 09:00-17:30)"),
    ("Europe/London", "09:00-17:30", "2026-01-13T17:29", True,
     "in working hours (17:29 Europe/London, works 09:00-17:30)"),
    ("Europe/London", "09:00-17:30", "2026-01-13T17:30", False,
     "off hours (17:30 Europe/London, works 09:00-17:30)"),
    ("Europe/Berlin", "09:00-17:00", "2026-01-13T08:00", True,
     "in working hours (09:00 Europe/Berlin, works 09:00-17:00)"),
    ("America/New_York", "09:00-17:00", "2026-01-13T08:00", False,
     "off hours (03:00 America/New_York, works 09:00-17:00)"),
    ("America/New_York", "09:00-17:00", "2026-07-14T13:00", True,
     "in working hours (09:00 America/New_York, works 09:00-17:00)"),
    ("America/Los_Angeles", "08:00-17:00", "2026-01-13T15:59", False,
     "off hours (07:59 America/Los_Angeles, works 08:00-17:00)"),
    ("America/Los_Angeles", "08:00-17:00", "2026-01-13T16:00", True,
     "in working hours (08:00 America/Los_Angeles, works 08:00-17:00)"),
    ("Europe/London", "09:00-17:30", "2026-01-17T11:00", False,
     "day off (Sat 11:00 Europe/London, works mon-fri)"),
    # Monday 02:00 UTC is still Sunday evening in New York.
    ("America/New_York", "09:00-17:00", "2026-01-19T02:00", False,
     "day off (Sun 21:00 America/New_York, works mon-fri)"),
    ("Europe/Berlin", "18:00-24:00", "2026-01-13T22:59", True,
     "in working hours (23:59 Europe/Berlin, works 18:00-24:00)"),
]
# fmt: on


@pytest.mark.parametrize(("zone", "window", "now", "available", "reason"), WORKING_HOURS)
def test_working_hours_are_read_in_the_reps_time_zone(
    zone: str, window: str, now: str, available: bool, reason: str
) -> None:
    start, end = window.split("-")
    assert is_available(rep(zone, start, end), utc(now)) == (available, reason)


def test_rep_in_new_york_is_off_at_eight_utc() -> None:
    available, reason = is_available(rep("America/New_York"), utc("2026-03-03T08:00"))
    assert not available
    assert reason.startswith("off hours (03:00 America/New_York")


@pytest.mark.parametrize(
    ("kwargs", "now", "reason"),
    [
        ({"online": False}, "2026-01-13T10:00", "offline"),
        (
            {"holidays": frozenset({date(2026, 1, 13)})},
            "2026-01-13T10:00",
            "on holiday (2026-01-13 Europe/London)",
        ),
        (
            {"out_of_office": (DateRange(date(2026, 1, 12), date(2026, 1, 13)),)},
            "2026-01-13T10:00",
            "out of office (2026-01-12 to 2026-01-13)",
        ),
        (
            {"out_of_office": (DateRange(date(2026, 1, 13), date(2026, 1, 20)),)},
            "2026-01-13T10:00",
            "out of office (2026-01-13 to 2026-01-20)",
        ),
    ],
)
def test_offline_holiday_and_out_of_office_reps_are_unavailable(
    kwargs: dict[str, Any], now: str, reason: str
) -> None:
    assert is_available(rep("Europe/London", **kwargs), utc(now)) == (False, reason)


def test_rep_is_back_the_day_after_out_of_office_ends() -> None:
    away = (DateRange(date(2026, 1, 5), date(2026, 1, 12)),)
    assert is_available(rep("Europe/London", out_of_office=away), utc("2026-01-13T10:00"))[0]


def test_holiday_is_the_reps_local_date_not_the_utc_date() -> None:
    july_4 = rep("America/New_York", "09:00", "23:00", holidays=frozenset({date(2026, 7, 4)}))
    # 02:00 UTC on 5 July is 22:00 on 4 July in New York (a Saturday, but holidays come first).
    assert is_available(july_4, utc("2026-07-05T02:00")) == (
        False,
        "on holiday (2026-07-04 America/New_York)",
    )
    monday = rep("America/New_York", holidays=frozenset({date(2026, 1, 19)}))
    assert is_available(monday, utc("2026-01-19T14:00"))[0] is False
    assert is_available(monday, utc("2026-01-20T14:00"))[0] is True


@pytest.mark.parametrize("hour", range(0, 24, 3))
def test_rep_without_working_hours_is_always_available(hour: int) -> None:
    always = Rep("uma", "Uma", ZoneInfo("Europe/London"))
    now = utc("2026-01-17T00:00") + timedelta(hours=hour)
    assert is_available(always, now) == (True, "available (no working hours set)")


def test_days_that_are_not_a_run_are_listed() -> None:
    hours = WorkingHours(frozenset({0, 2, 4}), 9 * 60, 17 * 60)
    part_time = Rep("ana", "Ana", ZoneInfo("Europe/London"), working_hours=hours)
    assert is_available(part_time, utc("2026-01-13T10:00")) == (
        False,
        "day off (Tue 10:00 Europe/London, works mon, wed, fri)",
    )


def test_now_in_another_offset_is_converted_not_misread() -> None:
    plus_two = datetime(2026, 1, 13, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert is_available(rep("Europe/London"), plus_two) == (
        True,
        "in working hours (09:00 Europe/London, works 09:00-17:30)",
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_available(rep("Europe/London"), datetime(2026, 1, 13, 10, 0))


@pytest.mark.parametrize(
    ("zone", "now", "day_start"),
    [
        ("America/New_York", "2026-01-15T03:00", "2026-01-14T05:00"),
        ("Europe/Berlin", "2026-01-15T03:00", "2026-01-14T23:00"),
        ("Europe/London", "2026-07-15T03:00", "2026-07-14T23:00"),
    ],
)
def test_a_reps_day_starts_at_local_midnight(zone: str, now: str, day_start: str) -> None:
    assert local_day_start(rep(zone), utc(now)) == utc(day_start)
