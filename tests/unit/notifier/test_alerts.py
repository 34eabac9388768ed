"""Planning alerts: one delivery per subscription, event and recipient; a stored message per
channel; quiet hours hold a message back unless the kind is urgent."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson

from services.notifier import alerts
from services.notifier.domain import NotifierRules, Subscription, event_type_for
from services.notifier.handlers import HANDLERS, DeliveryPlan, delivery_id_for
from services.notifier.recipients import FixedTarget, Person, QuietHours, Roster
from shared.contracts import EVENT_TYPES
from shared.contracts.envelope import Envelope

# 23:30 in London: Ana's quiet hours (21:00-08:00) hold her messages back until 08:00.
NIGHT = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)
ANA = Person(
    "ana", "Ana Silva", "ana@example.com", "UANA", "+447700900123", "Europe/London",
    QuietHours(21 * 60, 8 * 60),
)  # fmt: skip
RULES = alerts.AlertRules(
    roster=Roster({"ana": ANA}),
    dashboard_url="http://localhost:8006/leads/{lead_id}",
    smtp=alerts.SmtpServer("smtp.example.com", 587, "starttls", "Leadflow <alerts@example.com>"),
    sms_from="+15005550006",
)


def channel_sub(name: str, channel: str, events: list[str], **fields: Any) -> Subscription:
    return Subscription(
        name=name, url=fields.pop("url", ""), secret="",
        event_types=frozenset(event_type_for(e) for e in events), channel=channel, **fields,
    )  # fmt: skip


def envelope(short: str, **data: Any) -> Envelope:
    from services.notifier.samples import sample_data

    cls = EVENT_TYPES[event_type_for(short)]
    payload = sample_data(short) | data
    event = cls.model_validate(payload)
    return Envelope(
        id="evt-1", source="router", type=cls.TYPE, time=NIGHT, subject=event.lead_id, data=event
    )


def plan(env: Envelope, *subs: Subscription, now: datetime = NIGHT) -> DeliveryPlan:
    p = DeliveryPlan(NotifierRules(subscriptions=subs), RULES, now)
    HANDLERS[type(env.data)](p, env)
    return p


def test_each_recipient_gets_one_delivery_with_its_own_stable_id() -> None:
    mail = channel_sub(
        "mail", "email", ["lead.sla_breached"],
        recipients=("rep", "manager", FixedTarget(email="ops@example.com")),
        target="smtp://smtp.example.com:587",
    )  # fmt: skip
    team = {"name": "uk", "manager": {"name": "Zoe Grant", "email": "zoe@example.com"}}
    planned = plan(envelope("lead.sla_breached", team=team), mail).planned
    assert [d.recipient for d in planned] == [
        "person:ana",
        "person:manager:uk",
        "to:ops@example.com",
    ]
    assert [d.delivery_id for d in planned] == [
        delivery_id_for("mail", "evt-1", d.recipient) for d in planned
    ]
    assert len({d.delivery_id for d in planned}) == 3
    assert {d.url for d in planned} == {"smtp://smtp.example.com:587"}
    # lead.sla_breached is urgent: sent now, whatever Ana's quiet hours say.
    assert [d.not_before for d in planned] == [None, None, None]
    doc = orjson.loads(planned[0].body)
    assert doc["to"] == ["ana@example.com"]
    assert "Subject: SLA breached: Tom Baker" in doc["mime"]


def test_a_webhook_keeps_its_single_delivery_and_id() -> None:
    secret = "whsec_" + base64.b64encode(bytes(32)).decode()
    hook = channel_sub("crm", "webhook", ["lead.assigned"], url="https://crm.example.com/h")
    hook = Subscription(**{**hook.__dict__, "secret": secret})
    (delivery,) = plan(envelope("lead.assigned"), hook).planned
    assert (delivery.recipient, delivery.channel) == ("", "webhook")
    assert delivery.delivery_id == delivery_id_for("crm", "evt-1")
    assert orjson.loads(delivery.body)["type"] == "io.leadflow.lead.assigned.v1"


def test_quiet_hours_hold_a_message_until_they_end() -> None:
    sms = channel_sub("sms", "sms", ["lead.assigned"], recipients=("rep",))
    (delivery,) = plan(envelope("lead.assigned"), sms).planned
    assert delivery.not_before == datetime(2026, 12, 6, 8, tzinfo=UTC)
    assert orjson.loads(delivery.body) == {
        "To": "+447700900123",
        "From": "+15005550006",
        "Body": orjson.loads(delivery.body)["Body"],
    }
    (daytime,) = plan(envelope("lead.assigned"), sms, now=NIGHT.replace(hour=12)).planned
    assert daytime.not_before is None


def test_a_slack_bot_dms_each_recipient_and_a_webhook_posts_once_with_mentions() -> None:
    bot = channel_sub(
        "dm", "slack", ["lead.assigned"], recipients=("rep", FixedTarget(slack="C0HOT")),
        bearer="xoxb-1", url="https://slack.com/api/chat.postMessage",
    )  # fmt: skip
    hook = channel_sub("room", "slack", ["lead.assigned"], recipients=("rep",), url="https://h")
    teams = channel_sub("teams", "teams", ["lead.assigned"], url="https://t")
    planned = plan(envelope("lead.assigned"), bot, hook, teams, now=NIGHT.replace(hour=12))
    dms = [orjson.loads(d.body)["channel"] for d in planned.planned if d.subscription == "dm"]
    assert dms == ["UANA", "C0HOT"]
    (room,) = [d for d in planned.planned if d.subscription == "room"]
    assert room.recipient == "channel"
    blocks = orjson.loads(room.body)["blocks"]
    assert blocks[1]["text"]["text"].startswith("<@UANA> ")
    assert blocks[-1]["elements"][0]["url"].startswith("http://localhost:8006/leads/")
    (card,) = [d for d in planned.planned if d.subscription == "teams"]
    assert orjson.loads(card.body)["attachments"][0]["content"]["type"] == "AdaptiveCard"


def test_a_recipient_the_channel_cannot_reach_gets_nothing() -> None:
    sms = channel_sub("sms", "sms", ["lead.sla_breached"], recipients=("manager", "rep"))
    env = envelope("lead.sla_breached")
    assert [d.recipient for d in plan(env, sms).planned] == ["person:ana"]
    data = env.data.model_dump(mode="json")
    missed = alerts.unreachable(sms, data, RULES)  # the manager has no phone: counted
    assert [(r.role, r.person.email) for r in missed] == [("manager", "zoe@example.com")]


def test_an_erasure_alert_carries_no_personal_data() -> None:
    mail = channel_sub(
        "mail", "email", ["lead.erased"], recipients=(FixedTarget(email="dpo@example.com"),)
    )
    env = envelope("lead.erased", reason="tom.baker@example.com asked")
    (delivery,) = plan(env, mail).planned
    assert b"tom.baker" not in delivery.body
    assert b"Lead erased" in delivery.body
