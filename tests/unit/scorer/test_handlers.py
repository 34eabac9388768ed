"""Which leads a batch re-scores, and which event caused it: pure planning, no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.scorer.handlers import (
    HANDLERS,
    BatchPlan,
    leads_to_score,
)
from shared.contracts import ActivityKind, LeadActivityRecorded, LeadCaptured, LeadProfile
from shared.contracts.envelope import Envelope, Event

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANA = "00000000-0000-4000-8000-00000000000a"
BEN = "00000000-0000-4000-8000-00000000000b"
ACT1 = "00000000-0000-4000-8000-000000000001"
ACT2 = "00000000-0000-4000-8000-000000000002"


def captured(lead_id: str, country: str = "GB") -> LeadCaptured:
    lead = LeadProfile(source="web", country=country)
    return LeadCaptured(lead_id=lead_id, captured_at=NOW, lead=lead)


def activity(lead_id: str, activity_id: str) -> LeadActivityRecorded:
    return LeadActivityRecorded(
        lead_id=lead_id,
        activity_id=activity_id,
        kind=ActivityKind.REPLIED,
        occurred_at=NOW,
        recorded_at=NOW,
    )


def envelope(event: Event, event_id: str) -> Envelope:
    return Envelope(event_id, "test", event.TYPE, NOW, event.lead_id, event)


def plan_of(*events: Event) -> BatchPlan:
    """Note the events in batch order; event i gets the id ``e<i>``."""
    plan = BatchPlan()
    for position, event in enumerate(events):
        HANDLERS[type(event)](plan, envelope(event, f"e{position}"))
    return plan


@pytest.mark.parametrize(
    ("events", "known", "inserted", "expected"),
    [
        pytest.param([captured(ANA)], set(), set(), {ANA: "e0"}, id="first-capture"),
        pytest.param([captured(ANA)], {ANA}, set(), {}, id="repeat-capture-of-known-lead"),
        pytest.param([activity(ANA, ACT1)], set(), {ACT1}, {}, id="activity-of-unknown-lead"),
        pytest.param([activity(ANA, ACT1)], {ANA}, {ACT1}, {ANA: "e0"}, id="new-activity"),
        pytest.param([activity(ANA, ACT1)], {ANA}, set(), {}, id="activity-already-stored"),
        pytest.param(
            [activity(ANA, ACT1), captured(ANA), activity(ANA, ACT2)],
            set(),
            {ACT1, ACT2},
            {ANA: "e2"},
            id="capture-and-activities-in-one-batch",
        ),
        pytest.param(
            [activity(ANA, ACT1), captured(ANA)],
            set(),
            {ACT1},
            {ANA: "e1"},
            id="activity-before-capture-in-one-batch",
        ),
        pytest.param(
            [captured(ANA), activity(ANA, ACT1), captured(ANA)],
            set(),
            {ACT1},
            {ANA: "e1"},
            id="repeat-capture-after-activity-is-not-the-cause",
        ),
        pytest.param(
            [captured(ANA), captured(BEN), activity(BEN, ACT1)],
            {BEN},
            {ACT1},
            {ANA: "e0", BEN: "e2"},
            id="two-leads",
        ),
    ],
)
def test_rescores_each_changed_lead_once_caused_by_its_latest_change(
    events: list[Event], known: set[str], inserted: set[str], expected: dict[str, str]
) -> None:
    triggers = leads_to_score(plan_of(*events), known, inserted)

    assert {lead: t.event_id for lead, t in triggers.items()} == expected


def test_within_a_batch_the_first_capture_of_a_lead_wins() -> None:
    plan = plan_of(captured(ANA, "GB"), captured(ANA, "US"))

    assert plan.captured[ANA][1].lead.country == "GB"


def test_an_activity_delivered_twice_in_a_batch_counts_once() -> None:
    plan = plan_of(activity(ANA, ACT1), activity(ANA, ACT1))

    assert list(plan.activities) == [ACT1]
    assert plan.activities[ACT1][0].event_id == "e0"


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (captured("lead-1"), "lead_id 'lead-1' is not a UUID"),
        (activity("lead-1", ACT1), "lead_id 'lead-1' is not a UUID"),
        (activity(ANA, "act-1"), "activity_id 'act-1' is not a UUID"),
    ],
)
def test_events_with_malformed_ids_are_refused(event: Event, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        HANDLERS[type(event)](BatchPlan(), envelope(event, "e0"))
