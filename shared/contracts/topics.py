"""Topic names and the flow between services, declared in one place.

One topic per event stream, keyed by lead id. Each topic has exactly one producing
service; the consumer group id is the consuming service's name; a consumer group's
dead letters go to ``leadflow.dlq.<group>``.

The names here are the contract's names (what ``Event.TOPIC``, the outbox and the AsyncAPI
document say). A deployment may put them under a prefix (``LEADFLOW_TOPIC_PREFIX``, e.g. so
that several stacks, or the tests, share one broker): the prefix is applied only where a
Kafka client meets the broker — the publisher, the consumer's subscription and group id,
topic creation and offset look-ups — each given ``settings.topic_prefix`` when the process
starts. Consumer group ids get it too: two deployments on one broker must not join each
other's groups. With no prefix (the default) the names on the broker are exactly the ones
below.
"""

from __future__ import annotations

from dataclasses import dataclass

LEAD_CAPTURED = "leadflow.lead.captured"
LEAD_ACTIVITY = "leadflow.lead.activity"
LEAD_UPDATED = "leadflow.lead.updated"
LEAD_ERASED = "leadflow.lead.erased"
LEAD_SCORED = "leadflow.lead.scored"
LEAD_QUALIFIED = "leadflow.lead.qualified"
LEAD_DISQUALIFIED = "leadflow.lead.disqualified"
LEAD_ASSIGNED = "leadflow.lead.assigned"
LEAD_ROUTED_TO_NURTURE = "leadflow.lead.routed_to_nurture"
LEAD_SLA_WARNING = "leadflow.lead.sla_warning"
LEAD_SLA_BREACHED = "leadflow.lead.sla_breached"
NURTURE_STEP_DUE = "leadflow.nurture.step_due"
NURTURE_STOPPED = "leadflow.nurture.stopped"
NOTIFICATION_DELIVERED = "leadflow.notification.delivered"
NOTIFICATION_SUBSCRIPTION_DISABLED = "leadflow.notification.subscription_disabled"
LEAD_FOLLOWUP_DUE = "leadflow.lead.followup_due"
LEAD_GONE_COLD = "leadflow.lead.gone_cold"
LEAD_RECYCLED = "leadflow.lead.recycled"
LEAD_BUCKET_CHANGED = "leadflow.lead.bucket_changed"
LEAD_FOLLOWUP_CLOSED = "leadflow.lead.followup_closed"
LEAD_STAGE_CHANGED = "leadflow.lead.stage_changed"


def topic_name(topic: str, prefix: str = "") -> str:
    """The name a topic has on the broker under ``prefix``."""
    return f"{prefix}{topic}"


def consumer_group_id(group: str, prefix: str = "") -> str:
    """The id a consumer group has on the broker under ``prefix``. Everywhere else (metrics,
    the inbox, dead-letter topic names) the group keeps its name, the consuming service's."""
    return f"{prefix}{group}"


def dead_letter_topic(group: str, prefix: str = "") -> str:
    return topic_name(f"leadflow.dlq.{group}", prefix)


@dataclass(frozen=True)
class TopicSpec:
    producer: str
    consumers: tuple[str, ...]


TOPOLOGY: dict[str, TopicSpec] = {
    LEAD_CAPTURED: TopicSpec("capture", ("scorer", "notifier", "insights")),
    LEAD_ACTIVITY: TopicSpec("capture", ("scorer", "router", "nurture", "insights")),
    LEAD_UPDATED: TopicSpec("capture", ("scorer", "insights")),
    LEAD_ERASED: TopicSpec("capture", ("scorer", "router", "nurture", "notifier", "insights")),
    LEAD_SCORED: TopicSpec("scorer", ("router", "insights")),
    LEAD_QUALIFIED: TopicSpec("scorer", ("notifier", "insights")),
    LEAD_DISQUALIFIED: TopicSpec("scorer", ("notifier", "router", "insights")),
    LEAD_ASSIGNED: TopicSpec("router", ("nurture", "notifier", "insights")),
    LEAD_ROUTED_TO_NURTURE: TopicSpec("router", ("nurture", "notifier", "insights")),
    LEAD_SLA_WARNING: TopicSpec("router", ("notifier", "insights")),
    LEAD_SLA_BREACHED: TopicSpec("router", ("notifier", "insights")),
    NURTURE_STEP_DUE: TopicSpec("nurture", ("notifier", "insights")),
    NURTURE_STOPPED: TopicSpec("nurture", ("insights",)),
    NOTIFICATION_DELIVERED: TopicSpec("notifier", ("insights",)),
    # for sales tools and operators; insights keeps it as an observation, like every event
    NOTIFICATION_SUBSCRIPTION_DISABLED: TopicSpec("notifier", ("insights",)),
    LEAD_FOLLOWUP_DUE: TopicSpec("nurture", ("notifier", "insights")),
    LEAD_GONE_COLD: TopicSpec("router", ("notifier", "insights")),
    LEAD_RECYCLED: TopicSpec("router", ("notifier", "insights")),
    LEAD_BUCKET_CHANGED: TopicSpec("scorer", ("notifier", "insights")),
    LEAD_FOLLOWUP_CLOSED: TopicSpec("nurture", ("router", "notifier", "insights")),
    LEAD_STAGE_CHANGED: TopicSpec("router", ("notifier", "insights")),
}

SERVICES: tuple[str, ...] = ("capture", "scorer", "router", "nurture", "notifier", "insights")


def topics_consumed_by(service: str, prefix: str = "") -> list[str]:
    return [
        topic_name(topic, prefix) for topic, spec in TOPOLOGY.items() if service in spec.consumers
    ]


def all_topics(prefix: str = "") -> list[str]:
    """Every topic a deployment needs, dead-letter topics included."""
    dlqs = [dead_letter_topic(s, prefix) for s in SERVICES if topics_consumed_by(s)]
    return [*(topic_name(t, prefix) for t in TOPOLOGY), *dlqs]
