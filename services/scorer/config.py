"""The scorer's settings, and the ``scoring`` section of the YAML config: the scoring model.

```yaml
scoring:
  model_version: "2026-11-25.1"
  threshold: 60                 # qualified when total >= threshold
  caps: {fit: 60, engagement: 60}
  engagement_half_life_days: 14
  buckets:                      # strictly decreasing min_score; the last one is the catch-all
    - {name: hot, min_score: 80}
    - {name: warm, min_score: 60}
    - {name: nurture}           # catch-all: min_score optional, only its order is checked
  fit:
    - {name: target_country, when: {field: country, in: [GB, DE, US]}, points: 15}
  engagement:
    - {name: replied, activity: replied, points: 25}
    - {name: unsubscribed, activity: unsubscribed, points: -50, decay: false}
```

Fit conditions read the lead profile (``LeadProfile`` fields, ``utm.*``, ``attributes.*``);
engagement conditions read the activity (``kind``, ``channel``, ``details.*``). A field name
outside these is refused at load time, so a typo cannot silently never match.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.types import FiniteFloat
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_settings import SettingsConfigDict

from services.scorer.domain import (
    Bucket,
    Caps,
    EngagementRule,
    FitRule,
    ScoringModel,
)
from shared.conditions import All, AnyOf, Condition, ConditionError, Not, parse_condition
from shared.config import ServiceSettings, load_section, validate_section
from shared.contracts.capture import ActivityKind, LeadProfile

SECTION = "scoring"
# Names are plain identifiers, so they can never clash with the "cap:<group>" contributions.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
LEAD_FIELDS = frozenset(LeadProfile.model_fields)
LEAD_MAPPING_FIELDS = frozenset({"utm", "attributes"})
ACTIVITY_FIELDS = frozenset({"kind", "channel", "details"})
ACTIVITY_MAPPING_FIELDS = frozenset({"details"})

Loc = tuple[int | str, ...]


class Settings(ServiceSettings):
    """Where the scorer runs; the scoring model itself comes from the YAML config file."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore", populate_by_name=True)

    service_name: str = "scorer"
    port: int = 8001
    rescore_after_s: float = Field(
        3600.0,
        gt=0,
        allow_inf_nan=False,
        validation_alias="leadflow_scorer_rescore_after_s",
        description="Leads with engagement points are re-scored when their score is older than"
        " this, so fading engagement moves them between buckets"
        " (LEADFLOW_SCORER_RESCORE_AFTER_S)",
    )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BucketConfig(_Section):
    name: str = Field(pattern=NAME_PATTERN, description="Bucket name, e.g. hot")
    min_score: FiniteFloat | None = Field(
        None, description="Lowest total in this bucket; optional on the last (catch-all) bucket"
    )


class CapsConfig(_Section):
    fit: FiniteFloat | None = Field(None, ge=0, description="Most points fit rules can earn")
    engagement: FiniteFloat | None = Field(
        None, ge=0, description="Most points engagement rules can earn"
    )


class FitRuleConfig(_Section):
    name: str = Field(pattern=NAME_PATTERN, description="Unique across fit and engagement")
    when: dict[str, Any] | None = Field(None, description="Condition over the lead profile")
    points: FiniteFloat = Field(description="Points when the condition holds (may be negative)")

    @field_validator("when")
    @classmethod
    def _valid_condition(cls, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        return _condition(raw, LEAD_FIELDS, LEAD_MAPPING_FIELDS, "lead")


class EngagementRuleConfig(_Section):
    name: str = Field(pattern=NAME_PATTERN, description="Unique across fit and engagement")
    activity: tuple[ActivityKind, ...] = Field(
        min_length=1, description="Activity kind, or list of kinds, this rule counts"
    )
    when: dict[str, Any] | None = Field(None, description="Condition over the activity")
    points: FiniteFloat = Field(description="Points per matching activity (may be negative)")
    half_life_days: FiniteFloat | None = Field(
        None, gt=0, description="Overrides scoring.engagement_half_life_days for this rule"
    )
    decay: bool = Field(True, description="false: points never fade (opt-outs, bounces)")
    max_count: int | None = Field(
        None, ge=1, description="How many matching activities count, most recent first"
    )

    @field_validator("activity", mode="before")
    @classmethod
    def _one_or_many(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, str) else raw

    @field_validator("when")
    @classmethod
    def _valid_condition(cls, raw: dict[str, Any] | None) -> dict[str, Any] | None:
        return _condition(raw, ACTIVITY_FIELDS, ACTIVITY_MAPPING_FIELDS, "activity")

    @model_validator(mode="after")
    def _half_life_needs_decay(self) -> Self:
        if not self.decay and self.half_life_days is not None:
            _fail(self, [(("half_life_days",), "has no effect when decay is false; remove one")])
        return self


class ScoringConfig(_Section):
    """The ``scoring`` section: one versioned scoring model."""

    model_version: str = Field(min_length=1, description="Version stamped on every score")
    threshold: FiniteFloat = Field(description="A lead is qualified when its total reaches this")
    buckets: list[BucketConfig] = Field(min_length=1, description="Strictly decreasing min_score")
    caps: CapsConfig = Field(default_factory=CapsConfig, description="Per-group point caps")
    engagement_half_life_days: FiniteFloat = Field(
        14.0, gt=0, description="Engagement points halve after this many days"
    )
    fit: list[FitRuleConfig] = Field(default_factory=list, description="Who the lead is")
    engagement: list[EngagementRuleConfig] = Field(
        default_factory=list, description="What the lead did"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = _bucket_problems(self.buckets) + _duplicate_rule_names(self)
        if problems:
            _fail(self, problems)
        return self


def _condition(
    raw: dict[str, Any] | None, fields: frozenset[str], mappings: frozenset[str], subject: str
) -> dict[str, Any] | None:
    """Parse the raw condition and check its fields, so a bad rule fails at load time."""
    try:
        _check_fields(parse_condition(raw, "when"), "when", fields, mappings, subject)
    except ConditionError as exc:
        raise PydanticCustomError("condition", "{problem}", {"problem": str(exc)}) from exc
    return raw


def _check_fields(
    cond: Condition, where: str, fields: frozenset[str], mappings: frozenset[str], subject: str
) -> None:
    if isinstance(cond, All | AnyOf):
        kind = "all" if isinstance(cond, All) else "any"
        for i, item in enumerate(cond.items):
            _check_fields(item, f"{where}.{kind}[{i}]", fields, mappings, subject)
        return
    if isinstance(cond, Not):
        _check_fields(cond.item, f"{where}.not", fields, mappings, subject)
        return
    head, dot, _ = cond.field.partition(".")
    if head not in fields:
        known = ", ".join([*sorted(fields - mappings), *(f"{m}.*" for m in sorted(mappings))])
        raise ConditionError(f"{where}.field: unknown {subject} field {cond.field!r} ({known})")
    if dot and head not in mappings:
        raise ConditionError(f"{where}.field: {head!r} has no sub-fields ({cond.field!r})")


def _bucket_problems(buckets: list[BucketConfig]) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for i, bucket in enumerate(buckets):
        key = bucket.name.casefold()
        if key in seen:
            problems.append(
                (
                    ("buckets", i, "name"),
                    f"duplicate bucket name {bucket.name!r} (also buckets[{seen[key]}])",
                )
            )
        seen.setdefault(key, i)
        if bucket.min_score is None and i < len(buckets) - 1:
            problems.append(
                (
                    ("buckets", i, "min_score"),
                    "required on every bucket but the last, which catches all lower scores",
                )
            )
    scored = [(i, b.name, b.min_score) for i, b in enumerate(buckets) if b.min_score is not None]
    for (_, upper, upper_min), (i, lower, lower_min) in zip(scored, scored[1:], strict=False):
        if lower_min >= upper_min:
            problems.append(
                (
                    ("buckets", i, "min_score"),
                    "buckets must be in strictly decreasing min_score order: "
                    f"{lower!r} ({lower_min:g}) is not below {upper!r} ({upper_min:g})",
                )
            )
    return problems


def _duplicate_rule_names(config: ScoringConfig) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, str] = {}
    rules: list[tuple[str, int, str]] = [("fit", i, r.name) for i, r in enumerate(config.fit)]
    rules += [("engagement", i, r.name) for i, r in enumerate(config.engagement)]
    for group, i, name in rules:
        if name in seen:
            problems.append(
                ((group, i, "name"), f"duplicate rule name {name!r} (also {seen[name]})")
            )
        else:
            seen[name] = f"{group}[{i}]"
    return problems


def _fail(model: BaseModel, problems: list[tuple[Loc, str]]) -> None:
    """Raise one ValidationError whose errors point at the offending keys."""
    raise ValidationError.from_exception_data(
        type(model).__name__,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{problem}", {"problem": msg}),
                loc=loc,
                input=None,
            )
            for loc, msg in problems
        ],
    )


def build_scoring_model(config: ScoringConfig) -> ScoringModel:
    """Turn the validated section into the frozen domain model the rules run on."""
    return ScoringModel(
        version=config.model_version,
        threshold=config.threshold,
        buckets=tuple(Bucket(b.name, b.min_score) for b in config.buckets),
        fit_rules=tuple(FitRule(r.name, parse_condition(r.when), r.points) for r in config.fit),
        engagement_rules=tuple(
            EngagementRule(
                name=r.name,
                activities=frozenset(kind.value for kind in r.activity),
                points=r.points,
                when=parse_condition(r.when),
                half_life_days=r.half_life_days,
                decay=r.decay,
                max_count=r.max_count,
            )
            for r in config.engagement
        ),
        caps=Caps(fit=config.caps.fit, engagement=config.caps.engagement),
        engagement_half_life_days=config.engagement_half_life_days,
    )


def load_scorer_config(path: Path) -> ScoringConfig:
    """Read and validate the ``scoring`` section of the config file (ConfigError if invalid)."""
    return load_section(path, SECTION, ScoringConfig)


def load_scoring_model(path: Path) -> ScoringModel:
    """The scoring model from the config file, ready for ``domain.score_lead``."""
    return build_scoring_model(load_scorer_config(path))


def scoring_model_from_mapping(data: Mapping[str, Any], path: Path) -> ScoringModel:
    """Validate an already-parsed config (admin API, tests); ``path`` only labels errors."""
    return build_scoring_model(validate_section(path, dict(data), SECTION, ScoringConfig))
