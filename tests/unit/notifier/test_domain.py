"""Notifier rules: event types, who gets an event, backoff, signatures, retry outcomes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.domain import (
    EVENT_SHORT_NAMES,
    Delivered,
    GaveUp,
    Outcome,
    Retry,
    Subscription,
    backoff_delay,
    claims_from_table,
    erasure_notice,
    event_type_for,
    matching_subscriptions,
    next_step,
    signed_headers,
)
from shared.conditions import parse_condition
from shared.contracts import (
    LeadAssigned,
    LeadBucketChanged,
    LeadCaptured,
    LeadErased,
    LeadQualified,
    LeadRoutedToNurture,
    LeadStageChanged,
    NurtureStepDue,
)
from shared.contracts.envelope import Event

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(48))).decode()

ASSIGNED = "io.leadflow.lead.assigned.v1"
QUALIFIED = "io.leadflow.lead.qualified.v1"
STEP_DUE = "io.leadflow.nurture.step_due.v1"
ERASED = "io.leadflow.lead.erased.v1"

CRM = Subscription(
    name="crm",
    url="https://crm.example.com/hooks",
    secret=SECRET,
    event_types=frozenset({ASSIGNED, STEP_DUE}),
)
HOT = Subscription(
    name="hot-leads",
    url="https://chat.example.com/hooks",
    secret=SECRET,
    event_types=frozenset({QUALIFIED}),
    when=parse_condition({"field": "bucket", "eq": "hot"}),
)
UK_FASHION = Subscription(
    name="uk-fashion",
    url="https://fashion.example.com/hooks",
    secret=SECRET,
    event_types=frozenset({ASSIGNED}),
    when=parse_condition({"all": [{"field": "queue", "eq": "fashion-uk"}]}),
)
PAUSED = Subscription(
    name="paused",
    url="https://paused.example.com/hooks",
    secret=SECRET,
    event_types=frozenset({ASSIGNED, QUALIFIED}),
    enabled=False,
)
ALL_SUBS = (CRM, HOT, UK_FASHION, PAUSED)


@pytest.mark.parametrize(
    ("short", "expected"),
    [
        ("lead.assigned", "io.leadflow.lead.assigned.v1"),
        ("lead.qualified", "io.leadflow.lead.qualified.v1"),
        ("lead.routed_to_nurture", "io.leadflow.lead.routed_to_nurture.v1"),
        ("nurture.step_due", "io.leadflow.nurture.step_due.v1"),
        ("lead.sla_breached", "io.leadflow.lead.sla_breached.v1"),
        ("lead.gone_cold", "io.leadflow.lead.gone_cold.v1"),
        ("lead.erased", "io.leadflow.lead.erased.v1"),
    ],
)
def test_a_short_event_name_maps_to_its_cloudevents_type(short: str, expected: str) -> None:
    assert event_type_for(short) == expected


@pytest.mark.parametrize(
    ("short", "contract"),
    [
        ("lead.assigned", LeadAssigned),
        ("lead.qualified", LeadQualified),
        ("lead.routed_to_nurture", LeadRoutedToNurture),
        ("nurture.step_due", NurtureStepDue),
        ("lead.erased", LeadErased),
        ("lead.bucket_changed", LeadBucketChanged),
        ("lead.captured", LeadCaptured),
        ("lead.stage_changed", LeadStageChanged),
    ],
)
def test_mapped_types_are_the_types_producers_publish(short: str, contract: type[Event]) -> None:
    assert event_type_for(short) == contract.TYPE


@pytest.mark.parametrize("short", ["lead.scored", "lead.assigned.v1", "", "LEAD.ASSIGNED"])
def test_an_unknown_event_name_is_refused_with_the_allowed_ones(short: str) -> None:
    with pytest.raises(ValueError, match=f"unknown event {short!r}; use one of lead.assigned"):
        event_type_for(short)


def test_all_short_names_are_unique() -> None:
    assert len(set(EVENT_SHORT_NAMES)) == len(EVENT_SHORT_NAMES)
    assert {"lead.qualified", "lead.disqualified", "lead.assigned"} <= set(EVENT_SHORT_NAMES)


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        (ASSIGNED, {"queue": "software-us"}, ["crm"]),
        (ASSIGNED, {"queue": "fashion-uk"}, ["crm", "uk-fashion"]),
        (ASSIGNED, {"queue": "Fashion-UK"}, ["crm", "uk-fashion"]),
        (STEP_DUE, {"mode": "email"}, ["crm"]),
        (QUALIFIED, {"bucket": "hot"}, ["hot-leads"]),
        (QUALIFIED, {"bucket": "HOT"}, ["hot-leads"]),
        (QUALIFIED, {"bucket": "warm"}, []),
        (QUALIFIED, {}, []),
        ("io.leadflow.lead.captured.v1", {"bucket": "hot"}, []),
        ("lead.assigned", {"queue": "fashion-uk"}, []),
    ],
)
def test_enabled_subscriptions_get_listed_events_whose_condition_holds(
    event_type: str, data: dict[str, Any], expected: list[str]
) -> None:
    assert [s.name for s in matching_subscriptions(event_type, data, ALL_SUBS)] == expected


def test_a_disabled_subscription_gets_nothing() -> None:
    assert matching_subscriptions(ASSIGNED, {}, [PAUSED]) == []


def test_an_erasure_reaches_every_enabled_subscription_listing_it_whatever_its_condition() -> None:
    def erasing(sub: Subscription, enabled: bool = True) -> Subscription:
        return replace(sub, event_types=sub.event_types | {ERASED}, enabled=enabled)

    subs = [erasing(HOT), erasing(UK_FASHION), CRM, erasing(PAUSED, enabled=False)]
    data = {"lead_id": "l-1", "erased_at": "2026-12-05T04:00:00+00:00"}
    assert [s.name for s in matching_subscriptions(ERASED, data, subs)] == [
        "hot-leads",
        "uk-fashion",
    ]


@pytest.mark.parametrize(
    ("data", "notice"),
    [
        (
            {"lead_id": "l-1", "erased_at": "2026-12-05T04:00:00Z", "reason": "asked by tom@x.io"},
            {"lead_id": "l-1", "erased_at": "2026-12-05T04:00:00Z"},
        ),
        (
            {"lead_id": "l-1", "erased_at": "2026-12-05T04:00:00Z", "requested_by": "jwt:tom@x.io"},
            {"lead_id": "l-1", "erased_at": "2026-12-05T04:00:00Z"},
        ),
        ({"lead_id": "l-1"}, {"lead_id": "l-1"}),
    ],
)
def test_an_erasure_notice_carries_the_lead_id_and_time_only(
    data: dict[str, Any], notice: dict[str, Any]
) -> None:
    assert erasure_notice(data) == notice


@pytest.mark.parametrize(
    ("attempt", "base_s", "max_s", "jitter", "expected"),
    [
        (1, 1, 300, 0, 1),
        (2, 1, 300, 0, 2),
        (3, 1, 300, 0, 4),
        (9, 1, 300, 0, 256),
        (10, 1, 300, 0, 300),
        (100, 1, 300, 0, 300),
        (10_000, 1, 300, 0, 300),
        (1, 1, 300, 0.25, 1.25),
        (10, 1, 300, 0.25, 375),
        (3, 0.5, 300, 0.1, 2.2),
        (4, 2, 10, 0, 10),
        (1, 5, 5, 0.2, 6),
    ],
)
def test_backoff_doubles_per_attempt_is_capped_then_jittered(
    attempt: int, base_s: float, max_s: float, jitter: float, expected: float
) -> None:
    assert backoff_delay(attempt, base_s, max_s, jitter) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("attempt", "base_s", "max_s", "jitter", "message"),
    [
        (0, 1, 300, 0, "attempt must be 1 or more"),
        (-1, 1, 300, 0, "attempt must be 1 or more"),
        (1, 1, 300, -0.01, "jitter must be between 0 and 0.25"),
        (1, 1, 300, 0.3, "jitter must be between 0 and 0.25"),
        (1, 0, 300, 0, "greater than zero"),
        (1, 1, 0, 0, "greater than zero"),
    ],
)
def test_backoff_refuses_impossible_inputs(
    attempt: int, base_s: float, max_s: float, jitter: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        backoff_delay(attempt, base_s, max_s, jitter)


def _expected_signature(secret: str, msg_id: str, seconds: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{seconds}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(
    ("secret", "msg_id", "timestamp", "body", "seconds"),
    [
        (SECRET, "msg_1", datetime(2025, 3, 3, 9, 0, tzinfo=UTC), b'{"a":1}', 1740992400),
        (
            OTHER_SECRET,
            "8a1f0c9e-2b6d-4f0a-9d3e-5c7b1a2e4f60",
            datetime(2025, 3, 3, 9, 0, 0, 999_999, tzinfo=UTC),
            '{"name":"Zoë Müller"}'.encode(),
            1740992400,
        ),
        (
            SECRET,
            "msg_2",
            datetime(2025, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=1))),
            b"{}",
            1740992400,
        ),
    ],
)
def test_signature_is_hmac_sha256_of_id_timestamp_and_body(
    secret: str, msg_id: str, timestamp: datetime, body: bytes, seconds: int
) -> None:
    headers = signed_headers(secret, msg_id, timestamp, body)
    assert headers == {
        "webhook-id": msg_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": _expected_signature(secret, msg_id, seconds, body),
        "content-type": "application/json",
    }


@pytest.mark.parametrize("secret", [SECRET, OTHER_SECRET])
def test_a_receiver_verifies_the_signed_headers(secret: str) -> None:
    body = b'{"type":"io.leadflow.lead.assigned.v1","data":{"lead_id":"42"}}'
    headers = signed_headers(secret, "msg_42", datetime.now(UTC), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "io.leadflow.lead.assigned.v1",
        "data": {"lead_id": "42"},
    }


@pytest.mark.parametrize(
    ("verify_with", "received_body"),
    [(SECRET, b'{"lead_id":"43"}'), (OTHER_SECRET, b'{"lead_id":"42"}')],
)
def test_a_tampered_body_or_wrong_secret_fails_verification(
    verify_with: str, received_body: bytes
) -> None:
    headers = signed_headers(SECRET, "msg_42", datetime.now(UTC), b'{"lead_id":"42"}')
    with pytest.raises(WebhookVerificationError):
        Webhook(verify_with).verify(received_body, headers)


def test_signing_refuses_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signed_headers(SECRET, "msg_1", datetime(2025, 3, 3, 9, 0), b"{}")


def _gave_up(attempts: int, last: str) -> GaveUp:
    return GaveUp(f"no success after {attempts} attempt(s) (last: {last})", attempts)


@pytest.mark.parametrize(
    ("status", "attempt", "max_attempts", "expected"),
    [
        (200, 1, 8, Delivered(attempts=1)),
        (202, 3, 8, Delivered(attempts=3)),
        (204, 8, 8, Delivered(attempts=8)),
        (299, 1, 8, Delivered(attempts=1)),
        (410, 1, 8, GaveUp(reason="receiver gone (410)", attempts=1)),
        (410, 8, 8, GaveUp(reason="receiver gone (410)", attempts=8)),
        (400, 1, 8, GaveUp(reason="rejected with 4xx (400)", attempts=1)),
        (401, 2, 8, GaveUp(reason="rejected with 4xx (401)", attempts=2)),
        (404, 1, 8, GaveUp(reason="rejected with 4xx (404)", attempts=1)),
        (422, 1, 8, GaveUp(reason="rejected with 4xx (422)", attempts=1)),
        (408, 1, 8, Retry(next_attempt=2)),
        (429, 7, 8, Retry(next_attempt=8)),
        (500, 1, 8, Retry(next_attempt=2)),
        (503, 4, 8, Retry(next_attempt=5)),
        (None, 1, 8, Retry(next_attempt=2)),
        (301, 1, 8, Retry(next_attempt=2)),
        (101, 1, 8, Retry(next_attempt=2)),
        (429, 8, 8, _gave_up(8, "HTTP 429")),
        (503, 8, 8, _gave_up(8, "HTTP 503")),
        (None, 8, 8, _gave_up(8, "network error")),
        (500, 1, 1, _gave_up(1, "HTTP 500")),
    ],
)
def test_delivery_outcome_follows_the_status_code(
    status: int | None, attempt: int, max_attempts: int, expected: Outcome
) -> None:
    assert next_step(status, attempt, max_attempts) == expected


@pytest.mark.parametrize("attempt", [1, 3, 8])
def test_a_delivery_whose_target_address_is_refused_gives_up_at_once(attempt: int) -> None:
    assert next_step(None, attempt, 8, refused=True) == GaveUp(
        reason="not sent: target address refused", attempts=attempt
    )


@pytest.mark.parametrize(
    ("status", "attempt", "max_attempts", "message"),
    [
        (99, 1, 8, "not an HTTP status code: 99"),
        (600, 1, 8, "not an HTTP status code: 600"),
        (200, 0, 8, "must be 1 or more"),
        (200, 1, 0, "must be 1 or more"),
    ],
)
def test_next_step_refuses_impossible_inputs(
    status: int | None, attempt: int, max_attempts: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        next_step(status, attempt, max_attempts)


def test_a_subscription_repr_does_not_show_its_secret() -> None:
    assert SECRET not in repr(CRM)


@pytest.mark.parametrize(
    ("handed_over", "since_last_claim_s", "expected"),
    [
        (False, 0.0, True),  # nothing handed over: look in the table
        (True, 0.05, False),  # a stream of hand-overs: send those first...
        (True, 0.1, True),  # ...but look in the table at least every tick
        (True, 3.0, True),
    ],
)
def test_retries_are_looked_for_at_least_every_tick_even_while_hand_overs_keep_coming(
    handed_over: bool, since_last_claim_s: float, expected: bool
) -> None:
    assert claims_from_table(handed_over, since_last_claim_s, tick_s=0.1) is expected
