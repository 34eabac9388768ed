"""A rep in the routing config: time zone, working hours, days away, skills, caps.

The same models validate the YAML file and the admin API's rep bodies.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, EmailStr, Field, field_validator, model_validator

from services.router.config.fields import Lowered, Model, error, fail, lower
from services.router.domain.model import WEEKDAYS, DateRange, Rep, WorkingHours

REP_ID = r"^[a-z0-9][a-z0-9_.-]*$"
CLOCK = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Weekday = Annotated[DayName, BeforeValidator(lower)]
_MON_FRI: list[DayName] = ["mon", "tue", "wed", "thu", "fri"]


def _language(value: Any) -> Any:
    value = lower(value)
    if isinstance(value, str) and not re.fullmatch(r"[a-z]{2}", value):
        raise error(f"must be an ISO 639-1 language code like 'de', got {value!r}")
    return value


Language = Annotated[str, BeforeValidator(_language)]


class WorkingHoursModel(Model):
    days: list[Weekday] = Field(default_factory=lambda: _MON_FRI.copy(), min_length=1)
    start: str = Field(description="Local start time, HH:MM")
    end: str = Field(description="Local end time, HH:MM (24:00 = midnight)")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise error(f"must be a time as HH:MM, got {value!r}")
        return value

    @field_validator("days")
    @classmethod
    def _distinct_days(cls, days: list[str]) -> list[str]:
        twice = sorted({d for d in days if days.count(d) > 1})
        if twice:
            raise error(f"day listed twice: {', '.join(twice)}")
        return days

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHoursModel:
        if minutes(self.start) >= minutes(self.end):
            fail(("start",), f"start {self.start} must be before end {self.end}", self.start)
        return self


class AbsenceModel(Model):
    from_: date = Field(alias="from", description="First day away (local date)")
    to: date = Field(description="Last day away, inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceModel:
        if self.to < self.from_:
            fail(("to",), f"{self.to} is before from {self.from_}", str(self.to))
        return self


class RepModel(Model):
    id: str = Field(pattern=REP_ID, description="Rep id, e.g. ana")
    name: str = Field(min_length=1)
    email: EmailStr | None = None
    timezone: str = Field(description="IANA time zone, e.g. Europe/London")
    working_hours: WorkingHoursModel | None = Field(None, description="Absent: always available")
    holidays: list[date] = Field(default_factory=list)
    out_of_office: list[AbsenceModel] = Field(default_factory=list)
    online: bool = True
    languages: list[Language] = Field(default_factory=list, description="ISO 639-1 codes")
    skills: list[Lowered] = Field(default_factory=list)
    weight: int = Field(1, ge=1, description="Share in weighted round robin")
    max_open: int | None = Field(None, ge=1, description="Cap on concurrent open leads")
    max_per_day: int | None = Field(None, ge=1, description="Cap on leads assigned per day")
    max_per_week: int | None = Field(
        None, ge=1, description="Cap on leads assigned per week (Monday to Sunday, local)"
    )
    max_per_month: int | None = Field(
        None, ge=1, description="Cap on leads assigned per calendar month (local)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise error(
                f"unknown time zone {value!r} (use an IANA name like Europe/London)"
            ) from None
        return value

    @model_validator(mode="after")
    def _caps_nest(self) -> RepModel:
        caps = [("max_per_day", self.max_per_day), ("max_per_week", self.max_per_week)]
        caps.append(("max_per_month", self.max_per_month))
        given = [(key, cap) for key, cap in caps if cap is not None]
        for (short, smaller), (long, larger) in zip(given, given[1:], strict=False):
            if larger < smaller:
                message = f"{long} {larger} is below {short} {smaller}"
                fail((long,), message, larger)
        return self


def minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def rep_domain(rep: RepModel) -> Rep:
    hours = rep.working_hours
    return Rep(
        id=rep.id,
        name=rep.name,
        email=rep.email,
        timezone=ZoneInfo(rep.timezone),
        working_hours=None
        if hours is None
        else WorkingHours(
            frozenset(WEEKDAYS.index(d) for d in hours.days),
            minutes(hours.start),
            minutes(hours.end),
        ),
        holidays=frozenset(rep.holidays),
        out_of_office=tuple(DateRange(a.from_, a.to) for a in rep.out_of_office),
        online=rep.online,
        languages=frozenset(rep.languages),
        skills=frozenset(rep.skills),
        weight=rep.weight,
        max_open=rep.max_open,
        max_per_day=rep.max_per_day,
        max_per_week=rep.max_per_week,
        max_per_month=rep.max_per_month,
    )
