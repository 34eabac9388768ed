"""Contact rules: quiet hours and days on the lead's clock (across DST), pressure caps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nurture.contact_rules import (
    ALWAYS_OPEN,
    ContactRules,
    ContactWindow,
    ContactWindowNeverOpens,
    PressureCaps,
    is_open,
    local_moment,
    next_contact_time,
    next_open,
    under_caps,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
HAVANA = ZoneInfo("America/Havana")  # its clocks jump at midnight: 00:00 does not exist
OFFICE = ContactWindow()  # Mon-Fri 09:00-18:00
EVERY_DAY_9_TO_6 = ContactWindow(days=frozenset(range(7)))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # inside the window: unchanged
        (utc(2026, 3, 4, 10, 0), LONDON, utc(2026, 3, 4, 10, 0)),
        # before opening: the same day at 09:00 local
        (utc(2026, 3, 4, 6, 0), LONDON, utc(2026, 3, 4, 9, 0)),
        # at closing (end is exclusive): next morning
        (utc(2026, 3, 4, 18, 0), LONDON, utc(2026, 3, 5, 9, 0)),
        # Friday evening: Monday 09:00
        (utc(2026, 3, 6, 19, 0), LONDON, utc(2026, 3, 9, 9, 0)),
        # London springs forward on Sun 29 Mar 2026: Monday 09:00 BST is 08:00 UTC
        (utc(2026, 3, 27, 19, 0), LONDON, utc(2026, 3, 30, 8, 0)),
        # London falls back on Sun 25 Oct 2026: Friday 18:30 BST -> Monday 09:00 GMT
        (utc(2026, 10, 23, 17, 30), LONDON, utc(2026, 10, 26, 9, 0)),
        # New York springs forward on Sun 8 Mar 2026: Monday 09:00 EDT is 13:00 UTC
        (utc(2026, 3, 7, 1, 0), NEW_YORK, utc(2026, 3, 9, 13, 0)),
        # New York falls back on Sun 1 Nov 2026: Monday 09:00 EST is 14:00 UTC
        (utc(2026, 10, 30, 23, 0), NEW_YORK, utc(2026, 11, 2, 14, 0)),
        # 17:30 EST on the Friday before spring-forward is inside; 18:00 EST is not
        (utc(2026, 3, 6, 22, 30), NEW_YORK, utc(2026, 3, 6, 22, 30)),
        (utc(2026, 3, 6, 23, 0), NEW_YORK, utc(2026, 3, 9, 13, 0)),
    ],
)
def test_a_touch_in_quiet_time_moves_to_the_next_working_moment_on_the_leads_clock(
    moment: datetime, zone: ZoneInfo, expected: datetime
) -> None:
    assert next_open(moment, OFFICE, zone) == expected


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # Saturday evening before the spring-forward Sunday: Sunday 09:00 EDT
        (utc(2026, 3, 8, 1, 0), NEW_YORK, utc(2026, 3, 8, 13, 0)),
        # Saturday evening before the fall-back Sunday: Sunday 09:00 EST
        (utc(2026, 11, 1, 0, 0), NEW_YORK, utc(2026, 11, 1, 14, 0)),
        (utc(2026, 3, 28, 20, 0), LONDON, utc(2026, 3, 29, 8, 0)),
        (utc(2026, 10, 24, 20, 0), LONDON, utc(2026, 10, 25, 9, 0)),
    ],
)
def test_the_window_opens_at_local_nine_on_the_day_the_clocks_change(
    moment: datetime, zone: ZoneInfo, expected: datetime
) -> None:
    assert next_open(moment, EVERY_DAY_9_TO_6, zone) == expected


def test_a_window_opening_inside_a_dst_gap_opens_when_the_gap_ends() -> None:
    # New York, 8 Mar 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 never happens
    window = ContactWindow(days=frozenset(range(7)), start_minute=2 * 60 + 30, end_minute=18 * 60)
    assert next_open(utc(2026, 3, 8, 6, 0), window, NEW_YORK) == utc(2026, 3, 8, 7, 0)
    # Havana, 8 Mar 2026: midnight does not exist, the day starts at 01:00 CDT (05:00 UTC)
    closed_saturday = ContactWindow(
        days=frozenset(range(7)),
        start_minute=0,
        end_minute=24 * 60,
        closed_dates=frozenset({date(2026, 3, 7)}),
    )
    assert next_open(utc(2026, 3, 8, 4, 30), closed_saturday, HAVANA) == utc(2026, 3, 8, 5, 0)


def test_a_window_opening_at_an_ambiguous_time_opens_at_its_first_occurrence() -> None:
    # New York, 1 Nov 2026: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST)
    window = ContactWindow(days=frozenset(range(7)), start_minute=90, end_minute=18 * 60)
    assert next_open(utc(2026, 11, 1, 4, 0), window, NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert local_moment(date(2026, 11, 1), 90, NEW_YORK) == utc(2026, 11, 1, 5, 30)


def test_closed_dates_are_skipped_like_weekends() -> None:
    window = ContactWindow(closed_dates=frozenset({date(2026, 12, 25)}))
    # Thu 24 Dec after hours -> Fri 25 closed -> Mon 28 Dec
    assert next_open(utc(2026, 12, 24, 19, 0), window, LONDON) == utc(2026, 12, 28, 9, 0)


def test_a_window_that_never_opens_is_an_error_not_a_hang() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(800))
    window = ContactWindow(days=frozenset({0}), closed_dates=every_day)
    with pytest.raises(ContactWindowNeverOpens):
        next_open(utc(2026, 1, 1), window, LONDON)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": frozenset()},
        {"days": frozenset({7})},
        {"start_minute": 18 * 60, "end_minute": 9 * 60},
        {"start_minute": 0, "end_minute": 1441},
    ],
)
def test_a_window_must_have_days_and_start_before_end(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ContactWindow(**kwargs)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_open(datetime(2026, 3, 4, 10, 0), OFFICE, LONDON)


# --- pressure caps ---------------------------------------------------------------------------

TWO_A_DAY_FOUR_A_WEEK = PressureCaps(per_day=2, per_week=4)


@pytest.mark.parametrize(
    ("contacts", "candidate", "expected"),
    [
        # room left today
        ([utc(2026, 3, 4, 9)], utc(2026, 3, 4, 15), utc(2026, 3, 4, 15)),
        # two today already: tomorrow at local midnight
        ([utc(2026, 3, 4, 9), utc(2026, 3, 4, 10)], utc(2026, 3, 4, 15), utc(2026, 3, 5, 0)),
        # four this week (Mon 2 - Sun 8 Mar): next Monday
        (
            [utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), utc(2026, 3, 3, 9), utc(2026, 3, 3, 10)],
            utc(2026, 3, 4, 15),
            utc(2026, 3, 9, 0),
        ),
        # planned touches later in the week count too
        (
            [utc(2026, 3, 6, 9), utc(2026, 3, 6, 10), utc(2026, 3, 7, 9), utc(2026, 3, 7, 10)],
            utc(2026, 3, 2, 15),
            utc(2026, 3, 9, 0),
        ),
        # the previous week's touches do not count
        (
            [utc(2026, 3, 1, 9), utc(2026, 3, 1, 10), utc(2026, 2, 28, 9), utc(2026, 2, 28, 10)],
            utc(2026, 3, 2, 15),
            utc(2026, 3, 2, 15),
        ),
    ],
)
def test_a_lead_gets_at_most_two_touches_a_day_and_four_a_week(
    contacts: list[datetime], candidate: datetime, expected: datetime
) -> None:
    assert under_caps(contacts, candidate, TWO_A_DAY_FOUR_A_WEEK, ZoneInfo("UTC")) == expected


def test_cap_days_are_the_leads_calendar_days() -> None:
    # 23:30 and 23:45 New York time on 4 Mar are 04:30/04:45 UTC on 5 Mar: the lead's 4 Mar
    contacts = [utc(2026, 3, 5, 4, 30), utc(2026, 3, 5, 4, 45)]
    caps = PressureCaps(per_day=2)
    # 10:00 New York on 5 Mar is a new day for the lead, though the same UTC date
    assert under_caps(contacts, utc(2026, 3, 5, 15), caps, NEW_YORK) == utc(2026, 3, 5, 15)
    # 22:00 New York on 4 Mar is full: the next local midnight, 05:00 UTC
    assert under_caps(contacts, utc(2026, 3, 5, 3), caps, NEW_YORK) == utc(2026, 3, 5, 5)


def test_a_full_day_moves_the_touch_to_the_next_opening_not_to_midnight() -> None:
    rules = ContactRules(window=OFFICE, caps=PressureCaps(per_day=1))
    assert next_contact_time(utc(2026, 3, 4, 15), [utc(2026, 3, 4, 9, 30)], rules, LONDON) == utc(
        2026, 3, 5, 9
    )


def test_a_full_week_before_the_clocks_change_moves_to_monday_nine_local() -> None:
    rules = ContactRules(window=OFFICE, caps=PressureCaps(per_week=1))
    # a touch on Mon 23 Mar fills London's week; Mon 30 Mar 09:00 BST is 08:00 UTC
    assert next_contact_time(utc(2026, 3, 25, 10), [utc(2026, 3, 23, 10)], rules, LONDON) == utc(
        2026, 3, 30, 8
    )


def test_no_caps_and_an_open_window_leave_the_time_alone() -> None:
    moment = utc(2026, 3, 8, 3, 17)
    assert next_contact_time(moment, [moment] * 10, ContactRules(), NEW_YORK) == moment


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        PressureCaps(per_day=0)


# --- properties ------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/London",
        "America/New_York",
        "America/Havana",
        "America/Santiago",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
    ]
).map(ZoneInfo)
MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@st.composite
def windows(draw: st.DrawFn) -> ContactWindow:
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start = draw(st.integers(0, 24 * 4 - 1)) * 15
    end = draw(st.integers(start // 15 + 1, 24 * 4)) * 15
    return ContactWindow(days=days, start_minute=start, end_minute=end)


@settings(max_examples=300, deadline=None)
@given(moment=MOMENTS, window=windows(), zone=ZONES)
def test_a_moved_touch_is_never_in_quiet_time_and_never_later_than_needed(
    moment: datetime, window: ContactWindow, zone: ZoneInfo
) -> None:
    moved = next_open(moment, window, zone)
    assert moved >= moment
    assert is_open(moved, window, zone)
    if moved > moment:
        assert not is_open(moved - timedelta(seconds=1), window, zone)


def _counts(moments: list[datetime], zone: ZoneInfo) -> tuple[dict[date, int], dict[object, int]]:
    days: dict[date, int] = {}
    weeks: dict[object, int] = {}
    for m in moments:
        day = m.astimezone(zone).date()
        days[day] = days.get(day, 0) + 1
        weeks[day.isocalendar()[:2]] = weeks.get(day.isocalendar()[:2], 0) + 1
    return days, weeks


@settings(max_examples=300, deadline=None)
@given(
    contacts=st.lists(MOMENTS, max_size=12),
    candidate=MOMENTS,
    per_day=st.none() | st.integers(1, 3),
    per_week=st.none() | st.integers(1, 6),
    zone=ZONES,
)
def test_the_caps_are_never_exceeded_and_no_free_day_is_passed_over(
    contacts: list[datetime],
    candidate: datetime,
    per_day: int | None,
    per_week: int | None,
    zone: ZoneInfo,
) -> None:
    caps = PressureCaps(per_day, per_week)
    allowed = under_caps(contacts, candidate, caps, zone)
    assert allowed >= candidate
    days, weeks = _counts(contacts, zone)
    day = allowed.astimezone(zone).date()
    assert per_day is None or days.get(day, 0) < per_day
    assert per_week is None or weeks.get(day.isocalendar()[:2], 0) < per_week
    if allowed > candidate:
        assert allowed == local_moment(day, 0, zone)  # the start of the lead's day
        skipped = candidate.astimezone(zone).date()
        while skipped < day:
            full_day = per_day is not None and days.get(skipped, 0) >= per_day
            full_week = per_week is not None and weeks.get(skipped.isocalendar()[:2], 0) >= per_week
            assert full_day or full_week
            skipped += timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(
    contacts=st.lists(MOMENTS, max_size=8),
    candidate=MOMENTS,
    window=windows(),
    per_day=st.none() | st.integers(1, 3),
    per_week=st.none() | st.integers(1, 6),
    zone=ZONES,
)
def test_a_contact_time_is_open_and_within_the_caps(
    contacts: list[datetime],
    candidate: datetime,
    window: ContactWindow,
    per_day: int | None,
    per_week: int | None,
    zone: ZoneInfo,
) -> None:
    rules = ContactRules(window, PressureCaps(per_day, per_week))
    moment = next_contact_time(candidate, contacts, rules, zone)
    assert moment >= candidate
    assert is_open(moment, window, zone)
    days, weeks = _counts(contacts, zone)
    day = moment.astimezone(zone).date()
    assert per_day is None or days.get(day, 0) < per_day
    assert per_week is None or weeks.get(day.isocalendar()[:2], 0) < per_week


def test_always_open_is_open_at_every_moment() -> None:
    assert is_open(utc(2026, 3, 8, 7, 0), ALWAYS_OPEN, NEW_YORK)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2026, 3, 4, 8, 59), False),
        (utc(2026, 3, 4, 9, 0), True),
        (utc(2026, 3, 4, 17, 59), True),
        (utc(2026, 3, 4, 18, 0), False),  # the end is exclusive
        (utc(2026, 3, 7, 12, 0), False),  # Saturday
        (utc(2026, 3, 30, 8, 0), True),  # Monday 09:00 BST
        (utc(2026, 3, 30, 17, 0), False),  # Monday 18:00 BST
    ],
)
def test_the_window_opens_at_its_start_and_closes_at_its_end_in_london(
    moment: datetime, expected: bool
) -> None:
    assert is_open(moment, OFFICE, LONDON) is expected
