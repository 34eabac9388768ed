"""The notifier's subscriptions API: what is configured and whether it is receiving, and
turning on again a subscription its receiver disabled with a 410 Gone.

A subscription receives when it is enabled in the config (the operator's say) and not
disabled by its receiver (``subscription_state``, the notifier's own record)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from services.notifier import store
from services.notifier.deps import ConfigDep, RuntimeDep
from services.notifier.health import SUBSCRIPTION_UP
from services.notifier.subscription_config import NAME_PATTERN
from shared import clock
from shared.auth.guard import ConfigRead, DeliveriesManage
from shared.db import audit
from shared.http import ApiError

router = APIRouter(prefix="/v1", tags=["subscriptions"])


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
    enabled: bool = Field(description="Enabled in the config (the operator's say)")
    disabled_at: datetime | None = Field(
        description="When its receiver answered 410 Gone and it was disabled; null if not"
    )
    disabled_reason: str | None = Field(description="Why it was disabled, if it is")
    receiving: bool = Field(description="Gets new deliveries: enabled and not disabled_at")
    timeout_s: float = Field(description="Per-attempt timeout")
    max_attempts: int = Field(description="Attempts before giving up")
    digest: dict[str, str] | None = Field(
        description="One summary per recipient per period ({every, timezone, at}), if set"
    )


class SubscriptionList(BaseModel):
    subscriptions: list[SubscriptionOut]


class EnabledOut(BaseModel):
    name: str = Field(description="Subscription name")
    receiving: bool = Field(description="Whether it gets new deliveries now (config enabled)")


@router.get(
    "/subscriptions",
    response_model=SubscriptionList,
    summary="The configured subscriptions and whether each is receiving (no secret shown)",
)
async def list_subscriptions(config: ConfigDep, runtime: RuntimeDep, caller: ConfigRead) -> Any:
    shown = {s.name: s.shown_target for s in config.to_domain().subscriptions}
    async with runtime.engine.connect() as conn:
        disabled = await store.disabled_subscriptions(conn)
    out = []
    for s in config.subscriptions:
        off = disabled.get(s.name)
        out.append(
            {
                "name": s.name,
                "channel": s.channel,
                "url": shown[s.name],
                "to": [t if isinstance(t, str) else t.model_dump(exclude_none=True) for t in s.to],
                "events": list(s.events),
                "when": s.when,
                "enabled": s.enabled,
                "disabled_at": off.at if off else None,
                "disabled_reason": off.reason if off else None,
                "receiving": s.enabled and off is None,
                "timeout_s": s.timeout_s,
                "max_attempts": s.max_attempts,
                "digest": s.digest.model_dump() if s.digest else None,
            }
        )
    return {"subscriptions": out}


@router.post(
    "/subscriptions/{name}:enable",
    response_model=EnabledOut,
    responses={
        404: {"description": "No subscription of that name in the config"},
        409: {"description": "It is not disabled by its receiver"},
    },
    summary="Enable again a subscription its receiver disabled (410 Gone)",
)
async def enable_subscription(
    name: Annotated[str, Path(pattern=NAME_PATTERN, description="Subscription name")],
    config: ConfigDep,
    runtime: RuntimeDep,
    caller: DeliveriesManage,
) -> Any:
    """New events reach it again; deliveries cancelled while it was disabled stay cancelled
    (send them with ``POST /v1/deliveries:retry`` ``{"status": "cancelled", ...}``)."""
    sub = next((s for s in config.subscriptions if s.name == name), None)
    if sub is None:
        raise ApiError(
            404,
            "unknown_subscription",
            f"no subscription {name!r} in the config",
            [{"field": "name", "problem": "not a subscription in the config"}],
        )
    async with runtime.engine.begin() as conn:
        enabled = await store.enable_subscription(conn, name, clock.now(), caller.subject)
        if enabled:
            await audit.append(conn, caller.subject, "subscription.enabled", name)
    if not enabled:
        raise ApiError(
            409,
            "not_disabled",
            f"subscription {name!r} was not disabled by its receiver",
            [{"field": "name", "problem": "is not disabled"}],
        )
    SUBSCRIPTION_UP.labels(name).set(1 if sub.enabled else 0)
    return {"name": name, "receiving": sub.enabled}
