"""Events produced by the router service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

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
    multiplier: float | None = Field(
        None,
        description="The rep's fairness multiplier the strategy applied to their share"
        " (weighted_round_robin: weight x multiplier; least_loaded: load / multiplier);"
        " null when none was applied (1, or a strategy that ignores it)",
    )
    weight: int | None = Field(
        None,
        description="The rep's configured weight (routing reps[].weight) at the decision;"
        " null in traces made before the router recorded it",
    )


class RoutingTrace(BaseModel):
    """The decision trace: which rule matched, which strategy chose the rep and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: str = Field(description="Name of the routing rule that matched")
    queue: str = Field(description="Queue the rule sent the lead to")
    strategy: str = Field(
        description="What picked the rep: the queue's strategy (e.g. round_robin), or"
        " owner_match when the account's existing owner took the lead"
    )
    candidates: list[CandidateTrace] = Field(description="Reps considered, in order")
    explanation: str = Field(description="One sentence a person can read")
    account: str | None = Field(
        None,
        description="The account (company e-mail domain or normalised company name) whose"
        " existing owner was asked first; strategy is owner_match when that owner took it",
    )
    config_version: int | None = Field(
        None,
        description="Version of the routing config the decision was made with"
        " (GET /v1/admin/config/versions/{version} on the router)",
    )
    pool: list[CandidateTrace] | None = Field(
        None,
        description="Every member of the queue that took the lead, in the queue's order, and"
        " whether each could have taken it at that moment, with their weight and the"
        " multiplier their share got: what distribution fairness is measured against"
        " (candidates stop at the pick). Null when no share strategy picked the rep (the"
        " account's owner took it) or in traces made before the router recorded it",
    )


class RepRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    rep_id: str = Field(description="Rep id from the config")
    name: str = Field(description="Rep display name")
    email: str | None = Field(None, description="Rep e-mail")
    timezone: str | None = Field(
        None, description="Rep's IANA time zone, as the routing config says now"
    )


class ManagerRef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(description="Manager display name")
    email: str = Field(description="Manager e-mail")
    slack_user_id: str | None = Field(None, description="Manager's Slack member id")
    rep_id: str | None = Field(
        None,
        description="The rep id the manager takes leads as (an SLA escalation to the owner's"
        " manager assigns the lead to it); absent: the manager takes no leads",
    )


class TeamRef(BaseModel):
    """The team a rep belongs to (routing.teams) and the manager they answer to."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(description="Team name from the config")
    manager: ManagerRef = Field(description="Who the team's reps answer to")


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
    reassigned: bool = Field(
        False,
        description="True when the lead was taken from a rep who missed the first-contact SLA",
    )
    attempt: int = Field(
        1, ge=1, description="Which rep this is for the lead: 1 for the first assignment"
    )
    previous_rep: RepRef | None = Field(
        None, description="On a reassignment: the rep the lead was taken from"
    )
    escalated: bool = Field(
        False,
        description="True when this is the SLA escalation (pool queue or named rep) after the"
        " queue's last attempt",
    )
    team: TeamRef | None = Field(
        None,
        description="The owner's team and manager as the routing config says now (absent: the"
        " rep is in no team); receivers reach the manager from it",
    )


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
    recycled: Literal["gone_cold", "lost", "disqualified"] | None = Field(
        None,
        description="Why the router recycled it to nurture (routing.recycling: gone cold,"
        " lost after the cool-off, disqualified); None for a lead routed to nurture by its"
        " bucket. Nurture picks the sequence listing this cause, else the bucket's",
    )


class SlaAction(StrEnum):
    """What the router did about a breached first-contact SLA."""

    REASSIGNED = "reassigned"  # another rep of the queue has it (a LeadAssigned follows)
    ESCALATED = "escalated"  # the pool queue or named rep has it (a LeadAssigned follows)
    RETRYING = "retrying"  # nobody can take it now: it stays, and is offered again shortly
    KEPT = "kept"  # it stays with the rep for good (attempts used, no escalation left)


class LeadSlaEvent(Event):
    """What both first-contact SLA events say about the clock: the lead, its assignment and
    rep, the attempt and the deadline. Not an event itself (no ``TYPE``): LeadSlaWarning and
    LeadSlaBreached extend it, and LeadSlaBreached restates a few fields only to word their
    descriptions for a deadline that passed (the wire schemas are unchanged)."""

    lead_id: str = Field(description="Lead id (UUID)")
    assignment_id: str = Field(description="The assignment whose deadline is close (UUID)")
    queue: str = Field(description="Queue whose SLA applies")
    rep: RepRef = Field(description="The rep who has the lead and has not contacted it")
    lead: ContactSnapshot = Field(description="How to reach the lead")
    bucket: str = Field(description="Lead bucket, which can set its own first-contact time")
    attempt: int = Field(ge=1, description="Which rep this is for the lead: 1 for the first")
    max_attempts: int = Field(ge=1, description="Reps the queue gives a try before escalating")
    assigned_at: datetime = Field(description="When this rep got the lead (UTC)")
    due_at: datetime = Field(description="First-contact deadline (UTC)")
    team: TeamRef | None = Field(
        None,
        description="The rep's team and manager (routing.teams), so the manager can be"
        " alerted; absent when the rep is in no team",
    )


class LeadSlaWarning(LeadSlaEvent):
    """A lead's first-contact deadline is close and its rep has not reached it yet."""

    TYPE: ClassVar[str] = "io.leadflow.lead.sla_warning.v1"
    TOPIC: ClassVar[str] = topics.LEAD_SLA_WARNING

    warned_at: datetime = Field(description="When the warning was raised (UTC)")
    business_hours: bool = Field(description="Whether the clock runs in working hours only")


class LeadSlaBreached(LeadSlaEvent):
    """A rep did not contact a lead by its first-contact deadline; says what happens next."""

    TYPE: ClassVar[str] = "io.leadflow.lead.sla_breached.v1"
    TOPIC: ClassVar[str] = topics.LEAD_SLA_BREACHED

    assignment_id: str = Field(description="The assignment that missed its deadline (UUID)")
    rep: RepRef = Field(description="The rep who missed the deadline")
    attempt: int = Field(ge=1, description="Which rep this was for the lead: 1 for the first")
    due_at: datetime = Field(description="First-contact deadline that passed (UTC)")
    breached_at: datetime = Field(description="When the router noticed the breach (UTC)")
    business_hours: bool = Field(description="Whether the clock ran in working hours only")
    action: SlaAction = Field(
        description="reassigned, escalated (a LeadAssigned with reassigned=true follows),"
        " retrying (nobody can take it now; offered again shortly) or kept (stays for good)"
    )
    next_rep: RepRef | None = Field(None, description="Who has the lead now, when it moved")
    reason: str = Field(description="One sentence a person can read")


class ColdReason(StrEnum):
    """Why an assigned lead went cold."""

    NO_TOUCH = "no_touch"  # nobody touched it (nor did it reply) for its bucket's time
    NO_REPLY = "no_reply"  # it did not reply after the configured number of touches


class LeadGoneCold(Event):
    """An assigned lead went cold: announced once, and again only after it warmed up (a
    touch, a reply or a new assignment)."""

    TYPE: ClassVar[str] = "io.leadflow.lead.gone_cold.v1"
    TOPIC: ClassVar[str] = topics.LEAD_GONE_COLD

    lead_id: str = Field(description="Lead id (UUID)")
    assignment_id: str = Field(description="The assignment that went cold (UUID)")
    queue: str | None = Field(None, description="Queue the lead is in")
    rep: RepRef = Field(description="The rep who owns the lead")
    lead: ContactSnapshot = Field(description="How to reach the lead")
    bucket: str = Field(description="Lead bucket, which sets how long it may stay quiet")
    reason: ColdReason = Field(description="no_touch or no_reply")
    since: datetime = Field(
        description="Quiet since (UTC): the last touch, reply or assignment for no_touch; the"
        " last reply or the assignment for no_reply"
    )
    touches: int = Field(ge=0, description="Touches since the last reply or the assignment")
    gone_cold_at: datetime = Field(description="When the router noticed (UTC)")
    explanation: str = Field(description="One sentence a person can read")
    recycling: str | None = Field(
        None,
        description="What happens next per routing.recycling (e.g. 'queue general-global'"
        "), absent: the lead stays with its rep",
    )


class RecycleCause(StrEnum):
    """Why a lead left its place."""

    GONE_COLD = "gone_cold"  # routing.recycling.gone_cold
    LOST = "lost"  # routing.recycling.lost (or the lost reason's own policy)
    DISQUALIFIED = "disqualified"  # routing.recycling.disqualified: its score fell back
    SNOOZED = "snoozed"  # parked until a date (POST /v1/leads/{id}:snooze)
    SNOOZE_ENDED = "snooze_ended"  # the snooze is over: routed again


class LeadRecycled(Event):
    """A lead moved because it went cold, was lost or disqualified, was snoozed or its snooze
    ended. Its new
    place is announced as usual too: a LeadAssigned, a LeadRoutedToNurture, or nothing while
    it waits or sleeps."""

    TYPE: ClassVar[str] = "io.leadflow.lead.recycled.v1"
    TOPIC: ClassVar[str] = topics.LEAD_RECYCLED

    lead_id: str = Field(description="Lead id (UUID)")
    cause: RecycleCause = Field(
        description="gone_cold, lost, disqualified, snoozed or snooze_ended"
    )
    to: str = Field(
        description="Where it went: assigned (a rep of a queue), waiting (in a queue, nobody"
        " free), nurture, or snoozed"
    )
    queue: str | None = Field(None, description="Queue it went to, for assigned and waiting")
    rep: RepRef | None = Field(None, description="Its new rep, for assigned")
    previous_rep: RepRef | None = Field(
        None, description="Who had it; their open-lead count dropped when it was still open"
    )
    until: datetime | None = Field(None, description="For snoozed: when it comes back (UTC)")
    reason: str | None = Field(None, description="The lost reason, or the snooze's reason as given")
    recycled_at: datetime = Field(description="When (UTC)")
    explanation: str = Field(description="One sentence a person can read")


class LifecycleStage(StrEnum):
    """Where a lead is in the funnel; stages only move forward (won and lost are final, but
    a lost lead the router recycles re-enters at mql)."""

    CAPTURED = "captured"  # capture accepted it (lead.captured); the router's starting point
    MQL = "mql"  # marketing-qualified: scored at or above the threshold
    SQL = "sql"  # sales-accepted: a rep reached it (contacted, called, emailed, ...)
    OPPORTUNITY = "opportunity"  # a meeting was booked
    WON = "won"
    LOST = "lost"


class LeadStageChanged(Event):
    """A lead moved forward in its lifecycle (captured -> mql -> sql -> opportunity -> won |
    lost), one event per move, skipped stages included in one move (a meeting booked on an
    MQL is one mql -> opportunity). ``changed_at`` is when the causing fact happened, so
    funnels measure the lead's time, not the router's."""

    TYPE: ClassVar[str] = "io.leadflow.lead.stage_changed.v1"
    TOPIC: ClassVar[str] = topics.LEAD_STAGE_CHANGED

    lead_id: str = Field(description="Lead id (UUID)")
    from_stage: LifecycleStage = Field(description="The stage the lead left")
    to_stage: LifecycleStage = Field(description="The stage the lead is in now")
    changed_at: datetime = Field(
        description="When the causing fact happened (UTC): the activity's occurred_at, the"
        " score's scored_at, or the recycle's time"
    )
    rep_id: str | None = Field(
        None, description="The rep who owned the lead then; absent when nobody did"
    )
    queue: str | None = Field(None, description="The lead's queue then; absent in nurture")
    cause: str = Field(
        description="What moved it: qualified, contacted, called, emailed, sms_sent, replied,"
        " meeting_booked, won, lost, or recycled / snooze_ended / routed (a lost lead placed"
        " again)"
    )
