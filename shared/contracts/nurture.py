"""Events produced by the nurture service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts import topics
from shared.contracts.capture import ContactSnapshot
from shared.contracts.envelope import Event
from shared.contracts.router import RepRef


class NurtureStepDue(Event):
    """A touch in a nurture cadence is due now: send the e-mail, make the call..."""

    TYPE: ClassVar[str] = "io.leadflow.nurture.step_due.v1"
    TOPIC: ClassVar[str] = topics.NURTURE_STEP_DUE

    lead_id: str = Field(description="Lead id (UUID)")
    enrollment_id: str = Field(description="Enrollment id (UUID)")
    sequence: str = Field(description="Sequence name from the config")
    step: int = Field(description="1-based number of this touch")
    total_steps: int = Field(description="Touches in the sequence")
    mode: str = Field(description="call, email, sms or task")
    template: str | None = Field(None, description="Template or script name for this touch")
    due_at: datetime = Field(description="When the touch was due (UTC)")
    lead: ContactSnapshot = Field(description="How to reach the lead")


class NurtureStopped(Event):
    """A lead left its nurture sequence (it responded, was assigned, opted out, or finished)."""

    TYPE: ClassVar[str] = "io.leadflow.nurture.stopped.v1"
    TOPIC: ClassVar[str] = topics.NURTURE_STOPPED

    lead_id: str = Field(description="Lead id (UUID)")
    enrollment_id: str = Field(description="Enrollment id (UUID)")
    sequence: str = Field(description="Sequence name")
    reason: str = Field(
        description="Why: completed, assigned, manual: <text>, or <category>: <activity kind>"
        " such as 'responded: replied' or 'opted_out: unsubscribed'"
    )
    stopped_at: datetime = Field(description="When (UTC)")


class LeadFollowupDue(Event):
    """A follow-up touch the owning rep owes a lead is due now: make the call, send the
    e-mail, book the meeting. Emitted once per touch, inside the lead's contact hours."""

    TYPE: ClassVar[str] = "io.leadflow.lead.followup_due.v1"
    TOPIC: ClassVar[str] = topics.LEAD_FOLLOWUP_DUE

    lead_id: str = Field(description="Lead id (UUID)")
    plan_id: str = Field(description="Follow-up plan id (UUID); a new assignment keeps it")
    bucket: str = Field(description="The lead's bucket, which chose the plan")
    rep: RepRef = Field(description="The rep who owes the touch (the lead's current owner)")
    mode: str = Field(description="call, email, sms, meeting or task")
    step: int = Field(description="1-based number of this touch")
    of: int = Field(description="Touches in the plan (N)")
    due_at: datetime = Field(description="When the touch is due (UTC), in the lead's hours")
    lead: ContactSnapshot = Field(description="How to reach the lead")


class LeadFollowupClosed(Event):
    """A follow-up touch was settled for good: done in time, done late (after due + the
    plan's grace) or missed (not done when the next touch fell due, or the plan's last
    window ended). Emitted once per touch, when it is first settled; the rep who owed it
    is named, so the router's fairness ledger can count late and missed touches."""

    TYPE: ClassVar[str] = "io.leadflow.lead.followup_closed.v1"
    TOPIC: ClassVar[str] = topics.LEAD_FOLLOWUP_CLOSED

    lead_id: str = Field(description="Lead id (UUID)")
    plan_id: str = Field(description="Follow-up plan id (UUID)")
    bucket: str = Field(description="The lead's bucket, which chose the plan")
    rep_id: str = Field(description="The rep who owed the touch (its owner when it settled)")
    rep_name: str = Field(description="That rep's name")
    outcome: Literal["done", "late", "missed"] = Field(
        description="done: within the grace after due; late: after it; missed: never done"
    )
    mode: str = Field(description="call, email, sms, meeting or task")
    step: int = Field(description="1-based number of this touch")
    of: int = Field(description="Touches in the plan (N)")
    due_at: datetime = Field(description="When the touch was due (UTC)")
    done_at: datetime | None = Field(
        None, description="When the activity that completed it happened (None when missed)"
    )
    closes_at: datetime = Field(description="When it would count missed if not done (UTC)")
    closed_at: datetime = Field(description="When nurture settled it (UTC)")
