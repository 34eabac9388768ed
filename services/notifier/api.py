"""The notifier's HTTP API: inspect deliveries (webhooks and alerts), retry a failed one,
list subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from services.notifier import store
from services.notifier.deps import ConfigDep, RuntimeDep
from shared.auth.guard import ConfigRead, DeliveriesManage, DeliveriesRead
from shared.db import audit
from shared.http import ApiError
from shared.params import NO_NUL

router = APIRouter(prefix="/v1", tags=["deliveries"])

Status = Literal["pending", "delivered", "failed"]
MAX_LIMIT = 500


class DeliveryOut(BaseModel):
    """One delivery: an event for one subscription and recipient, and where it stands."""

    delivery_id: UUID = Field(description="Delivery id, also the webhook-id header")
    subscription: str = Field(description="Subscription name from the config")
    event_id: str = Field(description="Id of the CloudEvent delivered")
    event_type: str = Field(description="CloudEvents type, e.g. io.leadflow.lead.assigned.v1")
    lead_id: str = Field(description="Lead id")
    url: str = Field(
        description="Where it goes: the webhook URL, or the channel's target without secrets"
        " (slack:incoming-webhook, teams:webhook, smtp://host:port, the SMS or Slack API URL)"
    )
    channel: str = Field(description="webhook, slack, teams, email or sms")
    recipient: str = Field(
        description="Who it is for: '' (a webhook), 'channel' (a Slack/Teams channel post),"
        " 'person:<id>' or 'to:<address>'"
    )
    status: Status = Field(description="pending, delivered or failed")
    attempts: int = Field(description="Attempts made so far")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending)")
    last_status_code: int | None = Field(
        description="HTTP status (SMTP reply code for e-mail) of the last attempt"
    )
    last_error: str | None = Field(description="Why the last attempt (or the delivery) failed")
    created_at: datetime = Field(description="When the event was received")
    delivered_at: datetime | None = Field(description="When the receiver accepted it")


class AttemptOut(BaseModel):
    attempt: int = Field(description="1-based attempt number")
    at: datetime = Field(description="When the attempt started (UTC)")
    status_code: int | None = Field(
        description="HTTP status (SMTP reply code for e-mail), none on a network error"
    )
    error: str | None = Field(description="What went wrong, if anything")
    duration_ms: int = Field(description="How long the attempt took")


class DeliveryDetail(DeliveryOut):
    event: dict[str, Any] = Field(
        description="What is sent: the CloudEvent for a webhook; the Block Kit message, Teams"
        " card, SMS form fields or e-mail ({from, to, mime}) for a people channel"
    )
    attempt_log: list[AttemptOut] = Field(description="Every attempt, oldest first")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="Newest first")


class SubscriptionOut(BaseModel):
    name: str = Field(description="Subscription name")
    channel: str = Field(description="webhook, slack, teams, email or sms")
    url: str = Field(
        description="Where deliveries go; a secret URL (Slack/Teams webhook) is never shown,"
        " only its kind (slack:incoming-webhook, teams:webhook)"
    )
    to: list[Any] = Field(description="Recipients: rep, previous_rep, manager or fixed addresses")
    events: list[str] = Field(description="Event short names, e.g. lead.assigned")
    when: dict[str, Any] | None = Field(description="Condition over the event data, if any")
    enabled: bool = Field(description="Disabled subscriptions receive nothing")
    timeout_s: float = Field(description="Per-attempt timeout")
    max_attempts: int = Field(description="Attempts before giving up")


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown delivery id"}}


def _unknown(delivery_id: UUID) -> ApiError:
    return ApiError(404, "unknown_delivery", f"no delivery with id {delivery_id}")


@router.get("/deliveries", response_model=DeliveryList, summary="List deliveries, newest first")
async def list_deliveries(
    runtime: RuntimeDep,
    caller: DeliveriesRead,
    lead_id: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="Only this lead's")
    ] = None,
    status_: Annotated[Status | None, Query(alias="status", description="Only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 50,
) -> Any:
    async with runtime.engine.connect() as conn:
        rows = await store.list_deliveries(conn, lead_id, status_, limit)
    return {"deliveries": rows}


# ``:uuid`` so that ``GET /v1/deliveries/<id>:retry`` is no delivery id but the retry route
# asked with the wrong method (405, Allow: POST); a path that is no UUID is then a 404.
@router.get(
    "/deliveries/{delivery_id:uuid}",
    response_model=DeliveryDetail,
    responses=_NOT_FOUND,
    summary="One delivery with the CloudEvent sent and every attempt",
)
async def read_delivery(delivery_id: UUID, runtime: RuntimeDep, caller: DeliveriesRead) -> Any:
    async with runtime.engine.begin() as conn:  # the read and its audit entry: one round
        found = await store.get_delivery(conn, str(delivery_id))
        if found is not None:
            await audit.append(conn, caller.subject, "delivery.read", str(delivery_id))
    if found is None:
        raise _unknown(delivery_id)
    found["event"] = orjson.loads(found.pop("body"))
    return found


@router.post(
    "/deliveries/{delivery_id}:retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses={**_NOT_FOUND, 409: {"description": "The delivery is not failed"}},
    summary="Send a failed delivery again now, with a fresh set of attempts",
)
async def retry_delivery(delivery_id: UUID, runtime: RuntimeDep, caller: DeliveriesManage) -> Any:
    async with runtime.engine.begin() as conn:
        retried = await store.retry_failed(conn, str(delivery_id))
        if retried is not None:
            await audit.append(conn, caller.subject, "delivery.retried", str(delivery_id))
        current = None if retried else await store.delivery_status(conn, str(delivery_id))
    if retried is not None:
        return retried
    if current is None:
        raise _unknown(delivery_id)
    raise ApiError(
        409,
        "not_failed",
        f"delivery {delivery_id} is {current}; only failed deliveries can be retried",
        [{"field": "status", "problem": f"is {current}, must be failed"}],
    )


@router.get(
    "/subscriptions",
    response_model=SubscriptionList,
    tags=["subscriptions"],
    summary="The configured subscriptions (secrets are never shown)",
)
async def list_subscriptions(config: ConfigDep, caller: ConfigRead) -> Any:
    shown = {s.name: s.shown_target for s in config.to_domain().subscriptions}
    return {
        "subscriptions": [
            {
                "name": s.name,
                "channel": s.channel,
                "url": shown[s.name],
                "to": [t if isinstance(t, str) else t.model_dump(exclude_none=True) for t in s.to],
                "events": list(s.events),
                "when": s.when,
                "enabled": s.enabled,
                "timeout_s": s.timeout_s,
                "max_attempts": s.max_attempts,
            }
            for s in config.subscriptions
        ]
    }
