"""The notifier can deliver every event it consumes, and subscriptions can name each one."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import orjson

from services.notifier.domain import EVENT_SHORT_NAMES, NotifierRules, Subscription, event_type_for
from services.notifier.handlers import HANDLERS, DeliveryPlan
from shared.conditions import parse_condition
from shared.contracts import EVENT_CLASSES, LeadErased
from shared.contracts.envelope import Envelope
from shared.contracts.topics import topics_consumed_by

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_every_consumed_event_has_a_delivery_plan_and_a_short_name() -> None:
    consumed = [cls for cls in EVENT_CLASSES if cls.TOPIC in topics_consumed_by("notifier")]
    assert consumed, "the notifier consumes nothing?"
    short_types = {event_type_for(name) for name in EVENT_SHORT_NAMES}
    for cls in consumed:
        assert cls in HANDLERS, f"{cls.__name__} is consumed but never delivered"
        assert cls.TYPE in short_types, f"{cls.TYPE} cannot be named in a subscription"


def test_an_erasure_is_planned_for_its_subscribers_with_the_lead_id_and_time_only() -> None:
    lead_id = str(uuid.uuid4())
    erased = LeadErased(
        lead_id=lead_id, erased_at=datetime(2026, 12, 5, 4, tzinfo=UTC), reason="tom@example.com"
    )
    env = Envelope(
        id="e-1",
        source="capture",
        type=LeadErased.TYPE,
        time=erased.erased_at,
        subject=lead_id,
        data=erased,
        correlationid="corr-1",
    )
    crm = Subscription(
        name="crm",
        url="https://crm.example.com/hooks",
        secret=SECRET,
        event_types=frozenset({LeadErased.TYPE}),
        when=parse_condition({"field": "bucket", "eq": "hot"}),
    )
    plan = DeliveryPlan(NotifierRules(subscriptions=(crm,)))
    HANDLERS[LeadErased](plan, env)
    (delivery,) = plan.planned
    assert (delivery.subscription, delivery.lead_id, delivery.event_type) == (
        "crm",
        lead_id,
        LeadErased.TYPE,
    )
    body = orjson.loads(delivery.body)
    assert body["data"] == {"lead_id": lead_id, "erased_at": "2026-12-05T04:00:00Z"}
    assert (body["id"], body["subject"], body["correlationid"]) == ("e-1", lead_id, "corr-1")
    assert b"tom@example.com" not in delivery.body
