"""A queue's first-contact SLA in the routing config::

    sla:
      first_contact: 30m          # warm, cold and any bucket not listed below
      by_bucket: {hot: 5m}        # a bucket's own time
      warn_before: 2m             # LeadSlaWarning when this much time is left
      business_hours: true        # the clock only runs in the assigned rep's working hours
      max_attempts: 2             # reps who get a try (the first assignment included)
      then: {queue: general-global}   # where the lead goes after the last try; or {rep: zoe},
                                      # or {manager: true}: the owner's team manager's rep

``sla: 15m`` alone sets just ``first_contact``; ``sla_minutes: 15`` is its old spelling.
Durations are a number and a unit, s, m (minutes), h, d or w, or combined ("1h30m").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from services.router.config.fields import Lowered, Model, Report, error, fail
from services.router.domain.model import Escalation, SlaPolicy
from shared.config import DURATION_HELP, duration_text, parse_duration


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise error(f"{value} has no unit; {DURATION_HELP}")
    if not isinstance(value, str):
        raise error(f"must be a duration; {DURATION_HELP}")
    try:
        parsed = parse_duration(value)
    except ValueError as exc:
        raise error(str(exc)) from None
    if parsed <= timedelta(0):
        raise error(f"must be longer than zero, got {value!r}")
    return parsed


# Stored and shown (versions, admin API) the way the file spells it: "15m", not "PT15M".
Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(duration_text, when_used="json")
]


class EscalationModel(Model):
    queue: str | None = Field(None, description="Pool queue whose strategy picks the rep")
    rep: str | None = Field(None, description="Rep who takes the lead, e.g. a manager")
    manager: bool | None = Field(
        None,
        description="true: the owning rep's team manager takes the lead, as their"
        " routing.teams manager rep",
    )

    @model_validator(mode="after")
    def _one_target(self) -> EscalationModel:
        if self.manager is False:
            fail(("manager",), "must be true (or leave it out)", False)
        named = [self.queue is not None, self.rep is not None, bool(self.manager)]
        if named.count(True) != 1:
            raise error(
                "name one target: a queue, a rep or the owner's manager, e.g."
                " {queue: general-global}, {rep: zoe} or {manager: true}"
            )
        return self


class SlaModel(Model):
    first_contact: Duration = Field(description="Time a rep has to contact a new lead")
    by_bucket: dict[Lowered, Duration] = Field(
        default_factory=dict, description="A bucket's own time, e.g. {hot: 5m}"
    )
    warn_before: Duration | None = Field(None, description="Warn when this much time is left")
    business_hours: bool = Field(
        False, description="The clock only runs in the assigned rep's working hours"
    )
    max_attempts: int = Field(
        3, ge=1, le=10, description="Reps who get a try, the first assignment included"
    )
    then: EscalationModel | None = Field(
        None, description="Where the lead goes after the last attempt; absent: it stays"
    )

    @model_validator(mode="after")
    def _warning_fits(self) -> SlaModel:
        if self.warn_before is None:
            return self
        limits = [("first_contact", self.first_contact)]
        limits += [(f"by_bucket.{b}", t) for b, t in self.by_bucket.items()]
        for where, limit in limits:
            if self.warn_before >= limit:
                before, time = duration_text(self.warn_before), duration_text(limit)
                message = f"warn_before {before} must be shorter than {where} {time}"
                fail(("warn_before",), message, before)
        return self


def sla_shorthand(value: Any) -> Any:
    """``sla: 15m`` is ``sla: {first_contact: 15m}``."""
    return {"first_contact": value} if isinstance(value, str | int | float) else value


def sla_policy(sla: SlaModel | None, sla_minutes: int | None) -> SlaPolicy | None:
    """The domain policy; ``sla_minutes`` (the old spelling) is a first contact time only."""
    if sla_minutes is not None:
        return SlaPolicy(first_contact=timedelta(minutes=sla_minutes))
    if sla is None:
        return None
    return SlaPolicy(
        first_contact=sla.first_contact,
        by_bucket=tuple(sla.by_bucket.items()),
        warn_before=sla.warn_before,
        business_hours=sla.business_hours,
        max_attempts=sla.max_attempts,
        then=None
        if sla.then is None
        else Escalation(sla.then.queue, sla.then.rep, bool(sla.then.manager)),
    )


def check_sla(
    name: str,
    sla: SlaModel,
    loc: tuple[str | int, ...],
    reps: dict[str, int],
    queues: dict[str, int],
    nurture: set[str],
    problem: Report,
) -> None:
    """The escalation target exists and is not the queue itself; bucket times are for
    buckets that reach reps."""
    for bucket in sla.by_bucket:
        if bucket in nurture:
            message = f"bucket {bucket!r} is a nurture bucket: its leads never reach a rep"
            problem((*loc, "by_bucket", bucket), message, bucket)
    then = sla.then
    if then is None:
        return
    if then.queue is not None and then.queue not in queues:
        problem((*loc, "then", "queue"), f"unknown queue {then.queue!r}", then.queue)
    elif then.queue == name:
        message = f"{name} escalates to itself; name a pool queue or a rep"
        problem((*loc, "then", "queue"), message, then.queue)
    if then.rep is not None and then.rep not in reps:
        problem((*loc, "then", "rep"), f"unknown rep {then.rep!r}", then.rep)
