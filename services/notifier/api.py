"""The notifier's deliveries API: list and filter (keyset pages), inspect one with every
attempt, retry a failed one or many by filter, re-send a delivered one.

A re-send is a new delivery row linked to the original (``resent_from``), with a new id (so
a new ``webhook-id``: the receiver is meant to take it again) and the original's message;
the original stays as it was, attempts and all."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel, ConfigDict, Field

from services.notifier import store
from services.notifier.deps import RuntimeDep
from services.notifier.domain import CHANNELS
from shared.auth.guard import DeliveriesManage, DeliveriesRead
from shared.db import audit
from shared.http import ApiError
from shared.params import NO_NUL, IsoDateTime

router = APIRouter(prefix="/v1", tags=["deliveries"])

Status = Literal["pending", "delivered", "failed", "cancelled"]
Channel = Literal["webhook", "slack", "teams", "email", "sms"]
assert set(Channel.__args__) == set(CHANNELS)  # type: ignore[attr-defined]
MAX_LIMIT = 500
MAX_RETRY = 10_000
CURSOR = r"^[A-Za-z0-9_-]{1,200}$"
RETRIED = "delivery.retried"


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
    status: Status = Field(
        description="pending, delivered, failed, or cancelled (still pending when its"
        " subscription was disabled by a 410 Gone; never sent unless retried)"
    )
    attempts: int = Field(description="Attempts made so far")
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending)")
    last_status_code: int | None = Field(
        description="HTTP status (SMTP reply code for e-mail) of the last attempt"
    )
    last_error: str | None = Field(description="Why the last attempt (or the delivery) failed")
    created_at: datetime = Field(description="When the event was received")
    delivered_at: datetime | None = Field(description="When the receiver accepted it")
    resent_from: UUID | None = Field(
        description="The delivered delivery this one re-sends (POST …:resend), if it is one"
    )


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
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )


class RetryFilter(BaseModel):
    """Which deliveries to send again: every given field must match; at least one field,
    or ``all: true``. ``reason`` is required and goes to the audit trail."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["failed", "cancelled"] = Field(
        "failed", description="failed (the default), or cancelled (by a 410 Gone)"
    )
    subscription: str | None = Field(None, max_length=64, pattern=NO_NUL)
    channel: Channel | None = None
    recipient: str | None = Field(None, max_length=320, pattern=NO_NUL)
    event_type: str | None = Field(
        None, max_length=200, pattern=NO_NUL, description="e.g. io.leadflow.lead.assigned.v1"
    )
    lead_id: str | None = Field(None, max_length=64, pattern=NO_NUL)
    since: IsoDateTime | None = Field(None, description="Created at or after")
    until: IsoDateTime | None = Field(None, description="Created before")
    all: bool = Field(False, strict=True, description="Every failed (or cancelled) delivery")
    limit: int = Field(1000, ge=1, le=MAX_RETRY, description="At most this many, oldest first")
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL, description="For the audit")

    def narrowed(self) -> bool:
        given = (self.subscription, self.channel, self.recipient, self.event_type,
                 self.lead_id, self.since, self.until)  # fmt: skip
        return self.all or any(v is not None for v in given)

    def to_filter(self) -> store.DeliveryFilter:
        return store.DeliveryFilter(
            lead_id=self.lead_id,
            statuses=(self.status,),
            subscription=self.subscription,
            channel=self.channel,
            recipient=self.recipient,
            event_type=self.event_type,
            since=self.since,
            until=self.until,
        )


class RetryOut(BaseModel):
    retried: list[UUID] = Field(description="The deliveries made pending again, due now")


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown delivery id"}}


def _unknown(delivery_id: UUID) -> ApiError:
    return ApiError(404, "unknown_delivery", f"no delivery with id {delivery_id}")


def _disabled(delivery_id: UUID) -> ApiError:
    return ApiError(
        409,
        "subscription_disabled",
        f"delivery {delivery_id}'s subscription was disabled by its receiver (410 Gone);"
        " enable it first (POST /v1/subscriptions/{name}:enable)",
        [{"field": "subscription", "problem": "is disabled by its receiver"}],
    )


def encode_cursor(created_at: datetime, delivery_id: str) -> str:
    """Where a page ended, opaque to clients: base64url of ``<created_at>|<delivery id>``."""
    raw = f"{created_at.isoformat()}|{delivery_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position ``encode_cursor`` wrote; ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, delivery_id = raw.partition("|")
        when = datetime.fromisoformat(at)
        return when, str(uuid.UUID(delivery_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor this API gave") from None


@router.get(
    "/deliveries",
    response_model=DeliveryList,
    responses={400: {"description": "`after` is not a cursor this API gave (invalid_cursor)"}},
    summary="List and filter deliveries, newest first, a page at a time",
)
async def list_deliveries(
    runtime: RuntimeDep,
    caller: DeliveriesRead,
    lead_id: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="Only this lead's")
    ] = None,
    status_: Annotated[Status | None, Query(alias="status", description="Only this status")] = None,
    subscription: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="Only this subscription's")
    ] = None,
    channel: Annotated[Channel | None, Query(description="Only this channel's")] = None,
    recipient: Annotated[
        str | None,
        Query(max_length=320, pattern=NO_NUL, description="Only this recipient's (person:ana)"),
    ] = None,
    event_type: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Only this CloudEvents type"),
    ] = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Created before")] = None,
    after: Annotated[
        str | None, Query(pattern=CURSOR, description="`next_after` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many")] = 50,
) -> Any:
    try:
        position = decode_cursor(after) if after is not None else None
    except ValueError as exc:
        raise ApiError(
            400, "invalid_cursor", f"after: {exc}", [{"field": "after", "problem": str(exc)}]
        ) from None
    where = store.DeliveryFilter(
        lead_id=lead_id,
        statuses=(status_,) if status_ is not None else None,
        subscription=subscription,
        channel=channel,
        recipient=recipient,
        event_type=event_type,
        since=since,
        until=until,
    )
    async with runtime.engine.connect() as conn:
        rows = await store.list_deliveries(conn, where, limit + 1, position)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more else None
    cursor = encode_cursor(last["created_at"], last["delivery_id"]) if last else None
    return {"deliveries": page, "next_after": cursor}


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
    responses={
        **_NOT_FOUND,
        409: {
            "description": "The delivery is not failed (not_failed), or its subscription is"
            " disabled by its receiver (subscription_disabled)"
        },
    },
    summary="Send a failed delivery again now, with a fresh set of attempts",
)
async def retry_delivery(delivery_id: UUID, runtime: RuntimeDep, caller: DeliveriesManage) -> Any:
    async with runtime.engine.begin() as conn:
        retried = await store.retry_failed(conn, str(delivery_id))
        if retried is not None:
            await audit.append(conn, caller.subject, RETRIED, str(delivery_id))
        current = None if retried else await store.delivery_status(conn, str(delivery_id))
    if retried is not None:
        return retried
    if current is None:
        raise _unknown(delivery_id)
    state, disabled = current
    if disabled and state == "failed":
        raise _disabled(delivery_id)
    raise ApiError(
        409,
        "not_failed",
        f"delivery {delivery_id} is {state}; only failed deliveries can be retried",
        [{"field": "status", "problem": f"is {state}, must be failed"}],
    )


@router.post(
    "/deliveries:retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetryOut,
    responses={400: {"description": "The filter names nothing and `all` is not true"}},
    summary="Send failed (or cancelled) deliveries matching a filter again, now",
)
async def retry_deliveries(
    body: Annotated[RetryFilter, Body()], runtime: RuntimeDep, caller: DeliveriesManage
) -> Any:
    """Each one gets a fresh attempt budget and an audit entry with the reason. Deliveries
    of a subscription its receiver disabled (410 Gone) are left until it is enabled."""
    if not body.narrowed():
        raise ApiError(
            400,
            "no_deliveries_named",
            "name deliveries with at least one filter field, or send all: true",
            [{"field": "all", "problem": "no filter field given and all is not true"}],
        )
    detail = {"reason": body.reason, "filter": body.model_dump(mode="json", exclude_none=True)}
    async with runtime.engine.begin() as conn:
        retried = await store.retry_matching(conn, body.to_filter(), body.limit)
        await audit.append_many(conn, [(caller.subject, RETRIED, i, detail) for i in retried])
    return {"retried": retried}


@router.post(
    "/deliveries/{delivery_id}:resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses={
        **_NOT_FOUND,
        409: {
            "description": "The delivery is not delivered (not_delivered), or its subscription"
            " is disabled by its receiver (subscription_disabled)"
        },
    },
    summary="Send a delivered delivery again, as a new delivery linked to it",
)
async def resend_delivery(delivery_id: UUID, runtime: RuntimeDep, caller: DeliveriesManage) -> Any:
    """The new delivery has a new id (a new ``webhook-id``, so the receiver takes it again)
    and the original's message; the original is left as it was."""
    new_id = str(uuid.uuid4())
    async with runtime.engine.begin() as conn:
        resent = await store.resend(conn, str(delivery_id), new_id)
        if resent is not None:
            detail = {"resent_as": new_id}
            await audit.append(conn, caller.subject, "delivery.resent", str(delivery_id), detail)
        current = None if resent else await store.delivery_status(conn, str(delivery_id))
    if resent is not None:
        return resent
    if current is None:
        raise _unknown(delivery_id)
    if current == ("delivered", True):
        raise _disabled(delivery_id)
    raise ApiError(
        409,
        "not_delivered",
        f"delivery {delivery_id} is {current[0]}; only delivered deliveries can be re-sent"
        " (retry a failed one)",
        [{"field": "status", "problem": f"is {current[0]}, must be delivered"}],
    )
