"""The notifier can deliver every event it consumes, and subscriptions can name each one."""

from __future__ import annotations

from services.notifier.domain import EVENT_SHORT_NAMES, event_type_for
from services.notifier.handlers import HANDLERS
from shared.contracts import EVENT_CLASSES, LeadErased
from shared.contracts.topics import topics_consumed_by


def test_every_consumed_event_has_a_delivery_plan_and_a_short_name() -> None:
    consumed = [
        cls
        for cls in EVENT_CLASSES
        if cls.TOPIC in topics_consumed_by("notifier") and cls is not LeadErased
    ]
    assert consumed, "the notifier consumes nothing?"
    short_types = {event_type_for(name) for name in EVENT_SHORT_NAMES}
    for cls in consumed:
        assert cls in HANDLERS, f"{cls.__name__} is consumed but never delivered"
        assert cls.TYPE in short_types, f"{cls.TYPE} cannot be named in a subscription"
