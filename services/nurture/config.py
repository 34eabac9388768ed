"""The ``nurture`` section of the YAML config: sequences per bucket, and what stops them.

``contact`` (quiet hours, pressure caps, lead zones) and ``followups`` (rep follow-up plans
per bucket) are validated by :mod:`services.nurture.followup_config`.

Example::

    nurture:
      stop_on: [replied, meeting_booked, unsubscribed, won, lost, contacted, bounced]
      sequences:
        - name: nurture-standard
          buckets: [nurture]
          sales_cycle_weeks: 12        # C
          weeks_between_touches: 2     # A  -> N = 12 / 2 + 1 = 7 touches
          touch_interval: 30s          # optional: overrides A for the spacing (demos)
          first_touch_after: 0s
          modes: [email, email, call]  # cycled over the touches
          templates: [welcome, case-study, check-in-call]
        - name: cold-revive
          buckets: [cold]
          recycled: [gone_cold, lost, disqualified]  # leads the router recycles to nurture
          sales_cycle_weeks: 24
          weeks_between_touches: 6

A lead routed to nurture joins the sequence of its bucket; a lead the router *recycled* to
nurture (``routing.recycling``: gone cold, lost after the cool-off, disqualified; the event's
``recycled`` field) joins the sequence listing that cause in ``recycled``, else its bucket's.
A bucket and a recycle cause each belong to at most one sequence.

Durations are a number and a unit: s, m (minutes), h, d, w, or combined ("1h30m").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.nurture import domain
from services.nurture.followup_config import ContactConfig, Followups, followup_plans
from services.nurture.followup_handlers import FollowupRules
from shared.config import ServiceSettings, load_section, parse_duration
from shared.contracts.capture import ActivityKind

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Mode = Literal["call", "email", "sms", "task"]
# The router's recycle causes that can send a lead to nurture (routing.recycling).
RecycleCause = Literal["gone_cold", "lost", "disqualified"]


class Settings(ServiceSettings):
    """The nurture service's settings; ``LEADFLOW_NURTURE_TICK_S`` paces the timer job."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore", populate_by_name=True)

    service_name: str = "nurture"
    port: int = 8003
    # Off the latency path (a lead is decided before these react): fetch less often, which
    # saves the broker and this process CPU when idle.
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=1, le=500)
    tick_s: float = Field(
        0.5,
        gt=0,
        allow_inf_nan=False,
        validation_alias="leadflow_nurture_tick_s",
        description="Seconds between scans for due touches (LEADFLOW_NURTURE_TICK_S)",
    )
    fixed_now: datetime | None = Field(
        None,
        validation_alias="leadflow_nurture_fixed_now",
        description="Freeze the service's clock at this time, with a zone (tests and demos"
        " of follow-up timers; LEADFLOW_NURTURE_FIXED_NOW); unset: the real clock",
    )

    @field_validator("fixed_now")
    @classmethod
    def _fixed_now_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("needs a time zone, e.g. 2026-12-04T18:30:00Z")
        return value


class SequenceConfig(BaseModel):
    """One nurture sequence: the buckets it takes, its cadence, modes and templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Unique sequence name")
    buckets: tuple[str, ...] = Field(min_length=1, description="Buckets this sequence takes")
    sales_cycle_weeks: float = Field(gt=0, allow_inf_nan=False, description="C, in weeks")
    weeks_between_touches: float = Field(
        gt=0, allow_inf_nan=False, description="A, weeks between touches"
    )
    touch_interval: str | None = Field(
        None, description="Spacing between touches overriding A, e.g. '30s' for demos"
    )
    first_touch_after: str = Field("0s", description="Delay before the first touch")
    modes: tuple[Mode, ...] = Field(("email",), min_length=1, description="Cycled over touches")
    templates: tuple[str, ...] | None = Field(
        None, min_length=1, description="Template names cycled alongside the modes"
    )
    recycled: tuple[RecycleCause, ...] = Field(
        (),
        description="Recycle causes whose leads join this sequence whatever their bucket"
        " (gone_cold, lost, disqualified: routing.recycling sent them to nurture)",
    )

    @field_validator("buckets")
    @classmethod
    def _buckets_are_distinct_names(cls, buckets: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for bucket in buckets:
            if not bucket.strip():
                raise ValueError("bucket names must not be empty")
            key = bucket.strip().casefold()
            if key in seen:
                raise ValueError(f"bucket {bucket!r} is listed twice")
            seen.add(key)
        return tuple(b.strip() for b in buckets)

    @field_validator("touch_interval", "first_touch_after", mode="before")
    @classmethod
    def _duration_has_a_unit(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f"{value} has no unit; write a duration such as '30s', '15m', '2h', '3d' or '2w'"
            )
        return value

    @field_validator("touch_interval")
    @classmethod
    def _interval_is_positive(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value).total_seconds() <= 0:
            raise ValueError("touch_interval must be longer than zero")
        return value

    @field_validator("first_touch_after")
    @classmethod
    def _first_touch_is_a_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("templates")
    @classmethod
    def _templates_are_named(cls, templates: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if templates is not None and any(not t.strip() for t in templates):
            raise ValueError("template names must not be empty")
        return templates

    @model_validator(mode="after")
    def _cadence_is_sane(self) -> SequenceConfig:
        touches = domain.touch_count(self.sales_cycle_weeks, self.weeks_between_touches)
        if touches > domain.MAX_TOUCHES:
            raise ValueError(
                f"sales_cycle_weeks / weeks_between_touches gives {touches} touches; "
                f"at most {domain.MAX_TOUCHES} are allowed"
            )
        if self.templates is not None and len(self.templates) % len(self.modes):
            raise ValueError(
                f"templates: {len(self.templates)} template(s) for {len(self.modes)} mode(s) "
                "would pair a template with different modes; give a multiple of "
                f"{len(self.modes)} templates"
            )
        return self

    def to_domain(self) -> domain.Sequence:
        return domain.Sequence(
            name=self.name,
            buckets=frozenset(self.buckets),
            sales_cycle_weeks=self.sales_cycle_weeks,
            weeks_between_touches=self.weeks_between_touches,
            touch_interval=(parse_duration(self.touch_interval) if self.touch_interval else None),
            first_touch_after=parse_duration(self.first_touch_after),
            modes=tuple(self.modes),
            templates=self.templates or (),
            recycled=frozenset(self.recycled),
        )


class NurtureConfig(BaseModel):
    """The nurture section: sequences (a bucket in at most one) and the stopping activities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sequences: tuple[SequenceConfig, ...] = Field((), description="Nurture sequences")
    stop_on: tuple[ActivityKind, ...] = Field(
        tuple(ActivityKind(kind) for kind in domain.DEFAULT_STOP_ON),
        description="Activity kinds that end a lead's sequence",
    )
    contact: ContactConfig = Field(
        default_factory=ContactConfig,
        description="Quiet hours, pressure caps and lead zones for every touch",
    )
    followups: Followups = Field(
        default_factory=dict, description="Follow-up plan per bucket for the owning rep"
    )

    @field_validator("sequences")
    @classmethod
    def _names_and_buckets_are_unique(
        cls, sequences: tuple[SequenceConfig, ...]
    ) -> tuple[SequenceConfig, ...]:
        names: set[str] = set()
        owner: dict[str, str] = {}
        for sequence in sequences:
            if sequence.name in names:
                raise ValueError(f"duplicate sequence name {sequence.name!r}")
            names.add(sequence.name)
            for bucket in sequence.buckets:
                key = bucket.casefold()
                if key in owner:
                    raise ValueError(
                        f"bucket {bucket!r} is in sequences {owner[key]!r} and "
                        f"{sequence.name!r}; a bucket may belong to at most one sequence"
                    )
                owner[key] = sequence.name
            for cause in sequence.recycled:
                key = f"recycled:{cause}"
                if key in owner:
                    raise ValueError(
                        f"recycle cause {cause!r} is in sequences {owner[key]!r} and "
                        f"{sequence.name!r}; a cause may belong to at most one sequence"
                    )
                owner[key] = sequence.name
        return sequences

    @field_validator("stop_on")
    @classmethod
    def _stop_kinds_are_distinct(cls, kinds: tuple[ActivityKind, ...]) -> tuple[ActivityKind, ...]:
        seen: set[ActivityKind] = set()
        for kind in kinds:
            if kind in seen:
                raise ValueError(f"{kind.value!r} is listed twice")
            seen.add(kind)
        return kinds

    def to_domain(self) -> domain.NurtureRules:
        return domain.NurtureRules(
            sequences=tuple(s.to_domain() for s in self.sequences),
            stop_on=frozenset(kind.value for kind in self.stop_on),
        )

    def followup_rules(self) -> FollowupRules:
        """The follow-up plans per bucket with the contact rules and lead zones."""
        return FollowupRules(
            plans=followup_plans(self.followups),
            contact=self.contact.to_domain(),
            zones=self.contact.time_zone_rules(),
        )


def load_nurture_config(path: Path) -> NurtureConfig:
    """Read and validate the ``nurture`` section of the config file at ``path``."""
    return load_section(path, "nurture", NurtureConfig)
