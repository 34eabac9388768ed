"""When a lead may be contacted at all: quiet hours and days, and the contact-pressure caps.

These rules are shared by the rep follow-ups (:mod:`services.nurture.followup`) and the
nurture sequences (:mod:`services.nurture.domain`): every touch the service plans for a lead,
whatever its channel or sequence, goes through :func:`next_contact_time`.

How they are meant to be wired (a handler does the I/O, these functions decide):

- planning a touch (a follow-up step on ``LeadAssigned`` or after the previous touch, a
  nurture step on ``LeadRoutedToNurture``): resolve the lead's zone once
  (:func:`services.nurture.time_zones.lead_time_zone`), load every contact already made or
  planned for the lead (activities of every channel, nurture touches sent or pending, other
  follow-ups), then ``due_at = next_contact_time(nominal, contacts, rules, zone)``; store
  ``due_at`` as the durable timer.
- a timer that fires is not re-checked: its time was allowed when it was planned, and caps
  count planned touches too, so two plans cannot both take the last slot of a day as long as
  each plans against the other's rows (same lead lock, as the nurture handlers already do).

Everything is evaluated on the **lead's** wall clock: the window ``09:00-18:00 Mon-Fri``
means nine to six where the lead is, and "a day"/"a week" of the caps are the lead's
calendar day and ISO week (Monday to Sunday). DST changes are handled by working in local
wall time and converting back: a window opening at a local time that does not exist that day
(a spring-forward gap) opens at the end of the gap; an ambiguous time (fall-back) opens at
its first occurrence.

Pure functions over frozen dataclasses: no I/O, no clock; times in and out are aware
datetimes (any zone; results are in UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MINUTES_PER_DAY = 24 * 60
# A window whose allowed days are all closed for this long never opens: a config mistake.
MAX_SEARCH_DAYS = 2 * 366
MAX_ROUNDS = 1000


class ContactWindowNeverOpens(ValueError):
    """No allowed moment exists within the search horizon (every day closed or capped)."""


@dataclass(frozen=True)
class ContactWindow:
    """When touches may happen, on the lead's wall clock: weekdays (0 = Monday) and
    [start, end) in minutes after midnight (end may be 1440, midnight); plus closed dates."""

    days: frozenset[int] = frozenset(range(5))
    start_minute: int = 9 * 60
    end_minute: int = 18 * 60
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("days must be a non-empty set of weekdays 0..6")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError("need 0 <= start_minute < end_minute <= 1440")


ALWAYS_OPEN = ContactWindow(days=frozenset(range(7)), start_minute=0, end_minute=MINUTES_PER_DAY)


@dataclass(frozen=True)
class PressureCaps:
    """At most this many touches per lead per local calendar day / ISO week (None: no cap)."""

    per_day: int | None = None
    per_week: int | None = None

    def __post_init__(self) -> None:
        for cap in (self.per_day, self.per_week):
            if cap is not None and cap < 1:
                raise ValueError("a pressure cap must be at least 1 (leave it out for no cap)")


@dataclass(frozen=True)
class ContactRules:
    """Quiet time and pressure caps for every touch to a lead, from ``nurture.contact``."""

    window: ContactWindow = ALWAYS_OPEN
    caps: PressureCaps = PressureCaps()


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    """The lead's naive wall-clock reading at ``moment``."""
    return moment.astimezone(zone).replace(tzinfo=None)


def local_moment(day: date, minute: int, zone: tzinfo) -> datetime:
    """The first instant (UTC) at which the wall clock in ``zone`` reads ``day`` + ``minute``
    or later: the first occurrence of an ambiguous time, the end of a DST gap for a time
    that does not exist."""
    wanted = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = wanted.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wanted.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = min(first, second), max(first, second)
    if _wall(low, zone) >= wanted:
        return low
    # A gap: ``low`` reads before ``wanted`` and ``high`` after; the wall clock jumps between
    # them. Bisect to the second for the jump (transitions fall on whole seconds).
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if _wall(middle, zone) >= wanted:
            high = middle
        else:
            low = middle
    return high


def is_open(moment: datetime, window: ContactWindow, zone: tzinfo) -> bool:
    """A touch may happen at ``moment`` when the lead's wall clock is inside the window."""
    _aware(moment, "moment")
    wall = _wall(moment, zone)
    if wall.weekday() not in window.days or wall.date() in window.closed_dates:
        return False
    minute = wall.hour * 60 + wall.minute + (wall.second + wall.microsecond / 1e6) / 60
    return window.start_minute <= minute < window.end_minute


def next_open(moment: datetime, window: ContactWindow, zone: tzinfo) -> datetime:
    """A touch falling in quiet time moves to the next moment the window is open (in UTC)."""
    _aware(moment, "moment")
    moment = moment.astimezone(UTC)
    today = _wall(moment, zone).date()
    for offset in range(MAX_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if day.weekday() not in window.days or day in window.closed_dates:
            continue
        opens = local_moment(day, window.start_minute, zone)
        closes = local_moment(day, window.end_minute, zone)
        if moment < closes and opens < closes:
            return max(moment, opens)
    raise ContactWindowNeverOpens(f"the contact window does not open after {moment.isoformat()}")


def _week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def under_caps(
    contacts: Iterable[datetime], candidate: datetime, caps: PressureCaps, zone: tzinfo
) -> datetime:
    """The earliest moment at or after ``candidate`` at which one more touch keeps the lead
    within its caps: a full day moves it to the next local midnight, a full week to Monday."""
    _aware(candidate, "candidate")
    days: dict[date, int] = {}
    weeks: dict[tuple[int, int], int] = {}
    for contact in contacts:
        _aware(contact, "contact")
        day = _wall(contact, zone).date()
        days[day] = days.get(day, 0) + 1
        weeks[_week(day)] = weeks.get(_week(day), 0) + 1
    moment = candidate.astimezone(UTC)
    for _ in range(MAX_ROUNDS):
        day = _wall(moment, zone).date()
        if caps.per_day is not None and days.get(day, 0) >= caps.per_day:
            moment = local_moment(day + timedelta(days=1), 0, zone)
        elif caps.per_week is not None and weeks.get(_week(day), 0) >= caps.per_week:
            moment = local_moment(day + timedelta(days=7 - day.weekday()), 0, zone)
        else:
            return moment
    raise ContactWindowNeverOpens(f"the pressure caps leave no room after {candidate.isoformat()}")


def next_contact_time(
    candidate: datetime, contacts: Iterable[datetime], rules: ContactRules, zone: tzinfo
) -> datetime:
    """The earliest moment at or after ``candidate`` that is outside quiet time and within the
    pressure caps, given every other touch to the lead (made or planned), in UTC."""
    known = tuple(contacts)
    moment = candidate
    for _ in range(MAX_ROUNDS):
        opened = next_open(moment, rules.window, zone)
        capped = under_caps(known, opened, rules.caps, zone)
        if capped == opened:
            return capped
        moment = capped
    raise ContactWindowNeverOpens(f"no allowed contact time after {candidate.isoformat()}")
