"""Events produced by the notifier service."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.contracts import topics
from shared.contracts.envelope import Event


class NotificationDelivered(Event):
    """A delivery for a lead event (a signed webhook, or an alert on Slack, Teams, e-mail or
    SMS to one recipient) was accepted by its receiver."""

    TYPE: ClassVar[str] = "io.leadflow.notification.delivered.v1"
    TOPIC: ClassVar[str] = topics.NOTIFICATION_DELIVERED

    lead_id: str = Field(description="Lead id (UUID)")
    delivery_id: str = Field(description="Delivery id (UUID), also the webhook-id header")
    subscription: str = Field(description="Subscription name from the config")
    event_type: str = Field(description="CloudEvents type that was delivered")
    attempts: int = Field(description="Attempts it took")
    status_code: int = Field(
        description="HTTP status the receiver answered (the SMTP reply code for e-mail)"
    )
    delivered_at: datetime = Field(description="When (UTC)")
