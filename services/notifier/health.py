"""Per-subscription health in metrics: is it receiving, how its deliveries end, when it
last succeeded, and how many attempts in a row have failed since.

Set by the delivery worker (each attempt and outcome), its start (from the config and
``subscription_state``) and the enable route. Values are this process's view: with several
replicas, sum the counters and take the max of the timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge

from services.notifier.domain import Subscription

SUBSCRIPTION_UP = Gauge(
    "leadflow_notifier_subscription_up",
    "1 if the subscription receives new deliveries (enabled in the config and not disabled"
    " by its receiver's 410 Gone), else 0",
    ["subscription"],
)
DELIVERIES = Counter(
    "leadflow_notifier_deliveries_total",
    "Deliveries that reached an end state (delivered, failed, cancelled), by subscription"
    " and channel",
    ["subscription", "channel", "status"],
)
LAST_SUCCESS = Gauge(
    "leadflow_notifier_subscription_last_success_timestamp_seconds",
    "Unix time of the subscription's last delivered delivery (0: none since start)",
    ["subscription"],
)
CONSECUTIVE_FAILURES = Gauge(
    "leadflow_notifier_subscription_consecutive_failures",
    "Failed attempts in a row since the subscription's last success",
    ["subscription"],
)


def reset(subs: Iterable[Subscription], disabled: Iterable[str]) -> None:
    """At start: every configured subscription's gauges, up or not."""
    off = set(disabled)
    for sub in subs:
        SUBSCRIPTION_UP.labels(sub.name).set(1 if sub.enabled and sub.name not in off else 0)
        LAST_SUCCESS.labels(sub.name)
        CONSECUTIVE_FAILURES.labels(sub.name)


def attempted(subscription: str, channel: str, status: str, at: datetime | None) -> None:
    """After one attempt: ``status`` is the delivery's new one (pending: it will be retried);
    ``at`` when it was delivered."""
    if status == "delivered":
        CONSECUTIVE_FAILURES.labels(subscription).set(0)
        if at is not None:
            LAST_SUCCESS.labels(subscription).set(at.timestamp())
    else:
        CONSECUTIVE_FAILURES.labels(subscription).inc()
    if status != "pending":
        DELIVERIES.labels(subscription, channel, status).inc()


def disabled(subscription: str, channel: str, cancelled: int) -> None:
    """Its receiver answered 410: it is down, and its pending deliveries were cancelled."""
    SUBSCRIPTION_UP.labels(subscription).set(0)
    if cancelled:
        DELIVERIES.labels(subscription, channel, "cancelled").inc(cancelled)
