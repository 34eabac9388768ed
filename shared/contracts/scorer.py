"""Events produced by the scorer service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import topics
from shared.contracts.capture import LeadProfile
from shared.contracts.envelope import Event


class ScoreContribution(BaseModel):
    """One scoring rule that matched, and the points it gave."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: str = Field(description="Rule name from the scoring model")
    group: str = Field(description="fit or engagement")
    points: float = Field(description="Points this rule added (negative subtracts)")


class LeadScored(Event):
    """A lead was (re-)scored; carries the lead so routing needs no other lookup."""

    TYPE: ClassVar[str] = "io.leadflow.lead.scored.v1"
    TOPIC: ClassVar[str] = topics.LEAD_SCORED

    lead_id: str = Field(description="Lead id (UUID)")
    score: float = Field(description="Total score, fit plus engagement")
    fit: float = Field(description="Fit part of the score")
    engagement: float = Field(description="Engagement part of the score")
    bucket: str = Field(description="Bucket the score falls in, e.g. hot, warm, cold, nurture")
    qualified: bool = Field(description="Whether the score is at or above the threshold")
    model_version: str = Field(description="Version of the scoring model used")
    contributions: list[ScoreContribution] = Field(description="Rules that matched")
    scored_at: datetime = Field(description="When the score was computed (UTC)")
    captured_at: datetime = Field(description="When capture accepted the lead (UTC)")
    lead: LeadProfile = Field(description="The lead as scored")
    trigger: Literal["captured", "activity", "profile_updated", "decay"] | None = Field(
        None,
        description="What caused this score: a new lead, an activity, a merged profile"
        " update, or the periodic re-score as engagement points fade",
    )


class LeadQualified(Event):
    """A lead's score crossed the qualification threshold (emitted once per crossing)."""

    TYPE: ClassVar[str] = "io.leadflow.lead.qualified.v1"
    TOPIC: ClassVar[str] = topics.LEAD_QUALIFIED

    lead_id: str = Field(description="Lead id (UUID)")
    score: float = Field(description="Score at qualification")
    bucket: str = Field(description="Bucket at qualification")
    threshold: float = Field(description="Threshold that was crossed")
    qualified_at: datetime = Field(description="When (UTC)")


class LeadDisqualified(Event):
    """A qualified lead's score fell back below the threshold (engagement faded, a penalty,
    a changed profile): it is recycled, e.g. back to nurture. Once per fall."""

    TYPE: ClassVar[str] = "io.leadflow.lead.disqualified.v1"
    TOPIC: ClassVar[str] = topics.LEAD_DISQUALIFIED

    lead_id: str = Field(description="Lead id (UUID)")
    score: float = Field(description="Score after the fall")
    bucket: str = Field(description="Bucket after the fall")
    threshold: float = Field(description="Threshold it fell below")
    disqualified_at: datetime = Field(description="When (UTC)")
    trigger: Literal["activity", "profile_updated", "decay"] = Field(
        description="What caused the fall"
    )


class LeadBucketChanged(Event):
    """A scored lead moved to another bucket (e.g. warm to hot, or hot back to warm), whatever
    caused the new score. Not emitted for a lead's first score: ``LeadScored`` with trigger
    ``captured`` says where it starts. Lets a "hot lead" alert catch leads that were warm first."""

    TYPE: ClassVar[str] = "io.leadflow.lead.bucket_changed.v1"
    TOPIC: ClassVar[str] = topics.LEAD_BUCKET_CHANGED

    lead_id: str = Field(description="Lead id (UUID)")
    from_bucket: str = Field(description="Bucket of the lead's previous score")
    to_bucket: str = Field(description="Bucket of the new score, e.g. hot")
    score: float = Field(description="The new total score")
    contributions: list[ScoreContribution] = Field(
        description="Rules that matched in the new score (why it is in this bucket)"
    )
    trigger: Literal["activity", "profile_updated", "decay"] = Field(
        description="What caused the new score: an activity, a merged profile update, or the"
        " periodic re-score as engagement points fade"
    )
    changed_at: datetime = Field(description="When the new score was computed (UTC)")
