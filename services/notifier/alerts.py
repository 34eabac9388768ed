"""Alerts to people: what one event makes for one Slack, Teams, e-mail or SMS subscription.

One message per recipient and channel address: a Slack bot DMs each recipient (or posts to
a fixed channel), e-mail and SMS go to each recipient's address; an incoming webhook (Slack,
Teams) posts once to its channel, naming the recipients (Slack mentions them). Each message
is rendered at planning time and stored whole in its delivery row, so every retry sends the
same bytes and the row shows what was sent. A recipient the channel cannot reach (no
e-mail, phone or Slack id) gets nothing; a recipient in their quiet hours gets it when they
end, unless the alert kind is urgent (``notifier.urgent``, by default ``lead.sla_breached``).

Pure: the caller passes the time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from services.notifier import messages, recipients
from services.notifier.domain import Subscription
from services.notifier.recipients import Recipient, Roster
from services.notifier.templates import Rendered, TemplateSet, alert_kind, render

# Channels that post once to a channel of their own rather than to each recipient.
CHANNEL_POSTS = frozenset({"teams", "slack-webhook"})
CHANNEL_KEY = "channel"  # the recipient key of a post to the channel itself


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail alerts are submitted, and as whom."""

    host: str
    port: int
    security: str  # starttls | tls | none
    sender: str  # the From address, "Leadflow <alerts@example.com>"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # PEM bundle of a private CA; None: the system's


@dataclass(frozen=True)
class AlertRules:
    """What alerts to people need besides the subscriptions: who is who, the templates, the
    dashboard link, which kinds ignore quiet hours, and the SMS sender number."""

    roster: Roster = field(default_factory=Roster)
    templates: TemplateSet = field(default_factory=TemplateSet)
    dashboard_url: str | None = None
    urgent: frozenset[str] = frozenset({"lead.sla_breached"})
    smtp: SmtpServer | None = None
    sms_from: str | None = None


@dataclass(frozen=True)
class PlannedAlert:
    """One message for one recipient (or the channel), and when it may go."""

    recipient: str
    body: bytes
    not_before: datetime | None = None


def mode(sub: Subscription) -> str:
    """The way a subscription sends: webhook, slack-bot, slack-webhook, teams, email or sms."""
    if sub.channel == "slack":
        return "slack-bot" if sub.bearer else "slack-webhook"
    return sub.channel


def unreachable(sub: Subscription, data: Mapping[str, Any], rules: AlertRules) -> list[Recipient]:
    """The recipients an event names whom the subscription's channel cannot reach (no
    e-mail, phone or Slack id): they get nothing, and the operator should know."""
    if mode(sub) in CHANNEL_POSTS or sub.channel == "webhook":
        return []
    found = recipients.resolve_recipients(sub.recipients, data, rules.roster)
    return [r for r in found if not recipients.address_for(sub.channel, r.person)]


def plan_alerts(
    sub: Subscription,
    short_name: str,
    data: Mapping[str, Any],
    rules: AlertRules,
    now: datetime,
    message_key: str,
) -> list[PlannedAlert]:
    """The messages an event makes for a people-facing subscription. ``message_key`` makes
    e-mail Message-IDs stable across retries."""
    kind = alert_kind(short_name, data)
    link = messages.dashboard_link(rules.dashboard_url, str(data.get("lead_id", "")))
    found = recipients.resolve_recipients(sub.recipients, data, rules.roster)
    how = mode(sub)
    channel = "email" if how == "email" else sub.channel
    if how in CHANNEL_POSTS:
        texts = render(rules.templates, kind, short_name, channel, _context(kind, data, link, None))
        if how == "teams":
            body = messages.teams_message(texts, data, link, found)
        else:
            body = messages.slack_message(texts, data, link, mentions=found)
        return [PlannedAlert(CHANNEL_KEY, orjson.dumps(body))]
    planned: list[PlannedAlert] = []
    for recipient in found:
        address = recipients.address_for(channel, recipient.person)
        if not address:
            continue
        texts = render(
            rules.templates, kind, short_name, channel, _context(kind, data, link, recipient)
        )
        wait = None if kind in rules.urgent else recipients.quiet_until(now, recipient.person)
        message = _body(how, texts, data, link, recipient, address, rules, now, message_key)
        planned.append(PlannedAlert(recipient.key, message, wait))
    return planned


def _context(
    kind: str, data: Mapping[str, Any], link: str | None, recipient: Recipient | None
) -> dict[str, Any]:
    return messages.alert_context(kind, data, link, recipient)


def _body(
    how: str,
    texts: Rendered,
    data: Mapping[str, Any],
    link: str | None,
    recipient: Recipient,
    address: str,
    rules: AlertRules,
    now: datetime,
    message_key: str,
) -> bytes:
    if how == "slack-bot":
        return orjson.dumps(messages.slack_message(texts, data, link, channel=address))
    if how == "sms":
        return orjson.dumps(
            {"To": address, "From": rules.sms_from or "", "Body": messages.sms_text(texts, link)}
        )
    assert how == "email" and rules.smtp is not None
    mail = messages.email_message(
        texts, data, link, rules.smtp.sender, recipient, _message_id(message_key, recipient), now
    )
    return orjson.dumps({"from": rules.smtp.sender, "to": [address], "mime": mail.as_string()})


def _message_id(message_key: str, recipient: Recipient) -> str:
    """The same e-mail Message-ID on every retry, so a mail client shows one message."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message_key}/{recipient.key}"))
