"""Events produced by the router service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import topics
from shared.contracts.capture import ContactSnapshot, LeadProfile
from shared.contracts.envelope import Event


class CandidateTrace(BaseModel):
    """One rep the strategy looked at, and why it was or was not picked."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rep_id: str = Field(description="Rep id")
    eligible: bool = Field(description="Whether the rep could take the lead")
    reason: str = Field(description="Why eligible or skipped (e.g. 'next in rotation')")


class RoutingTrace(BaseModel):
    """The decision trace: which rule matched, which strategy chose the rep and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: str = Field(description="Name of the routing rule that matched")
    queue: str = Field(description="Queue the rule sent the lead to")
    strategy: str = Field(description="Strategy that picked the rep, e.g. round_robin")
    candidates: list[CandidateTrace] = Field(description="Reps considered, in order")
    explanation: str = Field(description="One sentence a person can read")


class RepRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    rep_id: str = Field(description="Rep id from the config")
    name: str = Field(description="Rep display name")
    email: str | None = Field(None, description="Rep e-mail")


class LeadAssigned(Event):
    """A lead got an owner: a rep in a department/region queue."""

    TYPE: ClassVar[str] = "io.leadflow.lead.assigned.v1"
    TOPIC: ClassVar[str] = topics.LEAD_ASSIGNED

    lead_id: str = Field(description="Lead id (UUID)")
    assignment_id: str = Field(description="Assignment id (UUID)")
    queue: str = Field(description="Queue name, e.g. fashion-uk")
    rep: RepRef = Field(description="The rep who owns the lead now")
    lead: ContactSnapshot = Field(description="How to reach the lead")
    score: float = Field(description="Lead score at assignment")
    bucket: str = Field(description="Lead bucket at assignment")
    source: str = Field(description="Source the lead came from")
    captured_at: datetime = Field(description="When capture accepted the lead (UTC)")
    assigned_at: datetime = Field(description="When the router assigned it (UTC)")
    sla_due_at: datetime | None = Field(None, description="First-contact deadline (UTC)")
    trace: RoutingTrace = Field(description="Why this queue and this rep")


class LeadRoutedToNurture(Event):
    """A lead is not sales-ready; it goes to a nurture sequence instead of a rep."""

    TYPE: ClassVar[str] = "io.leadflow.lead.routed_to_nurture.v1"
    TOPIC: ClassVar[str] = topics.LEAD_ROUTED_TO_NURTURE

    lead_id: str = Field(description="Lead id (UUID)")
    bucket: str = Field(description="Bucket that sent it to nurture")
    score: float = Field(description="Lead score")
    routed_at: datetime = Field(description="When (UTC)")
    lead: LeadProfile = Field(description="The lead")
    reason: str = Field(description="Why it went to nurture")
