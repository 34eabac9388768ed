"""Load weights and the fairness policy in the routing config::

    load_weights: {hot: 3, warm: 2, cold: 1, default: 1}   # an open lead's weight by bucket
    fairness:
      effects:                  # change to the multiplier per event; unlisted kinds keep these
        sla_breach: -0.10
        touch_late: -0.02
        touch_missed: -0.05
        gone_cold: -0.05
        fast_first_contact: 0.02
        won: 0.10
      floor: 0.5                # the multiplier never drops below ...
      ceiling: 1.5              # ... nor rises above (a manual override may)
      window: 30d               # each effect fades linearly to nothing over this
      fast_first_contact: 5m    # a first contact this soon after assignment is rewarded

In ``load_weights`` the key ``default`` is the weight of every bucket not listed (1 when
absent). Without ``load_weights`` every open lead weighs 1; without ``fairness`` every rep's
multiplier is 1. Penalties must not be positive nor rewards negative (a sign slip would turn
a punishment into a reward); 0 turns a kind off.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field, model_validator

from services.router.config.fields import Lowered, Model, fail, lower
from services.router.config.sla import Duration
from services.router.domain.fairness import (
    DEFAULT_EFFECTS,
    EVENT_KINDS,
    EventKind,
    FairnessPolicy,
)
from services.router.domain.model import LoadWeights

DEFAULT_BUCKET: Final = "default"
PENALTIES: frozenset[EventKind] = frozenset(
    {"sla_breach", "touch_late", "touch_missed", "gone_cold"}
)

LoadWeight = Annotated[int, Field(strict=True, ge=1, le=100)]
LoadWeightsField = dict[Lowered, LoadWeight] | None


def _lower_keys(value: Any) -> Any:
    return {lower(k): v for k, v in value.items()} if isinstance(value, dict) else value


class FairnessModel(Model):
    effects: Annotated[dict[str, float], BeforeValidator(_lower_keys)] = Field(
        default_factory=dict,
        description="Change to the multiplier per event kind, e.g. {sla_breach: -0.1};"
        " unlisted kinds keep their defaults, 0 turns one off",
    )
    floor: float = Field(0.5, gt=0, le=1, description="Lowest multiplier the record can give")
    ceiling: float = Field(1.5, ge=1, le=10, description="Highest multiplier the record can give")
    window: Duration = Field(
        timedelta(days=30), description="Each effect fades linearly to nothing over this"
    )
    fast_first_contact: Duration = Field(
        timedelta(minutes=5), description="A first contact this soon after assignment counts"
    )

    @model_validator(mode="after")
    def _signs(self) -> FairnessModel:
        for kind, effect in self.effects.items():
            if kind not in EVENT_KINDS:
                message = f"unknown kind {kind!r}; use one of {', '.join(EVENT_KINDS)}"
                fail(("effects", kind), message, kind)
            if abs(effect) > 1:
                fail(("effects", kind), f"must be between -1 and 1, got {effect}", effect)
            if kind in PENALTIES and effect > 0:
                message = f"{kind} is a penalty: give 0 or less, got {effect}"
                fail(("effects", kind), message, effect)
            if kind not in PENALTIES and effect < 0:
                message = f"{kind} is a reward: give 0 or more, got {effect}"
                fail(("effects", kind), message, effect)
        return self


def fairness_policy(model: FairnessModel | None) -> FairnessPolicy | None:
    """The domain policy: the configured effects over the defaults, in the defaults' order."""
    if model is None:
        return None
    effects = tuple((kind, model.effects.get(kind, effect)) for kind, effect in DEFAULT_EFFECTS)
    return FairnessPolicy(
        effects=effects,
        floor=model.floor,
        ceiling=model.ceiling,
        window=model.window,
        fast_first_contact=model.fast_first_contact,
    )


def load_weights(weights: dict[str, int] | None) -> LoadWeights | None:
    """``default`` weighs unlisted buckets; the others are buckets, in config order."""
    if weights is None:
        return None
    listed = tuple((b, w) for b, w in weights.items() if b != DEFAULT_BUCKET)
    return LoadWeights(listed, weights.get(DEFAULT_BUCKET, 1))
