"""What happened to each lead the benchmark sent, and the latencies that follow from it.

The topic reader feeds every event it sees into :func:`observe`, which keeps one small
:class:`LeadTrace` per lead (timestamps and decision ids only, never the whole event).
:func:`judge` then turns the traces of one scenario's accepted leads into its figures:
end-to-end latency, throughput, per-stage latencies, and the leads lost or decided twice.
All pure: times are plain floats (seconds since the epoch) passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.bench.stats import Summary, rate, summarize

ASSIGNED = "io.leadflow.lead.assigned.v1"
NURTURED = "io.leadflow.lead.routed_to_nurture.v1"
SCORED = "io.leadflow.lead.scored.v1"
DELIVERED = "io.leadflow.notification.delivered.v1"


@dataclass(slots=True)
class LeadTrace:
    """The moments one lead went through, from the services' events and the bench's clock."""

    captured_at: float | None = None
    scored_at: float | None = None
    decided_at: float | None = None
    decision: str | None = None  # "assigned" or "nurture"
    decision_ids: set[str] = field(default_factory=set)
    decision_received: float | None = None  # when the bench's reader got the first decision
    delivered_at: float | None = None  # notifier's delivered_at for the lead.assigned webhook


def _ts(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def observe(traces: dict[str, LeadTrace], event: Mapping[str, Any], received: float) -> str | None:
    """Record one CloudEvent in its lead's trace; return the lead id if it was a decision."""
    kind = event.get("type")
    data = event.get("data")
    lead_id = event.get("subject")
    if not isinstance(data, Mapping) or not isinstance(lead_id, str):
        return None
    if kind == SCORED:
        trace = traces.setdefault(lead_id, LeadTrace())
        if trace.scored_at is None:  # a re-score later does not move the first one
            trace.scored_at = _ts(data.get("scored_at"))
            trace.captured_at = trace.captured_at or _ts(data.get("captured_at"))
        return None
    if kind in (ASSIGNED, NURTURED):
        trace = traces.setdefault(lead_id, LeadTrace())
        if kind == ASSIGNED:
            decision_id = str(data.get("assignment_id"))
            at = _ts(data.get("assigned_at"))
            trace.captured_at = trace.captured_at or _ts(data.get("captured_at"))
        else:
            decision_id, at = "nurture", _ts(data.get("routed_at"))
        trace.decision_ids.add(decision_id)
        if trace.decision_received is None:
            trace.decision_received = received
            trace.decided_at = at
            trace.decision = "assigned" if kind == ASSIGNED else "nurture"
        return lead_id
    if kind == DELIVERED and data.get("event_type") == ASSIGNED:
        trace = traces.setdefault(lead_id, LeadTrace())
        if trace.delivered_at is None:
            trace.delivered_at = _ts(data.get("delivered_at"))
    return None


@dataclass(frozen=True)
class Outcome:
    """One scenario's end-to-end figures (latencies in ms, throughput in leads/s)."""

    accepted: int
    decided: int
    assigned: int
    nurtured: int
    lost: int
    doubled: int
    throughput: float | None
    end_to_end: Summary
    stages: dict[str, Summary]

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "decided": self.decided,
            "assigned": self.assigned,
            "nurtured": self.nurtured,
            "lost": self.lost,
            "doubled": self.doubled,
            "throughput_leads_per_s": self.throughput,
            "end_to_end_ms": self.end_to_end.as_dict(),
            "stages_ms": {name: s.as_dict() for name, s in self.stages.items()},
        }


def _gap(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def judge(
    sends: Mapping[str, float],
    traces: Mapping[str, LeadTrace],
    arrivals: Mapping[str, float],
) -> Outcome:
    """Figures for the accepted leads ``sends`` (lead id -> scheduled send time).

    End to end = first decision received - scheduled send; throughput = leads decided /
    (last decision received - first send). A lead with no decision is lost; one with two
    distinct decisions (assignment ids, or nurture and an assignment) is doubled.
    """
    e2e: list[float] = []
    stage_values: dict[str, list[float]] = {
        "capture_to_scored": [],
        "scored_to_decided": [],
        "captured_to_assigned": [],
        "assigned_to_delivered": [],
        "assigned_to_webhook": [],
    }
    lost = doubled = assigned = nurtured = 0
    last = None
    for lead_id, sent in sends.items():
        trace = traces.get(lead_id)
        if trace is None or trace.decision_received is None:
            lost += 1
            continue
        if len(trace.decision_ids) > 1:
            doubled += 1
        e2e.append(trace.decision_received - sent)
        last = trace.decision_received if last is None else max(last, trace.decision_received)
        gaps = {
            "capture_to_scored": _gap(trace.captured_at, trace.scored_at),
            "scored_to_decided": _gap(trace.scored_at, trace.decided_at),
        }
        if trace.decision == "assigned":
            assigned += 1
            gaps["captured_to_assigned"] = _gap(trace.captured_at, trace.decided_at)
            gaps["assigned_to_delivered"] = _gap(trace.decided_at, trace.delivered_at)
            gaps["assigned_to_webhook"] = _gap(trace.decided_at, arrivals.get(lead_id))
        else:
            nurtured += 1
        for name, value in gaps.items():
            if value is not None:
                stage_values[name].append(value)
    decided = assigned + nurtured
    first = min(sends.values(), default=0.0)
    return Outcome(
        accepted=len(sends),
        decided=decided,
        assigned=assigned,
        nurtured=nurtured,
        lost=lost,
        doubled=doubled,
        throughput=rate(decided, first, last) if last is not None else None,
        end_to_end=summarize(e2e),
        stages={name: summarize(values) for name, values in stage_values.items()},
    )


def doubled_leads(traces: Mapping[str, LeadTrace], lead_ids: set[str]) -> list[str]:
    """The given leads that were decided more than once (distinct decision ids)."""
    return [lead for lead in lead_ids if len(traces.get(lead, LeadTrace()).decision_ids) > 1]
