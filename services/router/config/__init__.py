"""The ``routing`` section of the config file: reps, queues, rules, default queue, nurture.

The pydantic models only validate; :func:`to_domain` turns them into the frozen values in
:mod:`services.router.domain`, which never imports pydantic. Every problem is reported at
its key, e.g. ``routing.queues[1].members[0]: unknown rep 'zed'``. A queue's first-contact
SLA block is in :mod:`services.router.config.sla`; the shared field types and error
helpers in :mod:`services.router.config.fields`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, EmailStr, Field, field_validator, model_validator
from pydantic_core import InitErrorDetails, ValidationError

from services.router.config.fields import Lowered, Model, Report, error, fail, lower
from services.router.config.sla import (
    SlaModel,
    check_sla,
    duration_text,
    parse_duration,
    sla_policy,
    sla_shorthand,
)
from services.router.domain import (
    DEFAULT_RULE,
    WEEKDAYS,
    DateRange,
    Queue,
    Rep,
    Routing,
    Rule,
    Strategy,
    WorkingHours,
)
from shared.conditions import Condition, ConditionError, Leaf, Not, parse_condition
from shared.config import ServiceSettings, load_section
from shared.contracts.capture import LeadProfile

SECTION = "routing"
SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
REP_ID = r"^[a-z0-9][a-z0-9_.-]*$"
CLOCK = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")
RULE_FIELDS = frozenset(LeadProfile.model_fields) | {"score", "bucket"}
DOTTED_ROOTS = frozenset({"utm", "attributes"})

__all__ = [
    "RoutingConfig",
    "Settings",
    "duration_text",
    "load_router_config",
    "load_routing",
    "parse_duration",
    "to_domain",
]

DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Weekday = Annotated[DayName, BeforeValidator(lower)]
_MON_FRI: list[DayName] = ["mon", "tue", "wed", "thu", "fri"]


def _language(value: Any) -> Any:
    value = lower(value)
    if isinstance(value, str) and not re.fullmatch(r"[a-z]{2}", value):
        raise error(f"must be an ISO 639-1 language code like 'de', got {value!r}")
    return value


Language = Annotated[str, BeforeValidator(_language)]


class Settings(ServiceSettings):
    """Where the router runs; queues, reps and rules come from the YAML config file."""

    service_name: str = "router"
    port: int = 8002
    waiting_retry_s: float = Field(
        default=2.0,
        gt=0,
        description="How often waiting leads, and breached leads nobody could take yet, are"
        " offered again",
    )
    sla_tick_s: float = Field(
        default=1.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds between scans for due SLA warnings and breaches",
    )


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


class QueueModel(Model):
    name: str = Field(pattern=SLUG, description="Lowercase slug, e.g. fashion-uk")
    department: Lowered
    region: Lowered
    members: list[str] = Field(min_length=1, description="Rep ids, in rotation order")
    strategy: Strategy = "round_robin"
    required_skills: list[Lowered] = Field(default_factory=list)
    match_language: bool = False
    fallback: str | None = Field(None, description="Queue tried when nobody here can take it")
    sla: Annotated[SlaModel | None, BeforeValidator(sla_shorthand)] = Field(
        None, description="First-contact SLA; a duration alone sets first_contact"
    )
    sla_minutes: int | None = Field(
        None, ge=1, description="Old spelling of sla: {first_contact: <n>m}"
    )

    @model_validator(mode="after")
    def _one_sla(self) -> QueueModel:
        if self.sla is not None and self.sla_minutes is not None:
            message = "give sla or sla_minutes (its old spelling), not both"
            fail(("sla_minutes",), message, self.sla_minutes)
        return self


class RuleModel(Model):
    name: str = Field(min_length=1)
    when: dict[str, Any] | None = Field(None, description="Condition; absent matches every lead")
    queue: str

    @field_validator("when")
    @classmethod
    def _condition(cls, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            condition = parse_condition(raw, "when")
        except ConditionError as exc:
            message = re.sub(r"^when[.:]\s*", "", str(exc))
            raise error(message) from None
        unknown = sorted(f for f in _fields(condition) if not _known_field(f))
        if unknown:
            names = ", ".join(repr(f) for f in unknown)
            known = ", ".join(sorted(RULE_FIELDS - DOTTED_ROOTS))
            raise error(f"unknown field {names}; use one of {known}, utm.*, attributes.*")
        return raw


class RoutingConfig(Model):
    reps: list[RepModel] = Field(min_length=1)
    queues: list[QueueModel] = Field(min_length=1)
    rules: list[RuleModel] = Field(default_factory=list, description="Tried in order")
    default_queue: str = Field(description="Queue for leads no rule matches")
    nurture_buckets: list[Lowered] = Field(default_factory=lambda: ["nurture"])

    @model_validator(mode="after")
    def _references(self) -> RoutingConfig:
        problems: list[InitErrorDetails] = []

        def problem(loc: tuple[str | int, ...], message: str, value: Any) -> None:
            problems.append(InitErrorDetails(type=error(message), loc=loc, input=value))

        reps = _first_index([r.id for r in self.reps], "reps", "id", "rep id", problem)
        names = [q.name for q in self.queues]
        queues = _first_index(names, "queues", "name", "queue name", problem)
        _first_index([r.name for r in self.rules], "rules", "name", "rule name", problem)
        skills = {r.id: set(r.skills) for r in self.reps}
        nurture = set(self.nurture_buckets)
        fallbacks = {q.name: q.fallback for q in self.queues}
        in_a_cycle: set[str] = set()
        for qi, q in enumerate(self.queues):
            for mi, member in enumerate(q.members):
                if member not in reps:
                    problem(("queues", qi, "members", mi), f"unknown rep {member!r}", member)
                elif q.members.index(member) < mi:
                    problem(("queues", qi, "members", mi), f"rep {member!r} listed twice", member)
            for si, skill in enumerate(q.required_skills):
                if not any(skill in skills.get(m, ()) for m in q.members):
                    message = f"no member of {q.name} has skill {skill!r}"
                    problem(("queues", qi, "required_skills", si), message, skill)
            if q.fallback is not None and q.fallback not in queues:
                problem(("queues", qi, "fallback"), f"unknown queue {q.fallback!r}", q.fallback)
            cycle = _fallback_cycle(q.name, fallbacks)
            if cycle and q.name not in in_a_cycle:
                in_a_cycle.update(cycle)
                message = f"fallback cycle: {' -> '.join(cycle)}"
                problem(("queues", qi, "fallback"), message, q.fallback)
            if q.sla is not None:
                check_sla(q.name, q.sla, ("queues", qi, "sla"), reps, queues, nurture, problem)
        for ri, rule in enumerate(self.rules):
            if rule.name == DEFAULT_RULE:
                problem(("rules", ri, "name"), f"rule name {DEFAULT_RULE!r} is reserved", rule.name)
            if rule.queue not in queues:
                problem(("rules", ri, "queue"), f"unknown queue {rule.queue!r}", rule.queue)
        if self.default_queue not in queues:
            problem(("default_queue",), f"unknown queue {self.default_queue!r}", self.default_queue)
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def to_domain(config: RoutingConfig) -> Routing:
    """The validated section as frozen domain values, reps and queues in config order."""
    return Routing(
        reps={r.id: _rep(r) for r in config.reps},
        queues={q.name: _queue(q) for q in config.queues},
        rules=tuple(Rule(r.name, parse_condition(r.when), r.queue) for r in config.rules),
        default_queue=config.default_queue,
        nurture_buckets=frozenset(config.nurture_buckets),
    )


def load_router_config(path: Path) -> RoutingConfig:
    """Read and validate the ``routing`` section; raises ConfigError naming file and key."""
    return load_section(path, SECTION, RoutingConfig)


def load_routing(path: Path) -> Routing:
    return to_domain(load_router_config(path))


def minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def _rep(rep: RepModel) -> Rep:
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
    )


def _queue(queue: QueueModel) -> Queue:
    return Queue(
        name=queue.name,
        department=queue.department,
        region=queue.region,
        members=tuple(queue.members),
        strategy=queue.strategy,
        required_skills=frozenset(queue.required_skills),
        match_language=queue.match_language,
        fallback=queue.fallback,
        sla=sla_policy(queue.sla, queue.sla_minutes),
    )


def _fields(condition: Condition) -> set[str]:
    if isinstance(condition, Leaf):
        return {condition.field}
    if isinstance(condition, Not):
        return _fields(condition.item)
    return {f for item in condition.items for f in _fields(item)}


def _known_field(field: str) -> bool:
    root, dot, rest = field.partition(".")
    if dot:
        return root in DOTTED_ROOTS and bool(rest)
    return field in RULE_FIELDS


def _fallback_cycle(start: str, fallbacks: dict[str, str | None]) -> list[str] | None:
    """The chain from ``start`` when it comes back to ``start``; other loops are reported
    at the queue where they begin."""
    chain = [start]
    current = fallbacks.get(start)
    while current is not None and current in fallbacks:
        chain.append(current)
        if current == start:
            return chain
        if current in chain[:-1]:
            return None
        current = fallbacks[current]
    return None


def _first_index(
    names: list[str], section: str, key: str, what: str, problem: Report
) -> dict[str, int]:
    """Index of each name's first use; a later use is reported as a duplicate."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first:
            problem(
                (section, i, key),
                f"duplicate {what} {name!r} (also {section}[{first[name]}])",
                name,
            )
        else:
            first[name] = i
    return first
