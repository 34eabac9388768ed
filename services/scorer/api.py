"""The scorer's HTTP API: read a lead's score, simulate a score, show the active model."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.scorer import domain, store
from services.scorer.deps import ConfigDep, ModelDep, RuntimeDep
from shared import clock
from shared.auth.guard import ConfigRead, LeadsRead
from shared.contracts import ActivityKind, LeadProfile
from shared.db import audit
from shared.http import ApiError
from shared.params import IsoDateTime

router = APIRouter(prefix="/v1", tags=["scoring"])

MAX_SIMULATED_ACTIVITIES = 1000


class ContributionOut(BaseModel):
    rule: str = Field(description="Rule name, or cap:<group> for points a cap trimmed")
    group: str = Field(description="fit or engagement")
    points: float = Field(description="Points the rule added (negative subtracts)")


class ScoreOut(BaseModel):
    score: float = Field(description="Total score, fit plus engagement")
    fit: float = Field(description="Fit part of the score")
    engagement: float = Field(description="Engagement part of the score")
    bucket: str = Field(description="Bucket the score falls in")
    qualified: bool = Field(description="Whether the score is at or above the threshold")
    model_version: str = Field(description="Scoring model version used")
    contributions: list[ContributionOut] = Field(description="Why: the rules that matched")
    scored_at: datetime = Field(description="When the score was computed (UTC)")


class LeadScoreOut(ScoreOut):
    lead_id: UUID
    captured_at: datetime = Field(description="When capture accepted the lead (UTC)")


class SimulatedLead(LeadProfile):
    """A lead profile as capture would send it; unknown fields are refused, not ignored, and
    values are taken only as the document types them (strict: no ``false`` for a number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    source: str = Field("api", description="Source the lead came from")


class SimulatedActivity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind = Field(description="What happened")
    occurred_at: IsoDateTime = Field(description="When, with a time zone")
    channel: str | None = Field(None, max_length=64, description="call, email, sms, ...")
    details: dict[str, Any] = Field(default_factory=dict, description="Free-form details")


class SimulateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "lead": {"country": "GB", "interest": "shoes", "company_size": 250},
                "activities": [{"kind": "replied", "occurred_at": "2026-11-24T09:30:00Z"}],
            }
        },
    )

    lead: SimulatedLead = Field(description="The lead's profile fields")
    activities: list[SimulatedActivity] = Field(
        default_factory=list, max_length=MAX_SIMULATED_ACTIVITIES, description="What it did"
    )
    as_of: IsoDateTime | None = Field(None, description="Score as of this moment; default now")


class SimulatedScoreOut(ScoreOut):
    threshold: float = Field(description="Qualification threshold of the model")


class BucketOut(BaseModel):
    name: str
    min_score: float | None = Field(description="None for the last, catch-all bucket")


class FitRuleOut(BaseModel):
    name: str
    points: float
    when: dict[str, Any] | None = Field(description="Condition over the lead, as configured")


class EngagementRuleOut(BaseModel):
    name: str
    points: float
    activity: list[str] = Field(description="Activity kinds the rule counts")
    when: dict[str, Any] | None = Field(description="Condition over the activity")
    decay: bool
    half_life_days: float | None
    max_count: int | None


class ModelOut(BaseModel):
    version: str
    threshold: float
    engagement_half_life_days: float
    caps: dict[str, float | None] = Field(description="Most points each group can earn")
    buckets: list[BucketOut]
    fit: list[FitRuleOut]
    engagement: list[EngagementRuleOut]


def _contributions(score: domain.Score) -> list[ContributionOut]:
    return [
        ContributionOut(rule=c.rule, group=c.group, points=c.points) for c in score.contributions
    ]


@router.get(
    "/leads/{lead_id}/score",
    response_model=LeadScoreOut,
    responses={404: {"description": "The scorer has not scored this lead"}},
    summary="A lead's latest score and the rules behind it",
)
async def read_score(lead_id: UUID, runtime: RuntimeDep, caller: LeadsRead) -> Any:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        score = await store.get_score(conn, str(lead_id))
        if score is not None:
            await audit.append(conn, caller.subject, "lead.score_read", str(lead_id))
    if score is None:
        raise ApiError(404, "unknown_lead", f"no score for lead {lead_id}")
    return score


@router.post(
    "/scoring:simulate",
    response_model=SimulatedScoreOut,
    responses={422: {"description": "A field is missing or invalid; `problems` names each one"}},
    summary="Score a hypothetical lead with the active model; nothing is stored or sent",
)
async def simulate(body: SimulateRequest, model: ModelDep, caller: ConfigRead) -> SimulatedScoreOut:
    now = body.as_of or clock.now()
    activities = [
        domain.ActivityFact(a.kind.value, a.occurred_at, a.channel, a.details)
        for a in body.activities
    ]
    score = domain.score_lead(body.lead.model_dump(mode="json"), activities, model, now)
    return SimulatedScoreOut(
        score=score.total,
        fit=score.fit,
        engagement=score.engagement,
        bucket=score.bucket,
        qualified=score.qualified,
        threshold=model.threshold,
        model_version=model.version,
        contributions=_contributions(score),
        scored_at=now,
    )


@router.get("/scoring/model", response_model=ModelOut, summary="The active scoring model")
async def read_model(config: ConfigDep, caller: ConfigRead) -> ModelOut:
    return ModelOut(
        version=config.model_version,
        threshold=config.threshold,
        engagement_half_life_days=config.engagement_half_life_days,
        caps={"fit": config.caps.fit, "engagement": config.caps.engagement},
        buckets=[BucketOut(name=b.name, min_score=b.min_score) for b in config.buckets],
        fit=[FitRuleOut(name=r.name, points=r.points, when=r.when) for r in config.fit],
        engagement=[
            EngagementRuleOut(
                name=r.name,
                points=r.points,
                activity=[kind.value for kind in r.activity],
                when=r.when,
                decay=r.decay,
                half_life_days=r.half_life_days,
                max_count=r.max_count,
            )
            for r in config.engagement
        ],
    )
