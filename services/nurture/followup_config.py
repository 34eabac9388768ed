"""The ``nurture.contact`` and ``nurture.followups`` config: contact rules and rep follow-ups.

Example::

    nurture:
      contact:                       # every touch to a lead: follow-ups and sequences
        window: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}
        closed_dates: [2026-12-25]   # the lead's local dates with no touches
        caps: {per_day: 2, per_week: 4}
        time_zones:                  # the lead's zone: see services/nurture/time_zones.py
          default: Europe/London
          countries: {US: America/New_York, DE: Europe/Berlin}
      followups:                     # per bucket, for the owning rep
        hot:
          grace: 2h                  # done later than due + grace: late (default 4h)
          touches:
            - {mode: call}                  # when assigned
            - {mode: call, after: 1d}       # a day after the first call
            - {mode: meeting, after: 2d}
        cold: {cycle_weeks: 6, every_weeks: 2, mode: email}   # N = 6 / 2 + 1 = 4 e-mails

Without ``contact`` every moment is allowed and nothing is capped (today's behaviour);
without ``followups`` no bucket has a plan. Durations: see ``shared.config.parse_duration``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from services.nurture.contact_rules import ALWAYS_OPEN, ContactRules, ContactWindow, PressureCaps
from services.nurture.followup import (
    MAX_TOUCHES,
    FollowupPlan,
    PlanTouch,
    cycle_touch_count,
    plan_from_cycle,
)
from services.nurture.time_zones import TimeZoneRules
from services.nurture.touch_modes import TouchMode
from shared.config import parse_duration

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[DayName, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$")


def _duration(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit; write a duration such as '30s', '2h' or '1d'")
    if isinstance(value, str):
        parse_duration(value)
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/London)") from None
    return value


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _clock(value: str) -> str:
    if not CLOCK.match(value):
        raise ValueError(f"must be a time as HH:MM, got {value!r}")
    return value


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


Duration = Annotated[str, BeforeValidator(_duration)]
Zone = Annotated[str, AfterValidator(_zone)]
Clock = Annotated[str, AfterValidator(_clock)]
Day = Annotated[DayName, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowConfig(_Model):
    """When touches may happen, on the lead's wall clock."""

    days: tuple[Day, ...] = Field(WEEKDAYS[:5], min_length=1, description="Allowed weekdays")
    start: Clock = Field(description="Local time the window opens, HH:MM")
    end: Clock = Field(description="Local time it closes, HH:MM (24:00 = midnight)")

    @field_validator("days")
    @classmethod
    def _distinct_days(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        twice = sorted({d for d in days if days.count(d) > 1})
        if twice:
            raise ValueError(f"day listed twice: {', '.join(twice)}")
        return days

    @model_validator(mode="after")
    def _start_before_end(self) -> WindowConfig:
        if _minutes(self.start) >= _minutes(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class CapsConfig(_Model):
    """Contact-pressure caps per lead across every channel and sequence."""

    per_day: int | None = Field(None, ge=1, description="Touches per local calendar day")
    per_week: int | None = Field(None, ge=1, description="Touches per local ISO week")


class TimeZonesConfig(_Model):
    """Zones for leads whose country and phone do not settle it."""

    default: Zone = Field("UTC", description="Zone when nothing else tells")
    countries: dict[Annotated[str, AfterValidator(_country)], Zone] = Field(
        default_factory=dict, description="Zone per multi-zone country (ISO alpha-2)"
    )


class ContactConfig(_Model):
    """Quiet time, caps and lead zones shared by follow-ups and nurture sequences."""

    window: WindowConfig | None = Field(None, description="Absent: any time of any day")
    closed_dates: tuple[date, ...] = Field((), description="Local dates with no touches")
    caps: CapsConfig = Field(default_factory=CapsConfig)
    time_zones: TimeZonesConfig = Field(default_factory=TimeZonesConfig)

    def to_domain(self) -> ContactRules:
        base = ALWAYS_OPEN
        if self.window is not None:
            base = ContactWindow(
                days=frozenset(WEEKDAYS.index(d) for d in self.window.days),
                start_minute=_minutes(self.window.start),
                end_minute=_minutes(self.window.end),
            )
        window = ContactWindow(
            base.days, base.start_minute, base.end_minute, frozenset(self.closed_dates)
        )
        return ContactRules(window, PressureCaps(self.caps.per_day, self.caps.per_week))

    def time_zone_rules(self) -> TimeZoneRules:
        return TimeZoneRules(self.time_zones.default, dict(self.time_zones.countries))


class TouchConfig(_Model):
    """One touch of a listed plan."""

    mode: TouchMode = Field(description="call, email, sms, meeting or task")
    after: Duration = Field("0s", description="Wait after the previous touch (first: assignment)")


class PlanConfig(_Model):
    """A bucket's follow-up plan: a list of touches, or a sales cycle and a spacing."""

    touches: tuple[TouchConfig, ...] | None = Field(
        None, min_length=1, max_length=MAX_TOUCHES, description="The touches, in order"
    )
    cycle_weeks: float | None = Field(None, ge=0, allow_inf_nan=False, description="C, weeks")
    every_weeks: float | None = Field(None, gt=0, allow_inf_nan=False, description="A, weeks")
    mode: TouchMode | None = Field(None, description="Mode of every touch (cycle form; email)")
    first_after: Duration | None = Field(None, description="Delay of touch 1 (cycle form)")
    grace: Duration = Field("4h", description="Done later than due + grace counts as late")
    last_touch_window: Duration | None = Field(
        None, description="How long the last touch stays open (default: A, or 7d for a list)"
    )

    @model_validator(mode="after")
    def _one_form(self) -> PlanConfig:
        cycle = {"cycle_weeks", "every_weeks", "mode", "first_after"} & self.model_fields_set
        if self.touches is not None and cycle:
            raise ValueError(f"give touches or cycle_weeks/every_weeks, not both ({min(cycle)})")
        if self.touches is None:
            if self.cycle_weeks is None or self.every_weeks is None:
                raise ValueError("give touches, or both cycle_weeks (C) and every_weeks (A)")
            count = cycle_touch_count(self.cycle_weeks, self.every_weeks)
            if count > MAX_TOUCHES:
                raise ValueError(
                    f"cycle_weeks / every_weeks gives {count} touches; at most {MAX_TOUCHES}"
                )
        if self.last_touch_window is not None and parse_duration(self.last_touch_window) <= (
            timedelta(0)
        ):
            raise ValueError("last_touch_window must be longer than zero")
        return self

    def to_domain(self, bucket: str) -> FollowupPlan:
        grace = parse_duration(self.grace)
        window = parse_duration(self.last_touch_window) if self.last_touch_window else None
        if self.touches is None:
            if self.cycle_weeks is None or self.every_weeks is None:  # refused on validation
                raise ValueError("give touches, or both cycle_weeks and every_weeks")
            return plan_from_cycle(
                bucket,
                self.cycle_weeks,
                self.every_weeks,
                self.mode or TouchMode.EMAIL,
                first_after=parse_duration(self.first_after or "0s"),
                grace=grace,
                last_touch_window=window,
            )
        touches = tuple(PlanTouch(t.mode, parse_duration(t.after)) for t in self.touches)
        if window is None:
            return FollowupPlan(bucket, touches, grace=grace)
        return FollowupPlan(bucket, touches, grace=grace, last_touch_window=window)


def _distinct_buckets(plans: dict[str, PlanConfig]) -> dict[str, PlanConfig]:
    seen: set[str] = set()
    for bucket in plans:
        key = bucket.strip().casefold()
        if not key:
            raise ValueError("bucket names must not be empty")
        if key in seen:
            raise ValueError(f"bucket {bucket!r} has two plans")
        seen.add(key)
    return plans


Followups = Annotated[dict[str, PlanConfig], AfterValidator(_distinct_buckets)]


def followup_plans(followups: dict[str, PlanConfig]) -> dict[str, FollowupPlan]:
    """The configured plans as the domain uses them, by bucket."""
    return {bucket.strip(): plan.to_domain(bucket.strip()) for bucket, plan in followups.items()}
