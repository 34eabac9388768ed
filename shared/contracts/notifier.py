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


class SubscriptionDisabled(Event):
    """A subscription's receiver answered 410 Gone, so the notifier stopped sending to it
    until an operator enables it again (``POST /v1/subscriptions/{name}:enable``). Its
    pending deliveries were cancelled. A sales tool hears of it here (and people through
    the alert subscriptions that list ``notification.subscription_disabled``)."""

    TYPE: ClassVar[str] = "io.leadflow.notification.subscription_disabled.v1"
    TOPIC: ClassVar[str] = topics.NOTIFICATION_SUBSCRIPTION_DISABLED

    lead_id: str = Field(description="Lead id (UUID) of the delivery the receiver refused")
    subscription: str = Field(description="Subscription name from the config")
    channel: str = Field(description="webhook, slack, teams or sms")
    target: str = Field(
        description="Where it went, never a secret: the webhook URL, slack:incoming-webhook,"
        " teams:webhook or the SMS API URL"
    )
    delivery_id: str = Field(description="Delivery id (UUID) that was answered 410 Gone")
    status_code: int = Field(description="The receiver's answer: 410")
    reason: str = Field(description="Why, e.g. 'receiver gone (410)' and the receiver's words")
    cancelled: int = Field(description="Pending deliveries of the subscription now cancelled")
    disabled_at: datetime = Field(description="When (UTC)")
