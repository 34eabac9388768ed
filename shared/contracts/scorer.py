"""Events produced by the scorer service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

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


class LeadQualified(Event):
    """A lead's score crossed the qualification threshold (emitted once per crossing)."""

    TYPE: ClassVar[str] = "io.leadflow.lead.qualified.v1"
    TOPIC: ClassVar[str] = topics.LEAD_QUALIFIED

    lead_id: str = Field(description="Lead id (UUID)")
    score: float = Field(description="Score at qualification")
    bucket: str = Field(description="Bucket at qualification")
    threshold: float = Field(description="Threshold that was crossed")
    qualified_at: datetime = Field(description="When (UTC)")
