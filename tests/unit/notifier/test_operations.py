"""Rules of operating deliveries: which answers disable a subscription, what a disabled one
receives, keyset cursors, health gauges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from services.notifier import health
from services.notifier.api import decode_cursor, encode_cursor
from services.notifier.domain import NotifierRules, Subscription, ends_subscription, receiving


def sub(name: str) -> Subscription:
    return Subscription(
        name=name, url="https://x.example/h", secret="", event_types=frozenset({"t"})
    )


@pytest.mark.parametrize(
    ("code", "channel", "ends"),
    [
        (410, "webhook", True),
        (410, "slack", True),
        (410, "teams", True),
        (410, "sms", True),
        (410, "email", False),  # SMTP has no 410
        (404, "webhook", False),
        (503, "webhook", False),
        (None, "webhook", False),
        (200, "webhook", False),
    ],
)
def test_only_a_410_from_an_http_receiver_ends_a_subscription(
    code: int | None, channel: str, ends: bool
) -> None:
    assert ends_subscription(code, channel) is ends


def test_a_disabled_subscription_is_left_out_of_the_rules() -> None:
    rules = NotifierRules(subscriptions=(sub("crm"), sub("ops"), sub("audit")))
    assert [s.name for s in receiving(rules, {"ops"}).subscriptions] == ["crm", "audit"]
    assert receiving(rules, []) is rules


def test_a_cursor_reads_back_as_the_position_it_was_made_of() -> None:
    at = datetime(2026, 12, 5, 8, 30, 1, 123456, tzinfo=UTC)
    delivery_id = str(uuid.uuid4())
    cursor = encode_cursor(at, delivery_id)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor) == (at, delivery_id)


@pytest.mark.parametrize("cursor", ["bm90LWEtY3Vyc29y", "x", "AAAA", "MjAyNi0xMi0wNXxub3BlCg"])
def test_a_made_up_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a cursor this API gave"):
        decode_cursor(cursor)


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_health_counts_failures_in_a_row_until_a_success() -> None:
    name = f"unit-{uuid.uuid4().hex[:8]}"
    health.reset([sub(name)], [])
    assert value("leadflow_notifier_subscription_up", subscription=name) == 1
    health.attempted(name, "webhook", "pending", None)
    health.attempted(name, "webhook", "failed", None)
    assert value("leadflow_notifier_subscription_consecutive_failures", subscription=name) == 2
    labels = {"subscription": name, "channel": "webhook"}
    assert value("leadflow_notifier_deliveries_total", **labels, status="failed") == 1
    at = datetime(2026, 12, 5, 9, tzinfo=UTC)
    health.attempted(name, "webhook", "delivered", at)
    assert value("leadflow_notifier_subscription_consecutive_failures", subscription=name) == 0
    last = value("leadflow_notifier_subscription_last_success_timestamp_seconds", subscription=name)
    assert last == at.timestamp()
    health.disabled(name, "webhook", 3)
    assert value("leadflow_notifier_subscription_up", subscription=name) == 0
    assert value("leadflow_notifier_deliveries_total", **labels, status="cancelled") == 3
    health.reset([sub(name)], [name])
    assert value("leadflow_notifier_subscription_up", subscription=name) == 0
