"""Whether a rep can take a lead now: online, not on holiday or away, within working hours;
and the rep's working time ahead, which a business-hours SLA clock runs on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from services.router.domain.model import Rep

# A rep with no working time for this long (all days off, or away) gets the wall clock.
HORIZON_DAYS = 3 * 366


def require_aware(now: datetime) -> None:
    """Routing decisions need a real instant; a naive datetime is a programming error."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime (UTC)")


def is_available(rep: Rep, now: datetime) -> tuple[bool, str]:
    """A rep is available when online, not on holiday or out of office, and in working hours.

    Holidays, absences and working hours are read in the rep's own time zone.
    """
    require_aware(now)
    if not rep.online:
        return False, "offline"
    local = now.astimezone(rep.timezone)
    tz = rep.timezone.key
    away = _away(rep, local.date())
    if away is not None:
        return False, away
    hours = rep.working_hours
    if hours is None:
        return True, "available (no working hours set)"
    clock = f"{local:%H:%M} {tz}"
    if local.weekday() not in hours.days:
        return False, f"day off ({local:%a} {clock}, works {hours.days_text})"
    minute = local.hour * 60 + local.minute
    if not hours.start_minute <= minute < hours.end_minute:
        return False, f"off hours ({clock}, works {hours.window})"
    return True, f"in working hours ({clock}, works {hours.window})"


def local_day_start(rep: Rep, now: datetime) -> datetime:
    """The rep's "today" starts at local midnight; ``max_per_day`` counts assignments since."""
    require_aware(now)
    local = now.astimezone(rep.timezone)
    return datetime.combine(local.date(), time(0), tzinfo=rep.timezone).astimezone(UTC)


def working_periods(rep: Rep, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The rep's working time from ``start`` on, as (from, to) UTC instants in order.

    The same calendar as :func:`is_available`: each working day's window in the rep's zone
    (the whole day for a rep without working hours), minus holidays and out-of-office days.
    Being offline is a status, not a schedule, so it does not stop the clock.
    """
    require_aware(start)
    start = start.astimezone(UTC)
    day = start.astimezone(rep.timezone).date()
    for _ in range(HORIZON_DAYS):
        window = _window(rep, day)
        if window is not None and window[1] > start:
            yield max(window[0], start), window[1]
        day += timedelta(days=1)


def add_working_time(rep: Rep, start: datetime, duration: timedelta) -> datetime:
    """The instant the rep has worked ``duration`` since ``start``: evenings, days off,
    holidays and absences do not count. A rep with no working time ahead gets wall time."""
    remaining = duration
    for begin, end in working_periods(rep, start):
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    return start + duration


def _away(rep: Rep, day: date) -> str | None:
    """Why the rep is away the whole local ``day`` (holiday, out of office), or None."""
    if day in rep.holidays:
        return f"on holiday ({day.isoformat()} {rep.timezone.key})"
    for away in rep.out_of_office:
        if away.covers(day):
            return f"out of office ({away.start.isoformat()} to {away.end.isoformat()})"
    return None


def _window(rep: Rep, day: date) -> tuple[datetime, datetime] | None:
    if _away(rep, day) is not None:
        return None
    hours = rep.working_hours
    if hours is None:
        return _instant(rep, day, 0), _instant(rep, day, 24 * 60)
    if day.weekday() not in hours.days:
        return None
    return _instant(rep, day, hours.start_minute), _instant(rep, day, hours.end_minute)


def _instant(rep: Rep, day: date, minute: int) -> datetime:
    """The UTC instant of a wall-clock minute of the rep's local day (24:00 is next midnight)."""
    extra, minute = divmod(minute, 24 * 60)
    wall = time(minute // 60, minute % 60)
    return datetime.combine(day + timedelta(days=extra), wall, tzinfo=rep.timezone).astimezone(UTC)
