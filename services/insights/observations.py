"""Each consumed event, reduced to an :class:`~services.insights.domain.facts.Observation`:
the time it states and the few fields the KPIs read. No personal data is kept: no e-mail,
phone or name of the lead (the profile and contact snapshot are left behind), no details.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.insights.domain.facts import Observation
from shared.contracts import (
    LeadActivityRecorded,
    LeadAssigned,
    LeadBucketChanged,
    LeadCaptured,
    LeadDisqualified,
    LeadFollowupClosed,
    LeadFollowupDue,
    LeadGoneCold,
    LeadQualified,
    LeadRecycled,
    LeadRoutedToNurture,
    LeadScored,
    LeadSlaBreached,
    LeadSlaWarning,
    LeadStageChanged,
    NotificationDelivered,
    NurtureStepDue,
    NurtureStopped,
    SubscriptionDisabled,
)
from shared.contracts.envelope import Event


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat() if moment is not None else None


def _attribution(
    source: str, channel: str | None, campaign: str | None, utm: dict[str, str]
) -> dict[str, Any]:
    return {"source": source, "channel": channel or utm.get("medium"),
            "campaign": campaign or utm.get("campaign")}  # fmt: skip


def captured(e: LeadCaptured) -> Observation:
    p = e.lead
    return Observation(
        "captured", utc(e.captured_at), _attribution(p.source, p.channel, p.campaign, p.utm)
    )


def scored(e: LeadScored) -> Observation:
    p = e.lead
    data = _attribution(p.source, p.channel, p.campaign, p.utm)
    data.update(bucket=e.bucket, captured_at=_iso(e.captured_at), score=e.score,
                reasons=_reasons(e))  # fmt: skip
    return Observation("scored", utc(e.scored_at), data)


def _reasons(e: LeadScored) -> list[list[Any]]:
    """The score's contributing rules, largest first: ``[rule, group, points]`` (the live
    feed's "why"). Rule names come from the scoring model, never from the lead."""
    ranked = sorted(e.contributions, key=lambda c: (-abs(c.points), c.rule))
    return [[c.rule, c.group, c.points] for c in ranked[:8]]


def qualified(e: LeadQualified) -> Observation:
    return Observation("qualified", utc(e.qualified_at), {"bucket": e.bucket})


def disqualified(e: LeadDisqualified) -> Observation:
    return Observation("disqualified", utc(e.disqualified_at), {"bucket": e.bucket})


def bucket_changed(e: LeadBucketChanged) -> Observation:
    return Observation("bucket_changed", utc(e.changed_at), {"bucket": e.to_bucket})


def _multiplier(e: LeadAssigned) -> float | None:
    """The fairness multiplier the strategy applied to the chosen rep, as its trace says."""
    chosen = [c for c in e.trace.candidates if c.rep_id == e.rep.rep_id and c.eligible]
    return chosen[-1].multiplier if chosen else None


def _pool(e: LeadAssigned) -> list[list[Any]] | None:
    """The picking queue's members at the decision, ``[rep, eligible, weight, multiplier]``
    (distribution fairness); None when the trace has none."""
    if e.trace.pool is None:
        return None
    return [[c.rep_id, c.eligible, c.weight, c.multiplier] for c in e.trace.pool]


def assigned(e: LeadAssigned) -> Observation:
    return Observation("assigned", utc(e.assigned_at), {
        "queue": e.queue, "rep_id": e.rep.rep_id, "bucket": e.bucket, "source": e.source,
        "sla_due_at": _iso(e.sla_due_at), "captured_at": _iso(e.captured_at),
        "attempt": e.attempt, "reassigned": e.reassigned, "multiplier": _multiplier(e),
        "rule": e.trace.rule, "strategy": e.trace.strategy, "explanation": e.trace.explanation,
        "score": e.score, "pool": _pool(e), "team": e.team.name if e.team else None,
    })  # fmt: skip


def routed_to_nurture(e: LeadRoutedToNurture) -> Observation:
    return Observation("routed_to_nurture", utc(e.routed_at), {"bucket": e.bucket})


def sla_warning(e: LeadSlaWarning) -> Observation:
    team = e.team.name if e.team else None
    return Observation("sla_warning", utc(e.warned_at), {"rep_id": e.rep.rep_id, "team": team})


def sla_breached(e: LeadSlaBreached) -> Observation:
    team = e.team.name if e.team else None
    data = {"rep_id": e.rep.rep_id, "team": team, "action": e.action.value}
    return Observation("sla_breached", utc(e.breached_at), data)


def activity(e: LeadActivityRecorded) -> Observation:
    return Observation("activity", utc(e.occurred_at), {
        "activity_id": e.activity_id, "activity": e.kind.value, "channel": e.channel,
        "rep_id": e.rep_id, "amount": str(e.amount) if e.amount is not None else None,
        "reason": e.reason,
    })  # fmt: skip


def followup_due(e: LeadFollowupDue) -> Observation:
    return Observation("followup_due", utc(e.due_at),
                       {"rep_id": e.rep.rep_id, "step": e.step, "mode": e.mode})  # fmt: skip


def followup_closed(e: LeadFollowupClosed) -> Observation:
    return Observation("followup_closed", utc(e.closed_at), {
        "plan_id": e.plan_id, "rep_id": e.rep_id, "step": e.step, "mode": e.mode,
        "outcome": e.outcome, "due_at": _iso(e.due_at), "done_at": _iso(e.done_at),
    })  # fmt: skip


def stage_changed(e: LeadStageChanged) -> Observation:
    return Observation("stage_changed", utc(e.changed_at), {
        "from_stage": e.from_stage.value, "to_stage": e.to_stage.value, "cause": e.cause,
        "rep_id": e.rep_id, "queue": e.queue,
    })  # fmt: skip


def gone_cold(e: LeadGoneCold) -> Observation:
    return Observation(
        "gone_cold", utc(e.gone_cold_at), {"rep_id": e.rep.rep_id, "reason": e.reason.value}
    )


def recycled(e: LeadRecycled) -> Observation:
    return Observation("recycled", utc(e.recycled_at), {
        "cause": e.cause.value, "to": e.to, "queue": e.queue,
        "rep_id": e.rep.rep_id if e.rep else None,
    })  # fmt: skip


def nurture_step_due(e: NurtureStepDue) -> Observation:
    return Observation("nurture_step_due", utc(e.due_at), {"sequence": e.sequence, "step": e.step})


def nurture_stopped(e: NurtureStopped) -> Observation:
    category = e.reason.split(":", 1)[0]  # "manual: <text>" keeps no free text
    return Observation(
        "nurture_stopped", utc(e.stopped_at), {"sequence": e.sequence, "reason": category}
    )


def notification_delivered(e: NotificationDelivered) -> Observation:
    return Observation("notification_delivered", utc(e.delivered_at),
                       {"subscription": e.subscription, "event_type": e.event_type})  # fmt: skip


def subscription_disabled(e: SubscriptionDisabled) -> Observation:
    return Observation("subscription_disabled", utc(e.disabled_at),
                       {"subscription": e.subscription, "channel": e.channel})  # fmt: skip


Observer = Callable[[Any], Observation]

OBSERVERS: dict[type[Event], Observer] = {
    LeadCaptured: captured,
    LeadScored: scored,
    LeadQualified: qualified,
    LeadDisqualified: disqualified,
    LeadBucketChanged: bucket_changed,
    LeadAssigned: assigned,
    LeadRoutedToNurture: routed_to_nurture,
    LeadSlaWarning: sla_warning,
    LeadSlaBreached: sla_breached,
    LeadActivityRecorded: activity,
    LeadFollowupDue: followup_due,
    LeadFollowupClosed: followup_closed,
    LeadStageChanged: stage_changed,
    LeadGoneCold: gone_cold,
    LeadRecycled: recycled,
    NurtureStepDue: nurture_step_due,
    NurtureStopped: nurture_stopped,
    NotificationDelivered: notification_delivered,
    SubscriptionDisabled: subscription_disabled,
}
