"""Digests: one summary per recipient per period instead of one message per event.

A subscription with ``digest: {every: hourly|daily, timezone, at}`` does not send each
event's alert: planning keeps one line per event and recipient (its rendered title, text
and link, :func:`digest_lines`), due at the end of the period the event fell in
(:func:`period_end`, in the subscription's time zone: the next full hour, or the next
``at`` o'clock for a daily digest). When a period ends on the service clock, the lines of
each recipient become one message (:func:`digest_message`), rendered with the ``digest``
template of the channel (``count``, ``items``, ``period_end``, ``subscription``).

Pure: the caller passes the time.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from services.notifier import alerts, messages, recipients
from services.notifier.domain import DigestSpec, Subscription
from services.notifier.recipients import Person, QuietHours, Recipient
from services.notifier.templates import alert_kind, render

DIGEST_KIND = "digest"
EVENT_TYPE = "digest"  # what a digest delivery shows as its event type


@dataclass(frozen=True)
class DigestLine:
    """One event's alert for one recipient (``person`` None: a channel post), waiting for
    its period's end."""

    subscription: str
    recipient: str
    event_id: str
    lead_id: str
    title: str
    text: str
    link: str | None
    person: Person | None
    role: str | None


def period_end(at: datetime, spec: DigestSpec) -> datetime:
    """The end (UTC) of the period ``at`` falls in: the next full local hour, or the next
    local ``spec.at`` o'clock (daily). A moment on the boundary starts the next period."""
    zone = ZoneInfo(spec.timezone)
    local = at.astimezone(zone)
    if spec.every == "hourly":
        start = local.replace(minute=0, second=0, microsecond=0)
        return start.astimezone(UTC) + timedelta(hours=1)
    today = _local(local.date(), spec.at, zone)
    if today > at:
        return today.astimezone(UTC)
    return _local(local.date() + timedelta(days=1), spec.at, zone).astimezone(UTC)


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def digest_lines(
    sub: Subscription,
    short_name: str,
    data: Mapping[str, Any],
    rules: alerts.AlertRules,
    event_id: str,
) -> list[DigestLine]:
    """What an event adds to a digest subscription's next summaries: a line per recipient
    the channel reaches (one for a channel post)."""
    kind = alert_kind(short_name, data)
    lead_id = str(data.get("lead_id", ""))
    link = messages.dashboard_link(rules.dashboard_url, lead_id)
    how = alerts.mode(sub)
    channel = sub.channel
    found = recipients.resolve_recipients(sub.recipients, data, rules.roster)

    def line(key: str, who: Recipient | None) -> DigestLine:
        context = messages.alert_context(kind, data, link, who)
        texts = render(rules.templates, kind, short_name, channel, context)
        person = who.person if who is not None else None
        role = who.role if who is not None else None
        return DigestLine(
            sub.name, key, event_id, lead_id, texts.title, texts.text, link, person, role
        )

    if how in alerts.CHANNEL_POSTS:
        return [line(alerts.CHANNEL_KEY, None)]
    return [line(r.key, r) for r in found if recipients.address_for(channel, r.person)]


def person_json(person: Person | None) -> str | None:
    """A recipient as stored with a line (to address the summary when it goes out)."""
    return None if person is None else orjson.dumps(asdict(person)).decode()


def person_from_json(raw: Any) -> Person | None:
    if raw is None:
        return None
    doc = dict(orjson.loads(raw) if isinstance(raw, bytes | str) else raw)
    quiet = doc.pop("quiet_hours", None)
    return Person(**doc, quiet_hours=QuietHours(**quiet) if quiet else None)


def summary_id(subscription: str, ends: datetime, event_ids: Sequence[str]) -> str:
    """The summary's event key: its period and the events in it, so a flush retried after
    a crash makes the same delivery (no double), and lines that arrive after their period
    was sent make a second, small summary instead of being dropped."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:16]
    return f"digest:{ends.astimezone(UTC).isoformat()}:{digest}"


def digest_message(
    sub: Subscription,
    lines: Sequence[DigestLine],
    ends: datetime,
    rules: alerts.AlertRules,
    now: datetime,
    key: str,
) -> bytes:
    """One recipient's summary of ``lines`` (the same recipient, one period)."""
    first = lines[0]
    items = [{"title": x.title, "text": x.text, "link": x.link, "lead_id": x.lead_id}
             for x in lines]  # fmt: skip
    context = {
        "kind": DIGEST_KIND,
        "count": len(items),
        "items": items,
        "period_end": ends.isoformat(),
        "subscription": sub.name,
        "lead_name": "",
        "dashboard_url": None,
        "recipient": {"name": first.person.name if first.person else None, "role": first.role},
    }
    texts = render(rules.templates, DIGEST_KIND, DIGEST_KIND, sub.channel, context)
    how = alerts.mode(sub)
    if how == "teams":
        return orjson.dumps(messages.teams_message(texts, {}, None))
    if how == "slack-webhook":
        return orjson.dumps(messages.slack_message(texts, {}, None))
    person = first.person
    assert person is not None
    address = recipients.address_for(sub.channel, person) or ""
    if how == "slack-bot":
        return orjson.dumps(messages.slack_message(texts, {}, None, channel=address))
    if how == "sms":
        body = messages.sms_text(texts, None)
        return orjson.dumps({"To": address, "From": rules.sms_from or "", "Body": body})
    assert how == "email" and rules.smtp is not None
    who = Recipient(first.recipient, first.role or "fixed", person)  # type: ignore[arg-type]
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key}/{first.recipient}"))
    mail = messages.email_message(texts, {}, None, rules.smtp.sender, who, message_id, now)
    return orjson.dumps({"from": rules.smtp.sender, "to": [address], "mime": mail.as_string()})


def quiet_until(now: datetime, line: DigestLine) -> datetime | None:
    """A summary waits for its recipient's quiet hours to end, like any alert."""
    return recipients.quiet_until(now, line.person) if line.person is not None else None
