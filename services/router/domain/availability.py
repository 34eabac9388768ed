"""Whether a rep can take a lead now: online, not on holiday or away, within working hours."""

from __future__ import annotations

from datetime import UTC, datetime, time

from services.router.domain.model import Rep


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
    today = local.date()
    if today in rep.holidays:
        return False, f"on holiday ({today.isoformat()} {tz})"
    for away in rep.out_of_office:
        if away.covers(today):
            return False, f"out of office ({away.start.isoformat()} to {away.end.isoformat()})"
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
