"""A generated history of leads over weeks, on fixed timestamps, as the producing services
would have announced it — and the truth about each lead, for an independent oracle
(:mod:`tests.support.insights_oracle`) to compute the KPIs from.

Deterministic for a seed. Each lead is captured, most are scored; hot and warm ones are
qualified and assigned (a few wait in a queue instead), cold ones go to nurture. Reps
contact most assigned leads (some after the first-contact deadline, which the router
breaches), leads reply, meetings are booked, deals are won with amounts or lost with
reasons, follow-ups come due and are done on time, late, or never.

Two of every three leads are *announced* (their index is not a multiple of 3): the router
emits ``LeadStageChanged`` for each of their lifecycle moves and nurture
``LeadFollowupClosed`` for each follow-up touch it settles, as those services do now; the
rest were routed before they did, so insights must derive stages and lateness itself. The
two disagree where the real services do: the router ignores a meeting reported after the
loss, and nurture's grace (:data:`NURTURE_GRACE`) is not insights' ``followup_late_after``,
and it closes an undone touch missed when the plan's window ends, whatever the outcome.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.contracts import (
    ActivityKind,
    CandidateTrace,
    ContactSnapshot,
    LeadActivityRecorded,
    LeadAssigned,
    LeadCaptured,
    LeadFollowupClosed,
    LeadFollowupDue,
    LeadProfile,
    LeadQualified,
    LeadRecycled,
    LeadRoutedToNurture,
    LeadScored,
    LeadSlaBreached,
    LeadStageChanged,
    LifecycleStage,
    NurtureStepDue,
    NurtureStopped,
    RecycleCause,
    RepRef,
    RoutingTrace,
    ScoreContribution,
    SlaAction,
)
from shared.contracts.envelope import Event
from shared.contracts.router import ManagerRef, TeamRef

START = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # a Monday
DAYS = 28
QUEUES = {"uk": ("ana", "ben"), "us": ("cy", "dee", "eve")}
TEAMS = {"ana": "uk", "ben": "uk", "cy": "us", "dee": "us"}  # eve is in no team
MULTIPLIERS = {"ana": 1.25, "ben": 0.8}  # the fairness ledger's, as assignment traces show them
WEIGHTS = {"ana": 2, "ben": 1, "cy": 1, "dee": 3, "eve": 1}  # the routing config's rep weights
CHANNELS = ("cpc", "email", "social", None)
CAMPAIGNS = ("spring", "autumn", None)
SOURCES = ("web", "meta")
REASONS = ("budget", "timing", "competitor")
SLA = timedelta(minutes=30)
REASONS_SCORED = [
    ScoreContribution(rule="visited_pricing", group="engagement", points=30),
    ScoreContribution(rule="company_size_50_plus", group="fit", points=40),
]
LATE_AFTER = timedelta(hours=24)
NURTURE_GRACE = timedelta(hours=48)  # the follow-up plan's grace: done later than this is late
NURTURE_WINDOW = timedelta(days=3)  # an undone touch is closed missed this long after due


@dataclass
class Truth:
    """What really happened to one lead (the oracle's input)."""

    lead_id: str
    email: str
    first_name: str
    captured_at: datetime
    source: str
    channel: str | None
    campaign: str | None
    bucket: str | None = None
    qualified_at: datetime | None = None
    queue: str | None = None
    rep: str | None = None
    assigned_at: datetime | None = None
    sla_due_at: datetime | None = None
    touches: list[datetime] = field(default_factory=list)
    replied_at: datetime | None = None
    meeting_at: datetime | None = None
    won_at: datetime | None = None
    amount: Decimal | None = None
    lost_at: datetime | None = None
    reason: str | None = None
    breached: bool = False
    followup_due_at: datetime | None = None
    waiting_queue: str | None = None
    nurture_active: bool = False
    announced: bool = False  # the router announces its stages, nurture its closed touches
    # The assignment's pool: every member of the queue (rep, eligible, weight, multiplier).
    pool: list[tuple[str, bool, int, float | None]] = field(default_factory=list)


def _rep(rep_id: str) -> RepRef:
    return RepRef(rep_id=rep_id, name=rep_id.title())


def _team(rep_id: str) -> TeamRef | None:
    team = TEAMS.get(rep_id)
    manager = ManagerRef(name=f"{team} boss", email=f"{team}-boss@example.com")
    return TeamRef(name=team, manager=manager) if team else None


def _activity(t: Truth, kind: str, at: datetime, **kw: object) -> LeadActivityRecorded:
    return LeadActivityRecorded(
        lead_id=t.lead_id, activity_id=str(uuid.uuid4()), kind=ActivityKind(kind),
        occurred_at=at, recorded_at=at, rep_id=t.rep, **kw,
    )  # fmt: skip


def generate(n: int, seed: int = 15) -> tuple[list[Truth], list[Event]]:
    """``n`` leads over :data:`DAYS` days: their truths and every event announcing them."""
    rng = random.Random(seed)
    truths: list[Truth] = []
    events: list[Event] = []
    for i in range(n):
        captured = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60), seconds=i % 60)
        t = Truth(
            lead_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            email=f"person{i}.erasable@example.org", first_name=f"Zebedee{i}x",
            captured_at=captured, source=rng.choice(SOURCES), channel=rng.choice(CHANNELS),
            campaign=rng.choice(CAMPAIGNS), announced=i % 3 != 0,
        )  # fmt: skip
        truths.append(t)
        profile = LeadProfile(
            email=t.email, first_name=t.first_name, source=t.source, channel=t.channel,
            utm={"campaign": t.campaign} if t.campaign else {},
        )  # fmt: skip
        events.append(LeadCaptured(lead_id=t.lead_id, captured_at=captured, lead=profile))
        if rng.random() < 0.1:
            continue  # never scored (yet)
        t.bucket = rng.choice(("hot", "warm", "warm", "cold"))
        scored_at = captured + timedelta(seconds=1)
        events.append(LeadScored(
            lead_id=t.lead_id, score=70, fit=40, engagement=30, bucket=t.bucket,
            qualified=t.bucket != "cold", model_version="t", contributions=REASONS_SCORED,
            scored_at=scored_at, captured_at=captured, lead=profile,
        ))  # fmt: skip
        if t.bucket == "cold":
            t.nurture_active = True
            events.append(LeadRoutedToNurture(
                lead_id=t.lead_id, bucket="cold", score=20, routed_at=scored_at, lead=profile,
                reason="cold",
            ))  # fmt: skip
            if rng.random() < 0.5:
                events.append(_step(t, scored_at + timedelta(days=1)))
            if rng.random() < 0.3:
                t.nurture_active = False
                events.append(NurtureStopped(
                    lead_id=t.lead_id, enrollment_id=str(uuid.uuid4()), sequence="cold",
                    reason="manual: Zebedee asked", stopped_at=scored_at + timedelta(days=2),
                ))  # fmt: skip
            continue
        t.qualified_at = scored_at
        events.append(LeadQualified(lead_id=t.lead_id, score=70, bucket=t.bucket, threshold=60,
                                    qualified_at=scored_at))  # fmt: skip
        if t.announced:
            events.append(_moved(t, "captured", "mql", "qualified", scored_at))
        queue = rng.choice(tuple(QUEUES))
        if rng.random() < 0.06:
            t.waiting_queue = queue
            events.append(LeadRecycled(
                lead_id=t.lead_id, cause=RecycleCause.GONE_COLD, to="waiting", queue=queue,
                recycled_at=scored_at + timedelta(seconds=1), explanation="nobody free",
            ))  # fmt: skip
            continue
        _assign(rng, t, queue, scored_at, profile, events)
    return truths, events


def _step(t: Truth, due: datetime) -> NurtureStepDue:
    return NurtureStepDue(
        lead_id=t.lead_id, enrollment_id=str(uuid.uuid4()), sequence="cold", step=1,
        total_steps=3, mode="email", due_at=due, lead=ContactSnapshot(email=t.email),
    )  # fmt: skip


def _assign(
    rng: random.Random, t: Truth, queue: str, scored_at: datetime, profile: LeadProfile,
    events: list[Event],
) -> None:  # fmt: skip
    t.queue, t.rep = queue, rng.choice(QUEUES[queue])
    t.assigned_at = scored_at + timedelta(seconds=rng.randint(1, 300))
    t.sla_due_at = t.assigned_at + SLA
    contact = ContactSnapshot.of(profile)
    chosen = CandidateTrace(rep_id=t.rep, eligible=True, reason="next in rotation",
                            multiplier=MULTIPLIERS.get(t.rep), weight=WEIGHTS[t.rep])  # fmt: skip
    t.pool = _pool(t, queue)
    pool = [CandidateTrace(rep_id=r, eligible=e, reason="r", weight=w, multiplier=m)
            for r, e, w, m in t.pool]  # fmt: skip
    trace = RoutingTrace(rule="r", queue=queue, strategy="weighted_round_robin",
                         candidates=[chosen], explanation="next in rotation",
                         pool=pool)  # fmt: skip
    events.append(LeadAssigned(
        lead_id=t.lead_id, assignment_id=str(uuid.uuid4()), queue=queue, rep=_rep(t.rep),
        lead=contact, score=70, bucket=t.bucket or "warm", source=t.source,
        captured_at=t.captured_at, assigned_at=t.assigned_at, sla_due_at=t.sla_due_at,
        trace=trace, team=_team(t.rep),
    ))  # fmt: skip
    roll = rng.random()
    if roll < 0.08:
        return  # nobody touched it, and its clock is still running
    if roll < 0.2:
        _breach(t, events)
        return
    first = t.assigned_at + timedelta(seconds=rng.choice((60, 240, 900, 2400, 5400, 20000)))
    if first > t.sla_due_at:
        _breach(t, events)
    t.touches = [first] + [first + timedelta(hours=rng.randint(2, 200)) for _ in
                           range(rng.randint(0, 3))]  # fmt: skip
    for at in t.touches:
        events.append(_activity(t, rng.choice(("called", "emailed", "sms_sent", "contacted")), at))
    if rng.random() < 0.5:
        t.replied_at = first + timedelta(minutes=rng.randint(5, 3000))
        events.append(_activity(t, "replied", t.replied_at))
    if rng.random() < 0.4:
        t.meeting_at = first + timedelta(hours=rng.randint(1, 100))
        events.append(_activity(t, "meeting_booked", t.meeting_at))
    outcome_at = first + timedelta(hours=rng.randint(50, 400))
    if t.meeting_at is not None and rng.random() < 0.6:
        t.won_at = outcome_at
        t.amount = Decimal(f"{rng.randint(100, 9000)}.{rng.randint(0, 99):02d}")
        events.append(_activity(t, "won", outcome_at, amount=t.amount))
    elif rng.random() < 0.4:
        t.lost_at, t.reason = outcome_at, rng.choice(REASONS)
        events.append(_activity(t, "lost", outcome_at, reason=t.reason))
    if rng.random() < 0.4:
        t.followup_due_at = first + timedelta(days=1)
        events.append(LeadFollowupDue(
            lead_id=t.lead_id, plan_id=str(uuid.uuid4()), bucket=t.bucket or "warm",
            rep=_rep(t.rep), mode="call", step=2, of=3, due_at=t.followup_due_at,
            lead=ContactSnapshot(email=t.email),
        ))  # fmt: skip
        choice = rng.random()
        if choice < 0.6:  # done: on time or late
            done = t.followup_due_at + timedelta(hours=rng.choice((1, 5, 30, 60)))
            t.touches.append(done)
            events.append(_activity(t, "called", done))
        if t.announced:
            events.append(_closed(t, t.followup_due_at))
    if t.announced:
        events.extend(_stage_moves(t))


def _pool(t: Truth, queue: str) -> list[tuple[str, bool, int, float | None]]:
    """Every member of the queue at the decision: the picked rep, and the others eligible
    except one lead in three, whose first other member is away (from the lead id, so the
    history's random draws stay as they were)."""
    away = int(t.lead_id[-4:], 16) % 3 == 0
    others = [r for r in QUEUES[queue] if r != t.rep]
    pool = []
    for rep in QUEUES[queue]:
        eligible = rep == t.rep or not (away and rep == others[0])
        pool.append((rep, eligible, WEIGHTS[rep], MULTIPLIERS.get(rep) if eligible else None))
    return pool


def _moved(t: Truth, frm: str, to: str, cause: str, at: datetime) -> LeadStageChanged:
    return LeadStageChanged(
        lead_id=t.lead_id, from_stage=LifecycleStage(frm), to_stage=LifecycleStage(to),
        changed_at=at, rep_id=t.rep, queue=t.queue, cause=cause,
    )  # fmt: skip


def opportunity_at(t: Truth) -> datetime | None:
    """When the router moved the lead to opportunity: its meeting, unless the lead was won
    or lost before it (both are final: a meeting reported later moves nothing)."""
    outcome = t.won_at or t.lost_at
    if t.meeting_at is None or (outcome is not None and outcome < t.meeting_at):
        return None
    return t.meeting_at


def _stage_moves(t: Truth) -> list[LeadStageChanged]:
    """The router's moves after mql, as its lifecycle rules make them (first touch: sql;
    meeting: opportunity; outcome: won or lost; forward only)."""
    moves: list[tuple[str, str, datetime]] = []
    if t.touches:
        moves.append(("sql", "contacted", min(t.touches)))
    if (meeting := opportunity_at(t)) is not None:
        moves.append(("opportunity", "meeting_booked", meeting))
    if t.won_at is not None:
        moves.append(("won", "won", t.won_at))
    elif t.lost_at is not None:
        moves.append(("lost", "lost", t.lost_at))
    out, stage = [], "mql"
    for to, cause, at in sorted(moves, key=lambda m: m[2]):
        out.append(_moved(t, stage, to, cause, at))
        stage = to
    return out


def settled_touch(t: Truth) -> tuple[str, datetime | None]:
    """How nurture settles the lead's follow-up touch: the first rep touch at or after due
    completes it (late beyond :data:`NURTURE_GRACE`); none: missed."""
    assert t.followup_due_at is not None
    done = min((x for x in t.touches if x >= t.followup_due_at), default=None)
    if done is None:
        return "missed", None
    return ("late" if done - t.followup_due_at > NURTURE_GRACE else "done"), done


def _closed(t: Truth, due: datetime) -> LeadFollowupClosed:
    assert t.rep is not None
    outcome, done = settled_touch(t)
    closes = due + NURTURE_WINDOW
    return LeadFollowupClosed(
        lead_id=t.lead_id, plan_id=str(uuid.uuid5(uuid.NAMESPACE_URL, t.lead_id)),
        bucket=t.bucket or "warm", rep_id=t.rep, rep_name=t.rep.title(), outcome=outcome,
        mode="call", step=2, of=3, due_at=due, done_at=done, closes_at=closes,
        closed_at=done or closes,
    )  # fmt: skip


def _breach(t: Truth, events: list[Event]) -> None:
    assert t.rep and t.queue and t.assigned_at and t.sla_due_at
    t.breached = True
    events.append(LeadSlaBreached(
        lead_id=t.lead_id, assignment_id=str(uuid.uuid4()), queue=t.queue, rep=_rep(t.rep),
        lead=ContactSnapshot(email=t.email), bucket=t.bucket or "warm", attempt=1,
        max_attempts=1, assigned_at=t.assigned_at, due_at=t.sla_due_at,
        breached_at=t.sla_due_at + timedelta(seconds=1), business_hours=False,
        action=SlaAction.KEPT, reason="kept", team=_team(t.rep),
    ))  # fmt: skip
