"""Suppression: unsubscribe and bounce stop e-mail touches for good; vendor events map."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.nurture.suppression import (
    Suppression,
    SuppressionReason,
    suppressed_by,
    suppression_for_activity,
    suppression_for_vendor_event,
)
from services.nurture.touch_modes import TouchMode

UNSUBSCRIBED = SuppressionReason.UNSUBSCRIBED
HARD_BOUNCE = SuppressionReason.HARD_BOUNCE
COMPLAINED = SuppressionReason.COMPLAINED


@pytest.mark.parametrize(
    ("kind", "channel", "expected"),
    [
        ("unsubscribed", None, (TouchMode.EMAIL, UNSUBSCRIBED)),
        ("unsubscribed", "email", (TouchMode.EMAIL, UNSUBSCRIBED)),
        ("unsubscribed", "SMS", (TouchMode.SMS, UNSUBSCRIBED)),
        ("bounced", None, (TouchMode.EMAIL, HARD_BOUNCE)),
        ("bounced", "sms", (TouchMode.SMS, HARD_BOUNCE)),
        # a lead cannot unsubscribe from calls through an e-mail tool: nothing suppressed
        ("unsubscribed", "call", None),
        ("replied", None, None),
        ("lost", None, None),
        ("contacted", "email", None),
    ],
)
def test_unsubscribe_and_bounce_suppress_the_channel_they_came_from(
    kind: str, channel: str | None, expected: tuple[TouchMode, SuppressionReason] | None
) -> None:
    assert suppression_for_activity(kind, channel) == expected


@pytest.mark.parametrize(
    ("vendor", "event", "details", "expected"),
    [
        ("mailchimp", "unsubscribe", {}, UNSUBSCRIBED),
        ("Mailchimp", "cleaned", {"reason": "hard"}, HARD_BOUNCE),
        ("mailchimp", "cleaned", {}, HARD_BOUNCE),
        ("mailchimp", "cleaned", {"reason": "abuse"}, COMPLAINED),
        ("mailchimp", "subscribe", {}, None),
        ("mailchimp", "profile", {}, None),
        ("mailchimp", "upemail", {}, None),
        ("mailchimp", "campaign", {}, None),
        # generic e-mail services: only permanent bounces suppress
        ("sendgrid", "bounce", {"type": "bounce"}, HARD_BOUNCE),
        ("sendgrid", "bounce", {"type": "blocked"}, None),
        ("sendgrid", "spamreport", {}, COMPLAINED),
        ("sendgrid", "group_unsubscribe", {}, UNSUBSCRIBED),
        ("mailgun", "failed", {"severity": "permanent"}, HARD_BOUNCE),
        ("mailgun", "failed", {"severity": "temporary"}, None),
        ("mailgun", "complained", {}, COMPLAINED),
        ("postmark", "bounce", {"Type": "HardBounce"}, HARD_BOUNCE),
        ("postmark", "bounce", {"Type": "SoftBounce"}, None),
        ("any", "hard_bounce", {}, HARD_BOUNCE),
        ("any", "delivered", {}, None),
    ],
)
def test_vendor_events_map_to_suppression_reasons(
    vendor: str, event: str, details: dict[str, str], expected: SuppressionReason | None
) -> None:
    assert suppression_for_vendor_event(vendor, event, details) == expected


def at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, tzinfo=UTC)


def test_a_suppression_stops_only_its_mode_and_the_earliest_reason_is_given() -> None:
    bounce = Suppression(TouchMode.EMAIL, HARD_BOUNCE, at(5))
    unsubscribe = Suppression(TouchMode.EMAIL, UNSUBSCRIBED, at(3))
    found = [bounce, unsubscribe]
    assert suppressed_by(TouchMode.EMAIL, found) == unsubscribe
    assert suppressed_by(TouchMode.CALL, found) is None
    assert suppressed_by(TouchMode.SMS, found) is None


def test_a_suppression_counts_from_when_it_happened() -> None:
    unsubscribe = Suppression(TouchMode.EMAIL, UNSUBSCRIBED, at(3))
    assert suppressed_by(TouchMode.EMAIL, [unsubscribe], at=at(2)) is None
    assert suppressed_by(TouchMode.EMAIL, [unsubscribe], at=at(3)) == unsubscribe
    assert suppressed_by(TouchMode.EMAIL, [unsubscribe], at=at(30)) == unsubscribe
