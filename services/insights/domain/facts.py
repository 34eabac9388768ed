"""A lead's fact row, folded from what the events said about it: a pure function of the
lead's observations, whatever order they arrived in.

Events reach insights from many topics, so a lead's assignment can be read before its
capture and an activity before both. The read model therefore stores each event as an
:class:`Observation` (no personal data: ids, names of queues and reps, times, amounts) and
recomputes the lead's :class:`LeadFact` from all of them after every batch, sorted by
time. A rebuild from the topics thus gives the same rows whatever the batching.

Funnel stages come from the router's ``lead.stage_changed`` when it announced any for the
lead (the router owns the lifecycle: it ignores a meeting reported after the loss, and counts
a skip such as mql -> opportunity as one move): a stage's time is the first move into it.
A lead the router announced nothing for (routed before it did, or never routed) keeps the
derived stages: MQL = first ``LeadQualified``; SQL = first rep contact activity
(:data:`CONTACT_KINDS`); opportunity = first ``meeting_booked``. Won / lost, with the amount
and the reason, are the latest outcome activity either way. A later stage implies the
earlier ones (a lead won without a recorded meeting passed the opportunity stage): see
:func:`reached`.

Late and missed follow-up touches come from nurture's ``lead.followup_closed`` when it
settled any for the lead (its plan's grace decides late, and it closes a touch missed when
the plan's window ends); otherwise they are derived (:mod:`.followups`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.insights.domain import followups

# Activities that are a rep reaching the lead: the first one is first contact (and SQL).
CONTACT_KINDS = frozenset({"contacted", "called", "emailed", "sms_sent"})
# Activities that are the lead answering.
RESPONSE_KINDS = frozenset({"replied", "meeting_booked"})
STAGES = ("lead", "mql", "sql", "opportunity", "won")


@dataclass(frozen=True)
class Observation:
    """One event about a lead, reduced to what the KPIs read."""

    kind: str  # captured, scored, qualified, assigned, activity, sla_breached, ...
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FactRules:
    """Tuning the fold reads: a follow-up touch later than this after it was due is late."""

    late_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class LeadFact:
    lead_id: str
    captured_at: datetime | None = None
    source: str | None = None
    channel: str | None = None
    campaign: str | None = None
    queue: str | None = None
    rep_id: str | None = None
    bucket: str | None = None
    assigned_at: datetime | None = None
    sla_due_at: datetime | None = None
    first_contact_at: datetime | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    opportunity_at: datetime | None = None
    won_at: datetime | None = None
    lost_at: datetime | None = None
    won_amount: Decimal | None = None
    lost_reason: str | None = None
    touches: int = 0
    touches_to_close: int | None = None
    responded: bool = False
    touches_unanswered: int | None = None  # touches after the last response; None: none yet
    late_touches: int = 0
    missed_touches: int = 0
    breaches: int = 0
    placement: str | None = None  # assigned, waiting, nurture, snoozed
    placement_queue: str | None = None
    nurture_active: bool = False
    sla_running: bool = False
    erased: bool = False


def reached(fact: LeadFact, stage: str) -> bool:
    """A lead reached a stage when it has that stage's time or any later stage's."""
    times = {
        "lead": fact.captured_at,
        "mql": fact.mql_at,
        "sql": fact.sql_at,
        "opportunity": fact.opportunity_at,
        "won": fact.won_at,
    }
    index = STAGES.index(stage)
    return any(times[s] is not None for s in STAGES[index:])


def _first(observations: Iterable[Observation], kind: str) -> Observation | None:
    return next((o for o in observations if o.kind == kind), None)


def _activities(observations: list[Observation]) -> list[Observation]:
    """Activities once each (a sales tool's retry or a republish repeats none)."""
    seen: set[str] = set()
    out: list[Observation] = []
    for o in observations:
        if o.kind != "activity":
            continue
        key = str(o.data.get("activity_id") or id(o))
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def derive_fact(
    lead_id: str, observations: Iterable[Observation], rules: FactRules = FactRules()
) -> LeadFact:
    """The lead's fact row from everything observed about it (order of arrival ignored)."""
    obs = sorted(observations, key=_order)
    captured = _first(obs, "captured")
    scored = _first(obs, "scored")
    attribution = captured or scored
    activities = _activities(obs)
    acts = [(a.data.get("activity"), a) for a in activities]
    contacts = [a for k, a in acts if k in CONTACT_KINDS]
    meetings = [a for k, a in acts if k == "meeting_booked"]
    outcomes = [a for k, a in acts if k in ("won", "lost")]
    outcome = outcomes[-1] if outcomes else None
    won = outcome if outcome is not None and outcome.data.get("activity") == "won" else None
    lost = outcome if outcome is not None and won is None else None
    assignments = [o for o in obs if o.kind == "assigned"]
    current = assignments[-1] if assignments else None
    first_contact = contacts[0].at if contacts else None
    qualified = _first(obs, "qualified")
    responded_at = [a.at for k, a in acts if k in RESPONSE_KINDS]
    late, missed = followups.settled(obs) or followups.lateness(
        [o.at for o in obs if o.kind == "followup_due"],
        [a.at for a in contacts],
        closed=outcome is not None or any(o.kind == "gone_cold" for o in obs),
        late_after=rules.late_after,
    )
    announced = stage_times(obs)
    placement, placement_queue = _placement(obs)
    captured_at = _captured_at(captured, scored, assignments)
    return LeadFact(
        lead_id=lead_id,
        captured_at=captured_at,
        source=_text(attribution, "source") or _text(current, "source"),
        channel=_text(attribution, "channel"),
        campaign=_text(attribution, "campaign"),
        queue=_text(current, "queue"),
        rep_id=_text(current, "rep_id"),
        bucket=_bucket(obs),
        assigned_at=assignments[0].at if assignments else None,
        sla_due_at=_due(assignments[0]) if assignments else None,
        first_contact_at=first_contact,
        mql_at=announced.get("mql") if announced else qualified.at if qualified else None,
        sql_at=announced.get("sql") if announced else first_contact,
        opportunity_at=announced.get("opportunity") if announced else _at(meetings),
        won_at=won.at if won else None,
        lost_at=lost.at if lost else None,
        won_amount=Decimal(str(won.data["amount"])) if won and won.data.get("amount") else None,
        lost_reason=_text(lost, "reason"),
        touches=len(contacts),
        touches_to_close=len([c for c in contacts if c.at <= won.at]) if won else None,
        responded=any(first_contact is not None and at >= first_contact for at in responded_at),
        touches_unanswered=unanswered(first_contact, responded_at, [c.at for c in contacts]),
        late_touches=late,
        missed_touches=missed,
        breaches=sum(1 for o in obs if o.kind == "sla_breached"),
        placement=placement,
        placement_queue=placement_queue,
        nurture_active=_nurture_active(obs),
        sla_running=_sla_running(current, contacts, outcome, obs),
    )


def unanswered(
    first_contact: datetime | None, responses: list[datetime], touches: list[datetime]
) -> int | None:
    """How many rep touches came after the lead's last response (a reply or a meeting at or
    after first contact); None when it never responded. "Stopped responding" compares this
    with ``insights.stopped_responding_after`` at query time, so changing that setting needs
    no refold."""
    answered = [at for at in responses if first_contact is not None and at >= first_contact]
    if not answered:
        return None
    last = max(answered)
    return sum(1 for at in touches if at > last)


def _at(observed: list[Observation]) -> datetime | None:
    return observed[0].at if observed else None


def stage_times(obs: list[Observation]) -> dict[str, datetime]:
    """When the router says the lead first moved into each stage (empty: it said nothing).
    Moves are time-ordered already; a stage re-entered (a lost lead placed again at mql)
    keeps its first time."""
    times: dict[str, datetime] = {}
    for o in obs:
        if o.kind == "stage_changed":
            times.setdefault(str(o.data.get("to_stage")), o.at)
    return times


def _order(o: Observation) -> tuple[datetime, str, str]:
    """Time first; events at the same moment in one fixed order whatever order they were
    stored or loaded in (a rebuild must fold them the same way)."""
    return o.at, o.kind, json.dumps(dict(o.data), sort_keys=True, default=str)


def _text(o: Observation | None, key: str) -> str | None:
    if o is None:
        return None
    value = o.data.get(key)
    return str(value) if value not in (None, "") else None


def _due(o: Observation) -> datetime | None:
    value = o.data.get("sla_due_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _captured_at(
    captured: Observation | None, scored: Observation | None, assignments: list[Observation]
) -> datetime | None:
    """Capture's own time; failing that, the time the scorer or router carried."""
    if captured is not None:
        return captured.at
    for o in (scored, *assignments):
        value = o.data.get("captured_at") if o is not None else None
        if isinstance(value, str):
            return datetime.fromisoformat(value)
    return None


def _bucket(obs: list[Observation]) -> str | None:
    """The latest bucket any event stated (score, bucket change, assignment, nurture)."""
    bucket = None
    for o in obs:
        if o.kind in ("scored", "bucket_changed", "assigned", "routed_to_nurture"):
            bucket = _text(o, "bucket") or bucket
    return bucket


def _placement(obs: list[Observation]) -> tuple[str | None, str | None]:
    """Where the lead is now, by the latest event that placed it."""
    where: tuple[str | None, str | None] = (None, None)
    for o in obs:
        if o.kind == "assigned":
            where = ("assigned", _text(o, "queue"))
        elif o.kind == "routed_to_nurture":
            where = ("nurture", None)
        elif o.kind == "recycled":
            where = (_text(o, "to"), _text(o, "queue"))
    return where


def _nurture_active(obs: list[Observation]) -> bool:
    """Enrolled in nurture (routed there, or a step came due) and not stopped since."""
    active = False
    for o in obs:
        if o.kind in ("routed_to_nurture", "nurture_step_due"):
            active = True
        elif o.kind in ("nurture_stopped", "assigned"):
            active = False
    return active


def _sla_running(
    current: Observation | None,
    contacts: list[Observation],
    outcome: Observation | None,
    obs: list[Observation],
) -> bool:
    """The current assignment has a first-contact deadline and nothing stopped its clock:
    no contact since it was made, no outcome, no breach kept it with the rep for good, and
    the lead was not moved away since."""
    if current is None or _due(current) is None or outcome is not None:
        return False
    if any(c.at >= current.at for c in contacts):
        return False
    later = [o for o in obs if o.at >= current.at and o is not current]
    if any(o.kind == "sla_breached" and o.data.get("action") == "kept" for o in later):
        return False
    return not any(o.kind in ("recycled", "routed_to_nurture") for o in later)
