"""The notifier's use cases for consumed events: plan one delivery per subscriber and
recipient — a signed webhook, or a message to a person or channel on Slack, Teams, e-mail or
SMS (:mod:`services.notifier.alerts`). An erasure is one of them (``lead.erased``),
delivered without any personal data.

Consumed events only plan deliveries (rows in ``deliveries``, written in the consumer's
batch transaction, leased for their first attempt); once that commits they are handed to the
delivery worker (:mod:`services.notifier.delivery`) in memory, which sends them at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from prometheus_client import Counter

from services.notifier import alerts, digest, domain, store
from services.notifier.handoff import DeliveryHandoff
from shared import clock
from shared.bus.consumer import BatchHandler
from shared.bus.dispatch import batch_handler
from shared.contracts import (
    LeadAssigned,
    LeadBucketChanged,
    LeadCaptured,
    LeadDisqualified,
    LeadErased,
    LeadFollowupClosed,
    LeadFollowupDue,
    LeadGoneCold,
    LeadQualified,
    LeadRecycled,
    LeadRoutedToNurture,
    LeadSlaBreached,
    LeadSlaWarning,
    LeadStageChanged,
    NurtureStepDue,
)
from shared.contracts.envelope import Envelope, Event, encode
from shared.db.uow import UnitOfWork

# Namespace of the delivery ids: uuid5(namespace, "<subscription>/<event id>").
DELIVERY_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4b7a-9a51-2f4c1e7d9b30")


UNREACHABLE = Counter(
    "leadflow_alert_recipients_unreachable_total",
    "Alert recipients a subscription's channel could not reach (no e-mail, phone or Slack id"
    " for them in the roster), by subscription and role",
    ["subscription", "role"],
)


def delivery_id_for(subscription: str, event_id: str, recipient: str = "") -> str:
    """One event, subscription and recipient always make the same delivery (and webhook-id);
    a webhook's (no recipient) is the id it had before channels existed."""
    name = f"{subscription}/{event_id}" + (f"/{recipient}" if recipient else "")
    return str(uuid.uuid5(DELIVERY_NAMESPACE, name))


@dataclass
class DeliveryPlan:
    """The deliveries a batch's events call for, before they are inserted."""

    rules: domain.NotifierRules
    alerts: alerts.AlertRules = field(default_factory=alerts.AlertRules)
    now: datetime = field(default_factory=clock.now)
    planned: list[store.NewDelivery] = field(default_factory=list)
    digest: list[store.DigestItem] = field(default_factory=list)  # lines for later summaries


def plan_deliveries(plan: DeliveryPlan, env: Envelope) -> None:
    """Each enabled subscription listing the event's type, whose condition holds, gets it:
    a webhook once, a people channel once per recipient it reaches."""
    data = env.data.model_dump(mode="json")
    subs = domain.matching_subscriptions(env.type, data, plan.rules.subscriptions)
    if not subs:
        return
    short = env.type.removeprefix("io.leadflow.").removesuffix(".v1")
    if env.type == domain.ERASED:
        data = domain.erasure_notice(data)
    for sub in subs:
        if sub.digest is not None and sub.channel != "webhook":
            ends = digest.period_end(plan.now, sub.digest)
            plan.digest.extend(
                store.DigestItem(
                    subscription=sub.name,
                    recipient=line.recipient,
                    event_id=env.id,
                    period_end=ends,
                    lead_id=line.lead_id,
                    title=line.title,
                    body=line.text,
                    link=line.link,
                    person=digest.person_json(line.person),
                    role=line.role,
                )
                for line in digest.digest_lines(sub, short, data, plan.alerts, env.id)
            )
            continue
        if sub.channel == "webhook":
            messages = [alerts.PlannedAlert("", _body(env))]
        else:
            messages = alerts.plan_alerts(sub, short, data, plan.alerts, plan.now, env.id)
            for missed in alerts.unreachable(sub, data, plan.alerts):
                UNREACHABLE.labels(sub.name, missed.role).inc()
        plan.planned.extend(
            store.NewDelivery(
                delivery_id=delivery_id_for(sub.name, env.id, m.recipient),
                subscription=sub.name,
                event_id=env.id,
                event_type=env.type,
                lead_id=env.data.lead_id,
                url=sub.shown_target,
                body=m.body,
                channel=sub.channel,
                recipient=m.recipient,
                not_before=m.not_before,
            )
            for m in messages
        )


def _body(env: Envelope) -> bytes:
    """The CloudEvent to POST: the event as consumed (its own id, source, time, correlation),
    an erasure cut down to :func:`domain.erasure_notice`."""
    _, body = encode(
        env.data,
        source=env.source,
        event_id=env.id,
        time=env.time,
        causationid=env.causationid,
        correlationid=env.correlationid,
    )
    if env.type != domain.ERASED:
        return body
    doc = orjson.loads(body)
    doc["data"] = domain.erasure_notice(doc["data"])
    return orjson.dumps(doc)


def make_batch_handler(
    rules: domain.NotifierRules,
    handoff: DeliveryHandoff,
    lease_s: float,
    alert_rules: alerts.AlertRules | None = None,
) -> BatchHandler:
    """The consumer's batch handler: plan every event's deliveries, insert them at once and
    hand the new ones to the delivery worker when the batch commits."""
    people = alert_rules or alerts.AlertRules()

    async def load(uow: UnitOfWork, envelopes: Sequence[Envelope]) -> DeliveryPlan:
        # a subscription its receiver disabled (410 Gone) gets nothing new
        off = await store.disabled_subscriptions(uow.conn)
        return DeliveryPlan(domain.receiving(rules, off), people, clock.now())

    async def save(uow: UnitOfWork, plan: DeliveryPlan) -> None:
        leased = await store.insert_deliveries(uow.conn, plan.planned, lease_s)
        await store.insert_digest_items(uow.conn, plan.digest)
        if leased:
            uow.after_commit(lambda: handoff.put(leased))

    return batch_handler(HANDLERS, load, save)


Handler = Callable[[DeliveryPlan, Envelope], None]

HANDLERS: dict[type[Event], Handler] = {
    LeadAssigned: plan_deliveries,
    LeadQualified: plan_deliveries,
    LeadDisqualified: plan_deliveries,
    LeadSlaWarning: plan_deliveries,
    LeadSlaBreached: plan_deliveries,
    LeadRoutedToNurture: plan_deliveries,
    NurtureStepDue: plan_deliveries,
    LeadFollowupDue: plan_deliveries,
    LeadGoneCold: plan_deliveries,
    LeadRecycled: plan_deliveries,
    LeadBucketChanged: plan_deliveries,
    LeadCaptured: plan_deliveries,
    LeadFollowupClosed: plan_deliveries,
    LeadStageChanged: plan_deliveries,
    # Given after the erase hook deleted the lead's other deliveries (handles_erasures in
    # main.py); the erasure's own delivery is kept by store.erase, so it is sent, retried
    # and audited like any other.
    LeadErased: plan_deliveries,
}
