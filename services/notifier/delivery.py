"""The delivery worker: send due deliveries (signed webhooks, Slack, Teams, SMS over HTTP;
e-mail over SMTP, see :mod:`services.notifier.senders`) and record what happened.

It claims with a lease instead of holding row locks across HTTP calls, so no transaction
stays open while a receiver is slow:

1. a first attempt needs no claim: the consumer inserted the delivery already leased and
   handed it over in memory (:mod:`services.notifier.handoff`). Anything else — retries, and
   first attempts a restart or a backlog left behind — is claimed by a short transaction:
   up to ``batch`` due pending rows (``next_attempt_at <= now()``, ``FOR UPDATE SKIP
   LOCKED``, so replicas share the work), counting their next attempt and moving
   ``next_attempt_at`` to now + lease (the longest subscription timeout plus a margin);
2. the sends run concurrently (HTTP on one shared ``aiohttp.ClientSession``), each with the
   subscription's credentials (from the config only, never the database) and cut off at
   its ``timeout_s``;
3. a second short transaction records every attempt and applies :func:`domain.next_step` —
   delivered, retry after :func:`domain.backoff_delay` with random jitter, or failed with
   the reason — but only where the row is still pending at that attempt number (a worker
   whose lease ran out cannot overwrite its successor). ``NotificationDelivered`` goes out
   through the outbox of that transaction.

Every connection goes through the SSRF guard: a URL whose host is an IP literal is checked
before the POST (:func:`~shared.net.resolver.literal_refusal`), and a host name's addresses
are checked each time the client resolves it (:class:`~shared.net.resolver.GuardedResolver`
on the connector), so a name that resolved to a public address at config load and to
127.0.0.1 now (DNS rebinding) is not connected to. A refused attempt fails the delivery at
once with the reason (counted in ``leadflow_webhook_refused_total``); redirects are never
followed, so no receiver can send the worker elsewhere.

If a worker dies between 1 and 3, the lease expires and the delivery is tried again, so a
receiver may see one ``webhook-id`` twice; Standard Webhooks receivers dedupe on it. A
delivery whose subscription was removed from (or disabled in) the config fails with a
clear reason instead of being sent. Database and network errors are logged, never fatal.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp
import orjson
from prometheus_client import Counter

from services.notifier import domain, handlers, health, senders, store
from services.notifier.alerts import AlertRules, SmtpServer
from services.notifier.config import ALLOW_SETTING
from services.notifier.handoff import DeliveryHandoff
from shared import clock
from shared.contracts import NotificationDelivered, SubscriptionDisabled
from shared.contracts.envelope import Envelope
from shared.db.uow import UnitOfWork
from shared.net.egress import EgressPolicy
from shared.net.resolver import EgressRefused, GuardedResolver, literal_refusal

if TYPE_CHECKING:
    from services.notifier.deps import NotifierRuntime

log = logging.getLogger(__name__)

USER_AGENT = "Leadflow-Notifier/1.0"
MAX_ERROR_CHARS = 500
MAX_IDLE_BACKOFF_S = 5.0

ATTEMPTS = Counter(
    "leadflow_webhook_attempts_total",
    "Webhook delivery attempts by subscription and outcome",
    ["subscription", "outcome"],
)
REFUSED = Counter(
    "leadflow_webhook_refused_total",
    "Webhook attempts not sent because the SSRF guard refused the target address, by kind"
    " (loopback, private, link-local, cloud metadata, ...)",
    ["subscription", "kind"],
)


@dataclass(frozen=True)
class DeliverySettings:
    """How the worker runs: the rules from the config, idle tick, batch size, lease margin."""

    rules: domain.NotifierRules
    tick_s: float = 0.1
    smtp: SmtpServer | None = None  # where e-mail deliveries are submitted
    # who is who and the templates: an alert that a subscription was disabled is planned here
    alerts: AlertRules = field(default_factory=AlertRules)
    batch: int = 100
    lease_margin_s: float = 15.0
    # Parallel POSTs over keep-alive connections (per receiver host).
    concurrency: int = 16

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is left alone: longest timeout plus the margin."""
        longest = max((s.timeout_s for s in self.rules.subscriptions), default=0.0)
        return longest + self.lease_margin_s

    @property
    def handoff_ttl_s(self) -> float:
        """How long a handed-over delivery may wait in memory and still be sent within its
        lease (its POST can take the longest timeout)."""
        return max(self.lease_margin_s - 1.0, 1.0)


async def deliver_due(runtime: NotifierRuntime) -> None:
    """Background job, forever: send what the consumer handed over, else what is due in the
    table (retries, and anything a restart left); wait a tick when there is nothing."""
    cfg, handoff = runtime.deps.delivery, runtime.deps.handoff
    idle = cfg.tick_s
    last_claim = 0.0
    try:
        async with runtime.engine.connect() as conn:
            health.reset(cfg.rules.subscriptions, await store.disabled_subscriptions(conn))
    except Exception:  # metrics only: never keep the worker from starting
        log.warning("could not read the subscriptions' state for the metrics", exc_info=True)
    # aiohttp, not httpx, for the hot outbound path: measured here at ~0.1 ms of CPU per
    # webhook against ~1.4 ms for httpx (docs/performance.md).
    async with aiohttp.ClientSession(
        headers={"user-agent": USER_AGENT},
        connector=aiohttp.TCPConnector(
            limit=0,
            limit_per_host=cfg.concurrency,
            resolver=GuardedResolver(cfg.rules.egress, ALLOW_SETTING),
        ),
    ) as client:
        while True:
            try:
                handed_over = handoff.take(cfg.batch)
                since_claim = time.monotonic() - last_claim
                from_table = domain.claims_from_table(bool(handed_over), since_claim, cfg.tick_s)
                if from_table:
                    last_claim = time.monotonic()
                handled = await deliver_round(runtime, client, cfg, handed_over, from_table)
                idle = cfg.tick_s
            except Exception:
                log.warning("delivery round failed; retrying in %.2fs", idle, exc_info=True)
                handled = 0
                idle = min(idle * 2, MAX_IDLE_BACKOFF_S)
            if handled == 0:
                await handoff.wait(idle)


async def deliver_round(
    runtime: NotifierRuntime,
    client: aiohttp.ClientSession,
    cfg: DeliverySettings,
    handed_over: list[store.ClaimedDelivery],
    from_table: bool = True,
) -> int:
    """POST and settle one batch: the handed-over deliveries and, with ``from_table``, those
    due in the table (claimed with a lease); return how many were attempted."""
    claimed = list(handed_over)
    if from_table:
        async with runtime.engine.begin() as conn:
            claimed += await store.claim_due(conn, cfg.batch, cfg.lease_s)
    if not claimed:
        return 0
    subs = {s.name: s for s in cfg.rules.subscriptions}
    slots = asyncio.Semaphore(cfg.concurrency)

    async def post(c: store.ClaimedDelivery) -> store.AttemptRecord:
        async with slots:
            sub = subs.get(c.subscription)
            return await post_once(client, sub, c, cfg.rules.egress, cfg.smtp)

    records = await asyncio.gather(*(post(c) for c in claimed))
    updates = [
        settle(
            c, subs.get(c.subscription), r, cfg.rules.retry, random.uniform(0, domain.MAX_JITTER)
        )
        for c, r in zip(claimed, records, strict=True)
    ]
    uow = runtime.uow()
    async with uow:
        applied = await store.record_outcomes(uow.conn, records, updates)
        for c, u in zip(claimed, updates, strict=True):
            if u.status == "delivered" and c.delivery_id in applied:
                uow.emit(_delivered_event(c, u), causationid=c.event_id, correlationid=_corr(c))
        gone = [
            (c, u)
            for c, r, u in zip(claimed, records, updates, strict=True)
            if u.status == "failed"
            and c.delivery_id in applied
            and c.subscription in subs
            and domain.ends_subscription(r.status_code, c.channel)
        ]
        ended = await _disable(uow, cfg, gone, runtime.deps.handoff) if gone else []
        await uow.commit()
    for c, r, u in zip(claimed, records, updates, strict=True):
        outcome = u.status if u.status != "pending" else "retry"
        ATTEMPTS.labels(c.subscription, outcome).inc()
        health.attempted(c.subscription, c.channel, u.status, u.delivered_at)
        if r.refused is not None:
            REFUSED.labels(c.subscription, r.refused).inc()
        if u.status == "failed":
            log.warning(
                "delivery failed: %s",
                u.error,
                extra={"delivery_id": c.delivery_id, "subscription": c.subscription},
            )
    for event in ended:
        health.disabled(event.subscription, event.channel, event.cancelled)
        log.warning(
            "subscription %s disabled: its receiver answered 410 Gone; enable it with"
            " POST /v1/subscriptions/%s:enable",
            event.subscription,
            event.subscription,
            extra={"subscription": event.subscription, "delivery_id": event.delivery_id},
        )
    return len(claimed)


async def post_once(
    client: aiohttp.ClientSession,
    sub: domain.Subscription | None,
    claimed: store.ClaimedDelivery,
    egress: EgressPolicy,
    smtp: SmtpServer | None = None,
) -> store.AttemptRecord:
    """Send one delivery on its channel (unless its subscription is gone, disabled or now
    another channel, or the SSRF guard refuses its address) and time it."""
    at = clock.now()
    started = time.perf_counter()
    code: int | None = None
    error: str | None = None
    refused: str | None = None
    verdict: str | None = None
    name = claimed.subscription
    http = sub is not None and sub.channel != "email"
    blocked = literal_refusal(egress, sub.url, ALLOW_SETTING) if sub is not None and http else None
    if sub is None:
        error = f"not sent: subscription {name!r} is no longer in the config"
    elif not sub.enabled:
        error = f"not sent: subscription {name!r} is disabled in the config"
    elif sub.channel != claimed.channel:
        error = f"not sent: subscription {name!r} is now a {sub.channel} subscription"
    elif sub.channel == "email":
        if smtp is None:
            error = "not sent: no smtp server in the config"
        else:
            sent = await senders.send_email(smtp, claimed.body, sub.timeout_s)
            code, error, verdict = sent.code, sent.error, sent.verdict
    elif blocked is not None:  # an IP literal: aiohttp does not ask the resolver about it
        error, refused = str(blocked), blocked.refusal.kind
    else:
        # A webhook is signed with the machine's time, not the deployment's (a driven clock
        # runs days ahead in tests and demos): the receiver checks it against its own clock.
        signed_at = datetime.now(UTC)
        req = senders.http_request(sub, claimed.delivery_id, claimed.body, signed_at)
        try:
            async with asyncio.timeout(sub.timeout_s):
                async with client.post(
                    req.url, data=req.data, headers=req.headers, allow_redirects=False
                ) as resp:
                    code = resp.status
                    peek = await resp.content.read(MAX_ERROR_CHARS)
            if not 100 <= code <= 599:
                error, code = f"invalid HTTP status {code}", None
            elif not 200 <= code <= 299:
                error = f"HTTP {code}: {peek.decode('utf-8', 'replace')}".rstrip(": ")
            else:
                verdict, error = senders.slack_verdict(sub, peek)
        except TimeoutError:
            error = f"timed out after {sub.timeout_s:g}s"
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, EgressRefused):
                error, refused = str(exc.os_error), exc.os_error.refusal.kind
            else:
                error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}".rstrip(": ")
        except Exception as exc:  # never let one delivery abort the round
            log.warning("unexpected error posting a delivery", exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
    duration_ms = round((time.perf_counter() - started) * 1000)
    return store.AttemptRecord(
        delivery_id=claimed.delivery_id,
        attempt=claimed.attempts,
        at=at,
        status_code=code,
        error=error[:MAX_ERROR_CHARS] if error else None,
        duration_ms=duration_ms,
        refused=refused,
        verdict=verdict,
    )


def settle(
    claimed: store.ClaimedDelivery,
    sub: domain.Subscription | None,
    record: store.AttemptRecord,
    retry: domain.RetryPolicy,
    jitter: float,
) -> store.DeliveryUpdate:
    """Turn an attempt into the delivery's new state by the domain's retry rules."""
    if sub is None or not sub.enabled or sub.channel != claimed.channel:
        return store.DeliveryUpdate(
            claimed.delivery_id, claimed.attempts, "failed", None, None, record.error
        )
    attempt = claimed.attempt_in_round
    refused = record.refused is not None
    outcome = domain.next_step(
        record.status_code, attempt, sub.max_attempts, refused, record.verdict
    )
    base = (claimed.delivery_id, claimed.attempts)
    target = sub.shown_target  # never a secret URL
    if isinstance(outcome, domain.Delivered):
        delivered_at = record.at + timedelta(milliseconds=record.duration_ms)
        code = record.status_code if record.status_code is not None else 250
        return store.DeliveryUpdate(
            *base, "delivered", target, code, None, delivered_at=delivered_at
        )
    if isinstance(outcome, domain.Retry):
        delay = domain.backoff_delay(attempt, retry.base_s, retry.max_s, jitter)
        return store.DeliveryUpdate(
            *base, "pending", target, record.status_code, record.error, retry_in_s=delay
        )
    reason = outcome.reason if not record.error else f"{outcome.reason}; last error: {record.error}"
    return store.DeliveryUpdate(*base, "failed", target, record.status_code, reason)


async def _disable(
    uow: UnitOfWork,
    cfg: DeliverySettings,
    gone: list[tuple[store.ClaimedDelivery, store.DeliveryUpdate]],
    handoff: DeliveryHandoff,
) -> list[SubscriptionDisabled]:
    """In the round's transaction: disable each subscription whose receiver answered 410,
    cancel its pending deliveries, emit ``SubscriptionDisabled`` and plan the alert of it
    for the other subscriptions that list ``notification.subscription_disabled``; return
    the events (none for a subscription disabled already)."""
    subs = {s.name: s for s in cfg.rules.subscriptions}
    ended: list[SubscriptionDisabled] = []
    now = clock.now()
    for c, u in gone:
        if any(e.subscription == c.subscription for e in ended):
            continue
        reason = u.error or "receiver gone (410)"
        cancelled = await store.disable_subscription(
            uow.conn, c.subscription, now, reason, c.delivery_id
        )
        if cancelled is None:
            continue
        event = SubscriptionDisabled(
            lead_id=c.lead_id,
            subscription=c.subscription,
            channel=c.channel,
            target=subs[c.subscription].shown_target,
            delivery_id=c.delivery_id,
            status_code=410,
            reason=reason,
            cancelled=cancelled,
            disabled_at=now,
        )
        event_id = uow.emit(event, causationid=c.event_id, correlationid=_corr(c))
        ended.append(event)
        env = Envelope(
            id=event_id,
            source="notifier",
            type=event.TYPE,
            time=now,
            subject=c.lead_id,
            data=event,
            causationid=c.event_id,
        )
        off = await store.disabled_subscriptions(uow.conn)
        plan = handlers.DeliveryPlan(domain.receiving(cfg.rules, off), cfg.alerts, now)
        handlers.plan_deliveries(plan, env)
        # leased and handed over once this commits, as the consumer does with new ones
        leased = await store.insert_deliveries(uow.conn, plan.planned, cfg.lease_s)
        await store.insert_digest_items(uow.conn, plan.digest)
        uow.after_commit(functools.partial(handoff.put, leased))
    return ended


def _delivered_event(c: store.ClaimedDelivery, u: store.DeliveryUpdate) -> NotificationDelivered:
    assert u.status_code is not None and u.delivered_at is not None
    return NotificationDelivered(
        lead_id=c.lead_id,
        delivery_id=c.delivery_id,
        subscription=c.subscription,
        event_type=c.event_type,
        attempts=c.attempts,
        status_code=u.status_code,
        delivered_at=u.delivered_at,
    )


def _corr(c: store.ClaimedDelivery) -> str | None:
    """The delivered CloudEvent's correlation id, carried on to NotificationDelivered."""
    try:
        value = orjson.loads(c.body).get("correlationid")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None
