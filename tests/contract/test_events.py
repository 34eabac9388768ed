"""The wire contract: every event round-trips, bad records are refused, schemas do not drift."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.contracts import (
    EVENT_CLASSES,
    EVENT_TYPES,
    ActivityKind,
    CandidateTrace,
    ColdReason,
    ContactSnapshot,
    DataQualityIssue,
    EnvelopeError,
    Event,
    FieldChange,
    LeadActivityRecorded,
    LeadAssigned,
    LeadBucketChanged,
    LeadCaptured,
    LeadDisqualified,
    LeadErased,
    LeadFollowupClosed,
    LeadFollowupDue,
    LeadGoneCold,
    LeadProfile,
    LeadQualified,
    LeadRecycled,
    LeadRoutedToNurture,
    LeadScored,
    LeadSlaBreached,
    LeadSlaWarning,
    LeadStageChanged,
    LeadUpdated,
    LifecycleStage,
    NotificationDelivered,
    NurtureStepDue,
    NurtureStopped,
    RecycleCause,
    RepRef,
    RoutingTrace,
    ScoreContribution,
    SlaAction,
    SubscriptionDisabled,
    decode,
    encode,
)
from shared.contracts.topics import SERVICES, TOPOLOGY

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_HINT = "LEADFLOW_UPDATE_SNAPSHOTS=1 pytest tests/contract"

LEAD = "6f1c2a9e-3b7d-4c51-9a0e-2d8b7f4e1c30"
T0 = datetime(2026, 11, 25, 9, 30, 0, tzinfo=UTC)
PROFILE = LeadProfile(
    email="ana.silva@acme-shoes.co.uk",
    phone="+442071838750",
    first_name="Ana",
    last_name="Silva",
    company="Acme Shoes Ltd",
    title="Head of Buying",
    country="GB",
    interest="shoes",
    industry="retail",
    company_size=240,
    language="en",
    source="web",
    channel="cpc",
    campaign="spring-boots",
    utm={"source": "google", "medium": "cpc", "campaign": "spring-boots"},
    attributes={"newsletter": True, "stores": 12},
)
CONTACT = ContactSnapshot.of(PROFILE)

SAMPLES: dict[type[Event], Event] = {
    LeadCaptured: LeadCaptured(lead_id=LEAD, captured_at=T0, lead=PROFILE),
    LeadActivityRecorded: LeadActivityRecorded(
        lead_id=LEAD,
        activity_id="0b5d1f7a-8e2c-4a63-b1d9-5c7e3f2a9b10",
        kind=ActivityKind.WON,
        occurred_at=T0 + timedelta(days=30),
        recorded_at=T0 + timedelta(days=30, seconds=2),
        channel="call",
        rep_id="ana",
        amount=Decimal("12500.00"),
        details={"opportunity": "OPP-1042"},
    ),
    LeadUpdated: LeadUpdated(
        lead_id=LEAD,
        merge_id="5d0c7a52-95b1-4f3e-9d3e-0a7c2b8e4f61",
        updated_at=T0 + timedelta(days=2),
        matched_by="email",
        submitted_source="webinar",
        changes=[FieldChange(field="title", old="Buyer", new="Head of Buying")],
        lead=PROFILE,
    ),
    LeadErased: LeadErased(
        lead_id=LEAD, erased_at=T0 + timedelta(days=90), reason="requested by e-mail"
    ),
    LeadDisqualified: LeadDisqualified(
        lead_id=LEAD,
        score=41.2,
        bucket="cold",
        threshold=60,
        disqualified_at=T0 + timedelta(days=45),
        trigger="decay",
    ),
    LeadScored: LeadScored(
        lead_id=LEAD,
        score=72.5,
        fit=55.0,
        engagement=17.5,
        bucket="warm",
        qualified=True,
        model_version="2026-11-01",
        contributions=[
            ScoreContribution(rule="uk-retail", group="fit", points=35),
            ScoreContribution(rule="mid-size", group="fit", points=20),
            ScoreContribution(rule="pricing-page", group="engagement", points=17.5),
        ],
        scored_at=T0 + timedelta(seconds=1),
        captured_at=T0,
        lead=PROFILE,
    ),
    LeadQualified: LeadQualified(
        lead_id=LEAD, score=72.5, bucket="warm", threshold=60, qualified_at=T0
    ),
    LeadAssigned: LeadAssigned(
        lead_id=LEAD,
        assignment_id="9a3e7c1d-2f4b-4d8a-8c6e-1b0f5a7d3e29",
        queue="fashion-uk",
        rep=RepRef(rep_id="ben", name="Ben Carter", email="ben@example.com"),
        lead=CONTACT,
        score=72.5,
        bucket="warm",
        source="web",
        captured_at=T0,
        assigned_at=T0 + timedelta(seconds=2),
        sla_due_at=T0 + timedelta(minutes=30),
        trace=RoutingTrace(
            rule="gb-shoes",
            queue="fashion-uk",
            strategy="round_robin",
            candidates=[
                CandidateTrace(rep_id="ana", eligible=False, reason="at capacity (20/20)"),
                CandidateTrace(rep_id="ben", eligible=True, reason="next in rotation"),
            ],
            explanation="country GB and interest shoes matched gb-shoes; ben is next in turn",
        ),
    ),
    LeadRoutedToNurture: LeadRoutedToNurture(
        lead_id=LEAD,
        bucket="nurture",
        score=12,
        routed_at=T0,
        lead=PROFILE,
        reason="bucket nurture is below the routing threshold",
    ),
    LeadSlaWarning: LeadSlaWarning(
        lead_id=LEAD,
        assignment_id="9a3e7c1d-2f4b-4d8a-8c6e-1b0f5a7d3e29",
        queue="fashion-uk",
        rep=RepRef(rep_id="ben", name="Ben Carter", email="ben@example.com"),
        lead=CONTACT,
        bucket="hot",
        attempt=1,
        max_attempts=2,
        assigned_at=T0,
        due_at=T0 + timedelta(minutes=5),
        warned_at=T0 + timedelta(minutes=3),
        business_hours=True,
    ),
    LeadSlaBreached: LeadSlaBreached(
        lead_id=LEAD,
        assignment_id="9a3e7c1d-2f4b-4d8a-8c6e-1b0f5a7d3e29",
        queue="fashion-uk",
        rep=RepRef(rep_id="ben", name="Ben Carter", email="ben@example.com"),
        lead=CONTACT,
        bucket="hot",
        attempt=1,
        max_attempts=2,
        assigned_at=T0,
        due_at=T0 + timedelta(minutes=5),
        breached_at=T0 + timedelta(minutes=5, seconds=1),
        business_hours=True,
        action=SlaAction.REASSIGNED,
        next_rep=RepRef(rep_id="ana", name="Ana Ashworth", email="ana@example.com"),
        reason="SLA breached by ben in fashion-uk (attempt 1 of 2); round_robin picked ana",
    ),
    LeadGoneCold: LeadGoneCold(
        lead_id=LEAD,
        assignment_id="9a3e7c1d-2f4b-4d8a-8c6e-1b0f5a7d3e29",
        queue="fashion-uk",
        rep=RepRef(rep_id="ben", name="Ben Carter", email="ben@example.com"),
        lead=CONTACT,
        bucket="hot",
        reason=ColdReason.NO_TOUCH,
        since=T0,
        touches=1,
        gone_cold_at=T0 + timedelta(days=2),
        explanation="no touch for 2d (bucket hot: cold after 2d); owner ben",
        recycling="queue general-global",
    ),
    LeadRecycled: LeadRecycled(
        lead_id=LEAD,
        cause=RecycleCause.GONE_COLD,
        to="assigned",
        queue="general-global",
        rep=RepRef(rep_id="ana", name="Ana Ashworth", email="ana@example.com"),
        previous_rep=RepRef(rep_id="ben", name="Ben Carter", email="ben@example.com"),
        reason="no_touch",
        recycled_at=T0 + timedelta(days=2),
        explanation="gone cold (no_touch) with ben; recycled to queue general-global",
    ),
    LeadBucketChanged: LeadBucketChanged(
        lead_id=LEAD,
        from_bucket="warm",
        to_bucket="hot",
        score=82.5,
        contributions=[ScoreContribution(rule="demo_request", group="engagement", points=40)],
        trigger="activity",
        changed_at=T0 + timedelta(hours=3),
    ),
    LeadStageChanged: LeadStageChanged(
        lead_id=LEAD,
        from_stage=LifecycleStage.MQL,
        to_stage=LifecycleStage.OPPORTUNITY,
        changed_at=T0 + timedelta(hours=5),
        rep_id="ben",
        queue="fashion-uk",
        cause="meeting_booked",
    ),
    NurtureStepDue: NurtureStepDue(
        lead_id=LEAD,
        enrollment_id="3c8f2e6a-7d1b-4f90-a2c4-6e9b8d0f1a57",
        sequence="fashion-warm",
        step=2,
        total_steps=5,
        mode="email",
        template="fashion-lookbook",
        due_at=T0 + timedelta(days=7),
        lead=CONTACT,
    ),
    LeadFollowupDue: LeadFollowupDue(
        lead_id=LEAD,
        plan_id="0b6f3d2e-5a7c-4e19-8d42-1f9e6c3b7a05",
        bucket="hot",
        rep=RepRef(rep_id="ana", name="Ana Ashworth", email="ana@example.com"),
        mode="call",
        step=1,
        of=3,
        due_at=T0 + timedelta(days=3),
        lead=CONTACT,
    ),
    LeadFollowupClosed: LeadFollowupClosed(
        lead_id=LEAD,
        plan_id="0b6f3d2e-5a7c-4e19-8d42-1f9e6c3b7a05",
        bucket="hot",
        rep_id="ana",
        rep_name="Ana Ashworth",
        outcome="late",
        mode="call",
        step=1,
        of=3,
        due_at=T0 + timedelta(days=3),
        done_at=T0 + timedelta(days=3, hours=5),
        closes_at=T0 + timedelta(days=4),
        closed_at=T0 + timedelta(days=3, hours=5, minutes=1),
    ),
    NurtureStopped: NurtureStopped(
        lead_id=LEAD,
        enrollment_id="3c8f2e6a-7d1b-4f90-a2c4-6e9b8d0f1a57",
        sequence="fashion-warm",
        reason="responded",
        stopped_at=T0 + timedelta(days=9),
    ),
    NotificationDelivered: NotificationDelivered(
        lead_id=LEAD,
        delivery_id="e4b7a2c9-1d3f-4e8b-9f6a-0c2d5e7b8a14",
        subscription="crm-webhook",
        event_type=LeadAssigned.TYPE,
        attempts=2,
        status_code=204,
        delivered_at=T0 + timedelta(seconds=5),
    ),
    SubscriptionDisabled: SubscriptionDisabled(
        lead_id=LEAD,
        subscription="crm-webhook",
        channel="webhook",
        target="https://crm.example.com/hooks/leadflow",
        delivery_id="e4b7a2c9-1d3f-4e8b-9f6a-0c2d5e7b8a14",
        status_code=410,
        reason="receiver gone (410); last error: HTTP 410: gone",
        cancelled=3,
        disabled_at=T0 + timedelta(seconds=5),
    ),
}


def record(event: Event) -> dict[str, Any]:
    _, raw = encode(event, source="test", event_id="evt-1", time=T0)
    doc: dict[str, Any] = orjson.loads(raw)
    return doc


def test_every_event_class_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_CLASSES)


@pytest.mark.parametrize("event", SAMPLES.values(), ids=lambda e: type(e).__name__)
def test_event_round_trips_through_the_envelope(event: Event) -> None:
    event_id, raw = encode(
        event, source="capture", time=T0, correlationid="corr-7", causationid="evt-0"
    )
    env = decode(raw, EVENT_TYPES)
    assert env.data == event
    assert type(env.data) is type(event)
    assert (env.id, env.source, env.type, env.time) == (event_id, "capture", event.TYPE, T0)
    assert env.subject == event.lead_id
    assert (env.correlationid, env.causationid) == ("corr-7", "evt-0")


@pytest.mark.parametrize("event", SAMPLES.values(), ids=lambda e: type(e).__name__)
def test_envelope_carries_cloudevents_attributes(event: Event) -> None:
    doc = record(event)
    assert doc["specversion"] == "1.0"
    assert doc["type"] == event.TYPE
    assert doc["subject"] == LEAD
    assert doc["datacontenttype"] == "application/json"
    assert "correlationid" not in doc and "causationid" not in doc


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"", "not JSON"),
    ],
)
def test_decode_refuses_what_is_not_a_json_object(raw: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        decode(raw, EVENT_TYPES)


@pytest.mark.parametrize("attribute", ["specversion", "id", "source", "type", "data"])
def test_decode_refuses_a_missing_attribute(attribute: str) -> None:
    doc = record(SAMPLES[LeadCaptured])
    del doc[attribute]
    with pytest.raises(EnvelopeError, match=f"missing CloudEvents attribute.*{attribute}"):
        decode(orjson.dumps(doc), EVENT_TYPES)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "io.leadflow.lead.exploded.v1"}, "unknown event type"),
        ({"type": "io.leadflow.lead.captured.v2"}, "unknown event type"),
        ({"specversion": "0.3"}, "unsupported specversion"),
        ({"time": "yesterday"}, "invalid io.leadflow.lead.captured.v1 payload"),
    ],
)
def test_decode_refuses_bad_attributes(change: dict[str, str], reason: str) -> None:
    doc = {**record(SAMPLES[LeadCaptured]), **change}
    with pytest.raises(EnvelopeError, match=reason):
        decode(orjson.dumps(doc), EVENT_TYPES)


@pytest.mark.parametrize(
    ("event_class", "field", "value"),
    [
        (LeadCaptured, "captured_at", "not a time"),
        (LeadCaptured, "lead", None),
        (LeadScored, "score", "very high"),
        (LeadAssigned, "rep", {"rep_id": "ben"}),
        (NurtureStepDue, "step", "second"),
        (NotificationDelivered, "status_code", None),
        (LeadActivityRecorded, "kind", "teleported"),
    ],
)
def test_decode_refuses_a_bad_payload(event_class: type[Event], field: str, value: Any) -> None:
    doc = record(SAMPLES[event_class])
    doc["data"][field] = value
    with pytest.raises(EnvelopeError, match=f"invalid {event_class.TYPE} payload"):
        decode(orjson.dumps(doc), EVENT_TYPES)


@pytest.mark.parametrize("event_class", [LeadScored, LeadAssigned], ids=lambda c: c.__name__)
def test_decode_refuses_a_payload_missing_a_required_field(event_class: type[Event]) -> None:
    doc = record(SAMPLES[event_class])
    del doc["data"]["lead_id"]
    with pytest.raises(EnvelopeError, match="lead_id"):
        decode(orjson.dumps(doc), EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES.values(), ids=lambda e: type(e).__name__)
def test_decode_ignores_unknown_fields_tolerant_reader(event: Event) -> None:
    doc = record(event)
    doc["data"]["added_in_a_later_minor_version"] = {"anything": [1, 2]}
    for nested in ("lead", "rep", "trace"):
        if isinstance(doc["data"].get(nested), dict):
            doc["data"][nested]["new_nested_field"] = "ignored"
    doc["someextension"] = "ignored too"
    assert decode(orjson.dumps(doc), EVENT_TYPES).data == event


def test_type_strings_are_versioned_and_unique() -> None:
    types = [cls.TYPE for cls in EVENT_CLASSES]
    assert len(set(types)) == len(types)
    assert all(t.startswith("io.leadflow.") and t.endswith(".v1") for t in types)
    assert EVENT_TYPES == {cls.TYPE: cls for cls in EVENT_CLASSES}


def test_every_topic_has_one_producer_and_an_event_class() -> None:
    event_topics = {cls.TOPIC for cls in EVENT_CLASSES}
    assert set(TOPOLOGY) == event_topics
    for topic, spec in TOPOLOGY.items():
        assert spec.producer in SERVICES, topic
        assert set(spec.consumers) <= set(SERVICES) - {spec.producer}, topic
        producer_modules = {cls.__module__ for cls in EVENT_CLASSES if cls.TOPIC == topic}
        assert producer_modules == {f"shared.contracts.{spec.producer}"}, topic


def schemas_of(event_class: type[Event]) -> dict[str, Any]:
    return {
        "serialization": event_class.model_json_schema(mode="serialization"),
        "validation": event_class.model_json_schema(mode="validation"),
    }


@pytest.mark.parametrize("event_class", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_json_schema_matches_snapshot(event_class: type[Event]) -> None:
    path = SNAPSHOTS / f"{event_class.TYPE}.json"
    current = json.dumps(schemas_of(event_class), indent=2, sort_keys=True) + "\n"
    if os.environ.get("LEADFLOW_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(current, encoding="utf-8")
    assert path.is_file(), f"no schema snapshot {path.name}; create it with: {UPDATE_HINT}"
    assert path.read_text(encoding="utf-8") == current, (
        f"the data schema of {event_class.TYPE} changed. A breaking change needs a new type "
        f"version and an upcaster; an additive change keeps it. Once reviewed by the producer "
        f"and every consumer in TOPOLOGY, update the snapshot deliberately: {UPDATE_HINT}"
    )


def test_a_flagged_profile_round_trips_and_an_unflagged_one_reads_as_before() -> None:
    """Issue 10: a value that did not clean travels raw and flagged; older events without
    the new fields still decode (tolerant readers see an empty data_quality)."""
    flagged = PROFILE.model_copy(
        update={
            "phone": None,
            "phone_raw": "+1 555 0100",
            "data_quality": [
                DataQualityIssue(field="phone", problem="not a valid number", raw="+1 555 0100")
            ],
        }
    )
    event = LeadCaptured(lead_id=LEAD, captured_at=T0, lead=flagged)
    _, raw = encode(event, source="capture", time=T0)
    assert decode(raw, EVENT_TYPES).data == event
    old = PROFILE.model_dump(mode="json")
    for name in ("phone_raw", "email_raw", "data_quality"):
        old.pop(name)
    assert LeadProfile.model_validate(old).data_quality == []
