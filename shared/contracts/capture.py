"""Events produced by the capture service."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import topics
from shared.contracts.accounts import AccountKeys
from shared.contracts.envelope import Event


class DataQualityIssue(BaseModel):
    """A value capture could not clean: kept as sent instead of costing the lead."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str = Field(description="Lead field (or attributes path) the value was sent for")
    problem: str = Field(description="What is wrong with it, e.g. not a valid phone number")
    raw: Any = Field(None, description="The value as sent (text storage refuses repaired)")


class LeadProfile(BaseModel):
    """The lead as capture cleaned it: what scoring and routing decide on."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    email: str | None = Field(None, description="Lower-cased, trimmed e-mail address")
    phone: str | None = Field(None, description="E.164 phone number, e.g. +442071838750")
    first_name: str | None = Field(None, description="Given name")
    last_name: str | None = Field(None, description="Family name")
    company: str | None = Field(None, description="Company or organisation name")
    title: str | None = Field(None, description="Job title")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 country code")
    interest: str | None = Field(None, description="Product line or interest, lower case")
    industry: str | None = Field(None, description="Industry, lower case")
    company_size: int | None = Field(None, description="Number of employees")
    language: str | None = Field(None, description="Preferred language, ISO 639-1")
    source: str = Field(description="Name of the configured source the lead came from")
    channel: str | None = Field(None, description="Marketing channel (utm_medium or vendor)")
    campaign: str | None = Field(None, description="Campaign (utm_campaign)")
    utm: dict[str, str] = Field(
        default_factory=dict,
        description="The utm_* parameters without their prefix: source, medium, campaign,"
        " term, content (rules read them as utm.campaign)",
    )
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="Fields capture does not model, kept as sent (vendor ids, consent,"
        " the vendor's created time: see docs/vendors.md); integers beyond 2^53 as strings",
    )
    email_raw: str | None = Field(
        None, description="The e-mail as sent when it is not a valid address (email is empty)"
    )
    phone_raw: str | None = Field(
        None, description="The phone as sent when it does not validate (phone is empty)"
    )
    data_quality: list[DataQualityIssue] = Field(
        default_factory=list,
        description="Values that did not clean, kept raw instead of refusing the lead:"
        " [{field, problem, raw}]; empty when everything cleaned",
    )
    account: AccountKeys | None = Field(
        None,
        description="The account the lead belongs to (e-mail domain, company key), as capture"
        " recognises accounts; the router routes a known account's lead to its owner by it",
    )


class ContactSnapshot(BaseModel):
    """How a rep reaches the lead; carried on assignment and nurture events."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    first_name: str | None = Field(None, description="Given name")
    last_name: str | None = Field(None, description="Family name")
    email: str | None = Field(None, description="E-mail address")
    phone: str | None = Field(None, description="E.164 phone number")
    company: str | None = Field(None, description="Company name")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 country code")
    phone_raw: str | None = Field(
        None, description="The phone as the lead typed it, when it did not validate (try it)"
    )

    @classmethod
    def of(cls, profile: LeadProfile) -> ContactSnapshot:
        return cls(
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            phone=profile.phone,
            company=profile.company,
            country=profile.country,
            phone_raw=profile.phone_raw,
        )


class LeadCaptured(Event):
    """A new lead was accepted and stored by capture."""

    TYPE: ClassVar[str] = "io.leadflow.lead.captured.v1"
    TOPIC: ClassVar[str] = topics.LEAD_CAPTURED

    lead_id: str = Field(description="Lead id (UUID)")
    captured_at: datetime = Field(description="When capture accepted the lead (UTC)")
    lead: LeadProfile = Field(description="The cleaned lead")


class ActivityKind(StrEnum):
    CONTACTED = "contacted"
    REPLIED = "replied"
    MEETING_BOOKED = "meeting_booked"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    FORM_SUBMITTED = "form_submitted"
    PAGE_VISITED = "page_visited"
    WON = "won"
    LOST = "lost"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    # A rep's touch as sales tools report it (contacted + channel says the same): these
    # complete a follow-up touch of their mode (services/nurture/touch_modes.py).
    CALLED = "called"
    EMAILED = "emailed"
    SMS_SENT = "sms_sent"


class LeadActivityRecorded(Event):
    """Something happened to a lead: a rep contacted it, it replied, the deal was won..."""

    TYPE: ClassVar[str] = "io.leadflow.lead.activity.v1"
    TOPIC: ClassVar[str] = topics.LEAD_ACTIVITY

    lead_id: str = Field(description="Lead id (UUID)")
    activity_id: str = Field(description="Activity id (UUID)")
    kind: ActivityKind = Field(description="What happened")
    occurred_at: datetime = Field(description="When it happened (UTC)")
    recorded_at: datetime = Field(description="When capture stored it (UTC)")
    channel: str | None = Field(None, description="call, email, sms, ... where it applies")
    rep_id: str | None = Field(None, description="Rep who did it, for rep-initiated activities")
    amount: Decimal | None = Field(None, description="Deal value, for won")
    reason: str | None = Field(None, description="Why, for lost")
    details: dict[str, Any] = Field(default_factory=dict, description="Free-form details")


class FieldChange(BaseModel):
    """One field a merge changed: what it was, what it is now."""

    model_config = ConfigDict(frozen=True)

    field: str = Field(description="Lead field, e.g. title or attributes.budget")
    old: Any = Field(None, description="Value before the merge (null if it was empty)")
    new: Any = Field(None, description="Value after the merge")


class LeadUpdated(Event):
    """A submission matched an existing lead and was merged into it, changing some fields.

    First-touch attribution (source, channel, campaign, utm) is never overwritten; the
    submission's own source is carried here so later touches stay traceable.
    """

    TYPE: ClassVar[str] = "io.leadflow.lead.updated.v1"
    TOPIC: ClassVar[str] = topics.LEAD_UPDATED

    lead_id: str = Field(description="Lead id (UUID) the submission was merged into")
    merge_id: str = Field(description="Id of the merge record (GET /v1/leads/{id}/merges)")
    updated_at: datetime = Field(description="When capture merged it (UTC)")
    matched_by: str = Field(description="Which identity rule matched: email, phone, or a rule")
    submitted_source: str = Field(description="Source of the submission that was merged")
    changes: list[FieldChange] = Field(description="Every field the merge changed")
    lead: LeadProfile = Field(description="The lead after the merge")


class LeadErased(Event):
    """The person asked to be forgotten (GDPR art. 17): every service deletes what it holds
    about the lead and ignores later events for it. Carries no personal data."""

    TYPE: ClassVar[str] = "io.leadflow.lead.erased.v1"
    TOPIC: ClassVar[str] = topics.LEAD_ERASED

    lead_id: str = Field(description="Lead id (UUID) to forget")
    erased_at: datetime = Field(description="When capture erased it (UTC)")
    reason: str | None = Field(None, description="Why, as given by the requester")
