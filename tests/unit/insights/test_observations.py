"""What insights keeps of each event: the times and names the KPIs read, no personal data;
and the batch's handler notes every consumed event type."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from services.insights.config import Settings
from services.insights.handlers import HANDLERS, BatchState, observe
from services.insights.observations import OBSERVERS
from shared.contracts import (
    ColdReason,
    ContactSnapshot,
    LeadBucketChanged,
    LeadDisqualified,
    LeadFollowupClosed,
    LeadGoneCold,
    LeadSlaWarning,
    LeadStageChanged,
    LifecycleStage,
    NotificationDelivered,
    RepRef,
    SubscriptionDisabled,
)
from shared.contracts.envelope import Envelope, Event
from shared.contracts.router import ManagerRef, TeamRef
from shared.contracts.topics import TOPOLOGY, topics_consumed_by
from tests.support.insights_history import generate

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERSONAL = ("erasable@example.org", "Zebedee", "example.com")
LEAD = str(uuid.uuid4())
TEAM = TeamRef(name="uk", manager=ManagerRef(name="Uma", email="uma@example.com"))


def others() -> list[Event]:
    contact = ContactSnapshot(email="person.erasable@example.org", first_name="Zebedee")
    rep = RepRef(rep_id="ana", name="Ana", email="ana@example.com")
    return [
        LeadBucketChanged(lead_id=LEAD, from_bucket="warm", to_bucket="hot", score=90,
                          contributions=[], trigger="activity", changed_at=T),
        LeadDisqualified(lead_id=LEAD, score=1, bucket="cold", threshold=60, disqualified_at=T,
                         trigger="decay"),
        LeadSlaWarning(lead_id=LEAD, assignment_id=LEAD, queue="uk", rep=rep, lead=contact,
                       bucket="hot", attempt=1, max_attempts=2, assigned_at=T, due_at=T,
                       warned_at=T, business_hours=False, team=TEAM),
        LeadGoneCold(lead_id=LEAD, assignment_id=LEAD, rep=rep, lead=contact, bucket="hot",
                     reason=ColdReason.NO_TOUCH, since=T, touches=0, gone_cold_at=T,
                     explanation="quiet"),
        NotificationDelivered(lead_id=LEAD, delivery_id=LEAD, subscription="crm",
                              event_type="io.leadflow.lead.assigned.v1", attempts=1,
                              status_code=200, delivered_at=T),
        LeadFollowupClosed(lead_id=LEAD, plan_id=LEAD, bucket="hot", rep_id="ana",
                           rep_name="Ana Erasable", outcome="late", mode="call", step=1, of=3,
                           due_at=T, done_at=T, closes_at=T, closed_at=T),
        LeadStageChanged(lead_id=LEAD, from_stage=LifecycleStage.MQL,
                         to_stage=LifecycleStage.SQL, changed_at=T, rep_id="ana",
                         queue="uk", cause="called"),
        SubscriptionDisabled(lead_id=LEAD, subscription="crm", channel="webhook",
                             target="https://crm.example/h", delivery_id=LEAD, status_code=410,
                             reason="receiver gone (410)", cancelled=0, disabled_at=T),
    ]  # fmt: skip


def envelope(event: Event) -> Envelope:
    return Envelope(str(uuid.uuid4()), "test", event.TYPE, T, event.lead_id, event)


def test_no_observation_keeps_an_email_a_name_or_a_manager() -> None:
    _, events = generate(80)
    events += others()
    assert {type(e) for e in events} == set(OBSERVERS)  # every observed type is covered
    for event in events:
        kept = json.dumps(dict(OBSERVERS[type(event)](event).data), default=str)
        assert not [p for p in PERSONAL if p in kept], (type(event).__name__, kept)


def test_the_handler_notes_every_consumed_type_but_erasures_and_updates() -> None:
    consumed = {t for t, spec in TOPOLOGY.items() if "insights" in spec.consumers}
    assert consumed == set(topics_consumed_by("insights")) == set(TOPOLOGY)
    assert {cls.TOPIC for cls in HANDLERS} == consumed - {
        "leadflow.lead.erased", "leadflow.lead.updated",
    }  # fmt: skip


def test_an_sla_event_notes_the_reps_latest_team() -> None:
    state = BatchState()
    warning = others()[2]
    observe(state, envelope(warning))
    later = warning.model_copy(update={"warned_at": datetime(2026, 11, 3, tzinfo=UTC),
                                       "team": TEAM.model_copy(update={"name": "de"})})  # fmt: skip
    observe(state, envelope(later))
    observe(state, envelope(warning))  # an older event does not win back
    assert state.teams == {"ana": ("de", datetime(2026, 11, 3, tzinfo=UTC))}
    assert [o.kind for _, _, o in state.observed] == ["sla_warning"] * 3


def test_insights_reads_off_the_latency_path_by_default() -> None:
    settings = Settings()
    assert (settings.port, settings.service_name) == (8006, "insights")
    assert settings.kafka_fetch_max_wait_ms == 500
    assert settings.kafka_max_batch == 2000 and settings.kafka_fetch_min_bytes == 65_536


def test_an_assignment_keeps_its_pool_for_distribution_fairness() -> None:
    from services.insights.observations import assigned
    from shared.contracts import LeadAssigned
    from tests.support.insights_history import generate

    truths, events = generate(30)
    event = next(e for e in events if isinstance(e, LeadAssigned))
    truth = next(t for t in truths if t.lead_id == event.lead_id)
    observed = assigned(event)
    assert observed.data["pool"] == [list(member) for member in truth.pool]
    assert observed.data["strategy"] == "weighted_round_robin"
    no_pool = event.model_copy(update={"trace": event.trace.model_copy(update={"pool": None})})
    assert assigned(no_pool).data["pool"] is None
