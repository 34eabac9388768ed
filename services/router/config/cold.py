"""Gone cold and recycling in the routing config::

    gone_cold:
      no_touch: {hot: 2d, warm: 5d, cold: 14d}   # quiet this long (per bucket): cold
      no_reply_after: 4                          # or this many touches without a reply
    recycling:
      gone_cold: {to: queue, queue: general-global}          # a pool queue, at once
      lost: {to: nurture, after: 30d}                        # nurture after a cool-off
      lost_reasons:                                          # a lost reason's own policy
        no_budget: {to: nurture, after: 90d}
        spam: {to: none}                                     # never recycled
      disqualified: {to: nurture}                            # its score fell back
      # or {to: rep, rep: zoe, after: 1d}: a named rep, in the lead's queue

In ``no_touch`` the key ``default`` is the time of every bucket not listed (absent:
unlisted buckets never go cold for silence). ``to: queue`` names the pool queue whose
strategy picks the next rep (never the last owner); ``to: rep`` names the rep who takes it
(in the queue the lead was in, when they may take it now: see ``domain/recycling.py``);
``to: nurture`` sends the lead to nurture; ``to: none`` leaves it where it is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field, model_validator

from services.router.config.fields import Lowered, Model, Report, error, fail, lower
from services.router.config.sla import Duration
from services.router.domain.cold import ColdPolicy
from services.router.domain.recycling import Destination, RecyclePolicy, Recycling

DEFAULT_BUCKET: Final = "default"


def _lower_keys(value: Any) -> Any:
    return {lower(k): v for k, v in value.items()} if isinstance(value, dict) else value


class GoneColdModel(Model):
    no_touch: Annotated[dict[Lowered, Duration], BeforeValidator(_lower_keys)] = Field(
        default_factory=dict,
        description="How long an assigned lead may go without a touch (or reply) before it"
        " is cold, by bucket, e.g. {hot: 2d, warm: 5d, cold: 14d}; 'default' for the others",
    )
    no_reply_after: int | None = Field(
        None, ge=1, le=100, description="Touches without a reply after which the lead is cold"
    )

    @model_validator(mode="after")
    def _something(self) -> GoneColdModel:
        for bucket, limit in self.no_touch.items():
            if limit <= timedelta(0):
                fail(("no_touch", bucket), "must be longer than 0s", limit)
        if not self.no_touch and self.no_reply_after is None:
            raise error("give no_touch (time per bucket), no_reply_after (touches), or both")
        return self


class RecycleModel(Model):
    to: Destination = Field(
        description="queue (a pool queue), rep (a named rep), nurture, or none (stays)"
    )
    queue: str | None = Field(None, description="The pool queue, for to: queue")
    rep: str | None = Field(None, description="The rep who takes the lead, for to: rep")
    after: Duration | None = Field(
        None, description="Cool-off before the move, e.g. 30d; absent: at once"
    )

    @model_validator(mode="after")
    def _target(self) -> RecycleModel:
        if self.to == "queue" and self.queue is None:
            raise error("to: queue needs queue, e.g. {to: queue, queue: general-global}")
        if self.to != "queue" and self.queue is not None:
            raise error(f"queue is only for to: queue (this says to: {self.to})")
        if self.to == "rep" and self.rep is None:
            raise error("to: rep needs rep, e.g. {to: rep, rep: zoe}")
        if self.to != "rep" and self.rep is not None:
            raise error(f"rep is only for to: rep (this says to: {self.to})")
        return self


class RecyclingModel(Model):
    gone_cold: RecycleModel | None = Field(None, description="Where a lead gone cold goes")
    lost: RecycleModel | None = Field(None, description="Where a lost lead goes")
    lost_reasons: Annotated[dict[Lowered, RecycleModel], BeforeValidator(_lower_keys)] = Field(
        default_factory=dict, description="A lost reason's own policy, e.g. {no_budget: ...}"
    )
    disqualified: RecycleModel | None = Field(
        None, description="Where an open lead goes when its score falls below the threshold"
    )


def check_recycling(
    model: RecyclingModel, queues: dict[str, int], reps: dict[str, int], problem: Report
) -> None:
    """Every pool queue and named rep exists, reported at its key."""
    named: list[tuple[tuple[str | int, ...], RecycleModel | None]] = [
        (("recycling", "gone_cold"), model.gone_cold),
        (("recycling", "lost"), model.lost),
        (("recycling", "disqualified"), model.disqualified),
        *((("recycling", "lost_reasons", r), m) for r, m in model.lost_reasons.items()),
    ]
    for loc, policy in named:
        if policy is not None and policy.queue is not None and policy.queue not in queues:
            problem((*loc, "queue"), f"unknown queue {policy.queue!r}", policy.queue)
        if policy is not None and policy.rep is not None and policy.rep not in reps:
            problem((*loc, "rep"), f"unknown rep {policy.rep!r}", policy.rep)


def check_gone_cold(model: GoneColdModel, nurture: set[str], problem: Report) -> None:
    for bucket in model.no_touch:
        if bucket in nurture and bucket != DEFAULT_BUCKET:
            message = f"bucket {bucket!r} is a nurture bucket: its leads never reach a rep"
            problem(("gone_cold", "no_touch", bucket), message, bucket)


def cold_policy(model: GoneColdModel | None) -> ColdPolicy | None:
    if model is None:
        return None
    listed = tuple((b, t) for b, t in model.no_touch.items() if b != DEFAULT_BUCKET)
    return ColdPolicy(listed, model.no_touch.get(DEFAULT_BUCKET), model.no_reply_after)


def recycling_policy(model: RecyclingModel | None) -> Recycling | None:
    if model is None:
        return None
    return Recycling(
        gone_cold=_policy(model.gone_cold),
        lost=_policy(model.lost),
        lost_reasons=tuple((r, _one(m)) for r, m in model.lost_reasons.items()),
        disqualified=_policy(model.disqualified),
    )


def _policy(model: RecycleModel | None) -> RecyclePolicy | None:
    return None if model is None else _one(model)


def _one(model: RecycleModel) -> RecyclePolicy:
    return RecyclePolicy(model.to, model.queue, model.after or timedelta(0), model.rep)
