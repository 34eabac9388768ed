"""Notifier rules: who hears about an event, how a delivery is signed, when to retry.

Subscriptions name events by short name (``lead.assigned``); on the wire they are the
CloudEvents types ``io.leadflow.<short>.v1``. Deliveries are signed the Standard Webhooks
way (https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.

After each attempt :func:`next_step` says what to do: 2xx is delivered; 410 Gone and other
4xx (except 408 and 429) give up at once, since resending the same request cannot help (and
a 410 disables the whole subscription: :func:`ends_subscription`);
5xx, 408, 429, redirects (not followed) and network errors retry with exponential backoff
until ``max_attempts``. An attempt the SSRF guard refused (the target address is loopback,
private, metadata, ... and not allow-listed) gives up at once too: the address will not be
allowed until the config changes.

Pure functions over frozen dataclasses: no I/O, no clock, no randomness (the caller
passes the jitter and the timestamp in).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from typing import Any, Literal, TypeAlias

from standardwebhooks.webhooks import Webhook

from shared.conditions import ALWAYS, Condition, evaluate
from shared.contracts import LeadErased
from shared.net.egress import EgressPolicy

EVENT_SHORT_NAMES = (
    "lead.assigned",
    "lead.qualified",
    "lead.disqualified",
    "lead.routed_to_nurture",
    "nurture.step_due",
    "lead.sla_warning",
    "lead.sla_breached",
    "lead.gone_cold",
    "lead.erased",
    "lead.followup_due",
    "lead.recycled",
    "lead.bucket_changed",
    "lead.captured",
    "lead.followup_closed",
    "lead.stage_changed",
    # the notifier's own: a subscription disabled by its receiver's 410 Gone, for an alert
    "notification.subscription_disabled",
)
ERASED = LeadErased.TYPE
# What a subscriber is told of an erasure: which lead to forget and when. Not the requester's
# free-text reason, nor who asked (an audit fact, kept in Leadflow's audit trail).
ERASURE_NOTICE_FIELDS = ("lead_id", "erased_at")

MAX_JITTER = 0.25


def event_type_for(short_name: str) -> str:
    """A subscription's short event name is the CloudEvents type io.leadflow.<short>.v1."""
    if short_name not in EVENT_SHORT_NAMES:
        raise ValueError(f"unknown event {short_name!r}; use one of {', '.join(EVENT_SHORT_NAMES)}")
    return f"io.leadflow.{short_name}.v1"


CHANNELS = ("webhook", "slack", "teams", "email", "sms")


@dataclass(frozen=True)
class DigestSpec:
    """How often a subscription's alerts are summed up (services.notifier.digest), in which
    zone, and (daily) when."""

    every: Literal["hourly", "daily"]
    timezone: str = "UTC"
    at: time = time(8, 0)  # daily: the local time the digest goes out


@dataclass(frozen=True)
class Subscription:
    """Where which events go: a signed webhook (``url``, ``secret``), or an alert to people
    on Slack, Teams, e-mail or SMS (``channel``, ``recipients``). ``url`` is where an HTTP
    channel POSTs (a secret itself for Slack and Teams webhooks); ``target`` is what may be
    shown and stored of it."""

    name: str
    url: str = field(repr=False)
    secret: str = field(repr=False)
    event_types: frozenset[str]
    when: Condition = ALWAYS
    timeout_s: float = 5.0
    max_attempts: int = 8
    enabled: bool = True
    channel: str = "webhook"
    target: str = ""
    recipients: tuple[Any, ...] = ()  # recipients.RecipientSpec: role names, fixed targets
    bearer: str | None = field(default=None, repr=False)  # Slack bot token
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)  # SMS provider
    digest: DigestSpec | None = None  # one summary per recipient per period instead

    @property
    def shown_target(self) -> str:
        """What the delivery rows and the API show of where it goes (never a secret)."""
        return self.target or self.url


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff bounds for failed deliveries, in seconds."""

    base_s: float = 1.0
    max_s: float = 300.0


@dataclass(frozen=True)
class NotifierRules:
    """The notifier section of the config, as the domain uses it."""

    subscriptions: tuple[Subscription, ...] = ()
    retry: RetryPolicy = RetryPolicy()
    egress: EgressPolicy = EgressPolicy()  # which non-public addresses deliveries may reach


@dataclass(frozen=True)
class Delivered:
    """The receiver accepted the delivery."""

    attempts: int


@dataclass(frozen=True)
class Retry:
    """The attempt failed in a way that may pass later; try again as attempt next_attempt."""

    next_attempt: int


@dataclass(frozen=True)
class GaveUp:
    """The delivery will not be retried; reason says why."""

    reason: str
    attempts: int


Outcome: TypeAlias = Delivered | Retry | GaveUp


def matching_subscriptions(
    event_type: str, data: Mapping[str, Any], subs: Iterable[Subscription]
) -> list[Subscription]:
    """An enabled subscription gets an event of a type it lists when its condition holds. An
    erasure goes to every enabled subscription listing it, whatever the condition: it
    carries none of the fields a condition reads, and a receiver that was sent the lead must
    be able to forget it too."""
    return [
        sub
        for sub in subs
        if sub.enabled
        and event_type in sub.event_types
        and (event_type == ERASED or evaluate(sub.when, data))
    ]


def erasure_notice(data: Mapping[str, Any]) -> dict[str, Any]:
    """An erasure is delivered with the lead id and erasure time only: no personal data."""
    return {name: data[name] for name in ERASURE_NOTICE_FIELDS if name in data}


def backoff_delay(attempt: int, base_s: float, max_s: float, jitter: float) -> float:
    """After failed attempt n wait base * 2**(n-1) seconds, capped at max, times (1 + jitter)."""
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, got {attempt}")
    if not 0 <= jitter <= MAX_JITTER:
        raise ValueError(f"jitter must be between 0 and {MAX_JITTER}, got {jitter}")
    if base_s <= 0 or max_s <= 0:
        raise ValueError("base_s and max_s must be greater than zero")
    # 2**62 already dwarfs any sane max_s; capping the exponent avoids float overflow.
    raw = base_s * 2.0 ** min(attempt - 1, 62)
    return min(raw, max_s) * (1 + jitter)


def signed_headers(secret: str, msg_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """A delivery carries Standard Webhooks id, timestamp and v1 HMAC-SHA256 signature headers."""
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware (UTC)")
    # Webhook.sign() replaces tzinfo with UTC instead of converting, so convert first.
    utc = timestamp.astimezone(UTC)
    signature = Webhook(secret).sign(msg_id, utc, body.decode("utf-8"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(utc.timestamp())),
        "webhook-signature": str(signature),
        "content-type": "application/json",
    }


def next_step(
    status_code: int | None,
    attempt: int,
    max_attempts: int,
    refused: bool = False,
    verdict: str | None = None,
) -> Outcome:
    """2xx delivers; a refused target, 410 and other 4xx but 408/429 give up; the rest retry
    up to max_attempts. A channel that answers in its own terms (SMTP reply codes, Slack's
    ``{"ok": false}`` on 200) gives a ``verdict`` instead: ``ok``, ``reject`` (sending again
    cannot help) or ``retry``."""
    if attempt < 1 or max_attempts < 1:
        raise ValueError("attempt and max_attempts must be 1 or more")
    if refused:
        return GaveUp(reason="not sent: target address refused", attempts=attempt)
    if verdict == "ok":
        return Delivered(attempts=attempt)
    if verdict == "reject":
        return GaveUp(reason="rejected by the channel", attempts=attempt)
    if verdict == "retry":
        if attempt < max_attempts:
            return Retry(next_attempt=attempt + 1)
        return GaveUp(reason=f"no success after {attempt} attempt(s)", attempts=attempt)
    if status_code is not None and not 100 <= status_code <= 599:
        raise ValueError(f"not an HTTP status code: {status_code}")
    if status_code is not None and 200 <= status_code <= 299:
        return Delivered(attempts=attempt)
    if status_code == 410:
        return GaveUp(reason="receiver gone (410)", attempts=attempt)
    if status_code is not None and 400 <= status_code <= 499 and status_code not in (408, 429):
        return GaveUp(reason=f"rejected with 4xx ({status_code})", attempts=attempt)
    if attempt < max_attempts:
        return Retry(next_attempt=attempt + 1)
    last = "network error" if status_code is None else f"HTTP {status_code}"
    return GaveUp(reason=f"no success after {attempt} attempt(s) (last: {last})", attempts=attempt)


def ends_subscription(status_code: int | None, channel: str) -> bool:
    """A 410 Gone from an HTTP receiver (webhook, Slack or Teams incoming webhook, SMS API)
    means the target is gone for good: the subscription is disabled, not only the delivery
    failed. (An SMTP server has no such answer; a Slack archived channel answers 410.)"""
    return status_code == 410 and channel != "email"


def receiving(rules: NotifierRules, disabled: Iterable[str]) -> NotifierRules:
    """The rules without the subscriptions their receivers disabled: those get nothing new
    (the config's ``enabled`` is checked where subscriptions are matched)."""
    off = set(disabled)
    if not off:
        return rules
    return replace(rules, subscriptions=tuple(s for s in rules.subscriptions if s.name not in off))


def claims_from_table(handed_over: bool, since_last_claim_s: float, tick_s: float) -> bool:
    """The delivery worker looks in the table (retries, lost hand-overs) when nothing was
    handed over, and at least every tick while hand-overs keep coming, so a retry never
    waits behind a stream of new deliveries."""
    return not handed_over or since_last_claim_s >= tick_s
