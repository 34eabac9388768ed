"""Following each lead through the events, and the figures a scenario's leads give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadflow.bench.outcomes import (
    ASSIGNED,
    DELIVERED,
    NURTURED,
    SCORED,
    LeadTrace,
    doubled_leads,
    judge,
    observe,
)

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EPOCH0 = T0.timestamp()


def at(ms: float) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat()


def scored(lead: str, captured_ms: float, scored_ms: float) -> dict[str, Any]:
    data = {"lead_id": lead, "captured_at": at(captured_ms), "scored_at": at(scored_ms)}
    return {"type": SCORED, "subject": lead, "data": data}


def assigned(lead: str, assignment: str, captured_ms: float, assigned_ms: float) -> dict[str, Any]:
    data = {
        "lead_id": lead,
        "assignment_id": assignment,
        "captured_at": at(captured_ms),
        "assigned_at": at(assigned_ms),
    }
    return {"type": ASSIGNED, "subject": lead, "data": data}


def nurtured(lead: str, routed_ms: float) -> dict[str, Any]:
    return {
        "type": NURTURED,
        "subject": lead,
        "data": {"lead_id": lead, "routed_at": at(routed_ms)},
    }


def delivered(lead: str, event_type: str, delivered_ms: float) -> dict[str, Any]:
    data = {"lead_id": lead, "event_type": event_type, "delivered_at": at(delivered_ms)}
    return {"type": DELIVERED, "subject": lead, "data": data}


def secs(ms: float) -> float:
    return EPOCH0 + ms / 1000


def test_a_decision_event_names_its_lead_and_notes_when_it_was_received() -> None:
    traces: dict[str, LeadTrace] = {}
    assert observe(traces, assigned("L1", "A1", 0, 20), received=secs(25)) == "L1"
    trace = traces["L1"]
    assert trace.decision == "assigned"
    assert trace.decision_received == secs(25)
    assert trace.decided_at == pytest.approx(secs(20))
    assert trace.captured_at == pytest.approx(secs(0))


@pytest.mark.parametrize(
    "event",
    [
        scored("L1", 0, 10),
        delivered("L1", ASSIGNED, 40),
        {"type": ASSIGNED, "subject": None, "data": {}},  # no lead id
        {"type": ASSIGNED, "subject": "L1", "data": "not a mapping"},
        {"type": "io.leadflow.lead.qualified.v1", "subject": "L1", "data": {}},
    ],
)
def test_events_that_are_not_decisions_name_no_decided_lead(event: dict[str, Any]) -> None:
    assert observe({}, event, received=secs(1)) is None


def test_the_first_score_counts_and_a_rescore_does_not_move_it() -> None:
    traces: dict[str, LeadTrace] = {}
    observe(traces, scored("L1", 0, 10), received=secs(11))
    observe(traces, scored("L1", 0, 900), received=secs(901))
    assert traces["L1"].scored_at == pytest.approx(secs(10))


def test_only_the_assignment_webhook_delivery_counts_as_notified() -> None:
    traces: dict[str, LeadTrace] = {}
    observe(traces, delivered("L1", "io.leadflow.nurture.step_due.v1", 30), received=secs(31))
    assert traces.get("L1") is None or traces["L1"].delivered_at is None
    observe(traces, delivered("L1", ASSIGNED, 40), received=secs(41))
    assert traces["L1"].delivered_at == pytest.approx(secs(40))


def test_a_second_distinct_assignment_makes_a_lead_doubled() -> None:
    traces: dict[str, LeadTrace] = {}
    observe(traces, assigned("L1", "A1", 0, 20), received=secs(25))
    observe(traces, assigned("L1", "A1", 0, 20), received=secs(30))  # redelivery: same id
    observe(traces, assigned("L2", "A2", 0, 20), received=secs(25))
    observe(traces, nurtured("L2", 22), received=secs(26))
    assert doubled_leads(traces, {"L1", "L2", "L3"}) == ["L2"]
    assert traces["L1"].decision_received == secs(25)  # the first receipt stands


def test_judge_measures_from_the_scheduled_send_to_the_first_decision_received() -> None:
    traces: dict[str, LeadTrace] = {}
    for event, received in [
        (scored("L1", 2, 10), 11),
        (assigned("L1", "A1", 2, 20), 25),
        (delivered("L1", ASSIGNED, 50), 51),
        (scored("L2", 102, 115), 116),
        (nurtured("L2", 130), 145),
    ]:
        observe(traces, event, received=secs(received))
    sends = {"L1": secs(0), "L2": secs(100)}
    outcome = judge(sends, traces, arrivals={"L1": secs(48)})
    assert (outcome.accepted, outcome.decided, outcome.assigned, outcome.nurtured) == (2, 2, 1, 1)
    assert (outcome.lost, outcome.doubled) == (0, 0)
    assert outcome.end_to_end.p50 == pytest.approx(35.0)  # 25 ms and 45 ms
    assert outcome.end_to_end.max == pytest.approx(45.0)
    assert outcome.throughput == pytest.approx(2 / 0.145, rel=1e-3)  # first send -> last decision
    stages = outcome.stages
    assert stages["capture_to_scored"].p50 == pytest.approx(10.5)  # 8 ms and 13 ms
    assert stages["scored_to_decided"].p50 == pytest.approx(12.5)  # 10 ms and 15 ms
    assert stages["captured_to_assigned"].count == 1  # nurtured leads have no assignment
    assert stages["captured_to_assigned"].p50 == pytest.approx(18.0)
    assert stages["assigned_to_delivered"].p50 == pytest.approx(30.0)
    assert stages["assigned_to_webhook"].p50 == pytest.approx(28.0)


def test_a_lead_without_a_decision_is_lost_and_left_out_of_latency() -> None:
    traces: dict[str, LeadTrace] = {}
    observe(traces, scored("L1", 0, 10), received=secs(11))
    observe(traces, assigned("L2", "A2", 0, 20), received=secs(30))
    outcome = judge({"L1": secs(0), "L2": secs(0), "L3": secs(0)}, traces, arrivals={})
    assert (outcome.lost, outcome.decided) == (2, 1)
    assert outcome.end_to_end.count == 1


def test_a_scenario_where_nothing_was_decided_has_no_throughput() -> None:
    outcome = judge({"L1": secs(0)}, {}, arrivals={})
    assert outcome.throughput is None
    assert outcome.lost == 1
