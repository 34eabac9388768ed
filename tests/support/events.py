"""Events as Kafka records, the way their producing service would send them."""

from __future__ import annotations

from typing import Any

from shared import clock
from shared.contracts import LeadProfile, LeadScored
from shared.contracts.envelope import Event, encode


def record(
    event: Event,
    *,
    source: str = "test",
    event_id: str | None = None,
    correlationid: str | None = None,
    key: str = "",
) -> tuple[bytes, bytes]:
    """``(key, value)`` for :func:`tests.support.kafka.produce`: the CloudEvent, keyed by
    lead id as the services publish it."""
    _, value = encode(event, source=source, event_id=event_id, correlationid=correlationid)
    return (key or event.lead_id).encode(), value


def lead_scored(
    lead_id: str,
    *,
    bucket: str = "hot",
    score: float = 85,
    fit: float = 60,
    engagement: float = 25,
    model_version: str = "t1",
    email: str | None = None,
    **profile: Any,
) -> LeadScored:
    """A qualified lead as the scorer announces it, scored now; its profile is a web lead
    with ``email`` (``<lead id prefix>@acme.example`` unless given) and ``profile``."""
    now = clock.now()
    return LeadScored(
        lead_id=lead_id, score=score, fit=fit, engagement=engagement, bucket=bucket,
        qualified=True, model_version=model_version, contributions=[], scored_at=now,
        captured_at=now,
        lead=LeadProfile(source="web", email=email or f"{lead_id[:8]}@acme.example", **profile),
    )  # fmt: skip
