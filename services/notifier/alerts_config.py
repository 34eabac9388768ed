"""The parts of the ``notifier`` section for alerts to people: channel targets, recipients,
people, the SMTP server and SMS provider, templates and quiet hours::

    notifier:
      dashboard_url: http://localhost:8006/leads/{lead_id}
      urgent: [lead.sla_breached]            # alert kinds that ignore quiet hours
      smtp: {host: smtp.example.com, port: 587, security: starttls,
             username: alerts, password: ${SMTP_PASSWORD}, from: "Leadflow <alerts@example.com>"}
      sms: {url: "https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages.json",
            account_sid: AC123, auth_token: ${TWILIO_AUTH_TOKEN}, from: "+15005550006"}
      people:                                # by rep id (routing.reps), or any id
        ana: {slack_user_id: U024BE7LH, phone: "+447700900123",
              quiet_hours: {start: "21:00", end: "08:00"}}
      templates: {lead.assigned: {title: "{{ lead_name }} is yours"}}

Who is who. The notifier reads ``routing.reps`` (id, name, e-mail, time zone) and
``routing.teams`` (each rep's manager) from the same config document, so a rep's e-mail and
zone are written once, where the router needs them too; ``notifier.people`` adds what only
the notifier uses (Slack member id, phone, quiet hours) and may override the rest. Phones and
Slack ids stay out of the routing section because the router never reads them. Only those
fields are read from ``routing``, tolerantly: the router validates its own section.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from services.notifier.domain import DigestSpec
from services.notifier.recipients import (
    CURRENT_FIELDS,
    FixedTarget,
    Person,
    QuietHours,
    Roster,
    known_zone,
)
from shared.config import SecretReference

CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
E164 = r"^\+[1-9]\d{6,14}$"
SLACK_ID = r"^[CDGUW][A-Z0-9]{2,}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlackTarget(_Model):
    """An incoming-webhook URL (posts to its channel), or a bot token (DMs each recipient's
    Slack member id, or posts to the channel or user ids listed in ``to``)."""

    webhook_url: SecretReference | None = Field(None, description="Incoming webhook (a secret)")
    bot_token: SecretReference | None = Field(None, description="Bot token xoxb-… (a secret)")

    @model_validator(mode="after")
    def _one_way(self) -> SlackTarget:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise ValueError("give exactly one of webhook_url or bot_token")
        return self


class TeamsTarget(_Model):
    url: SecretReference = Field(description="Incoming webhook or Workflows URL (a secret)")


class FixedRecipient(_Model):
    """A fixed address (optionally only for one queue's events)."""

    email: EmailStr | None = None
    phone: str | None = Field(None, pattern=E164, description="E.164, e.g. +447700900123")
    slack: str | None = Field(None, pattern=SLACK_ID, description="Slack channel or member id")
    name: str | None = None
    queue: str | None = Field(None, description="Only for events of this queue")

    @model_validator(mode="after")
    def _has_address(self) -> FixedRecipient:
        if not (self.email or self.phone or self.slack):
            raise ValueError("give an email, phone or slack address")
        return self

    def to_domain(self) -> FixedTarget:
        return FixedTarget(
            str(self.email) if self.email else None, self.phone, self.slack, self.name, self.queue
        )


RecipientConfig = Literal["rep", "previous_rep", "manager"] | FixedRecipient


class QuietHoursConfig(_Model):
    start: str = Field(description="Local HH:MM when quiet starts, e.g. 21:00")
    end: str = Field(description="Local HH:MM when it ends, e.g. 08:00 (may wrap midnight)")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise ValueError(f"must be a time as HH:MM, got {value!r}")
        return value

    def to_domain(self) -> QuietHours:
        return QuietHours(_minutes(self.start), _minutes(self.end))


def _minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


class PersonConfig(_Model):
    """What the notifier needs to reach someone (a rep by their routing id, or anyone)."""

    name: str | None = None
    email: EmailStr | None = None
    slack_user_id: str | None = Field(None, pattern=r"^[UW][A-Z0-9]+$")
    phone: str | None = Field(None, pattern=E164, description="E.164, e.g. +447700900123")
    timezone: str | None = Field(None, description="IANA zone; a rep's defaults to routing's")
    quiet_hours: QuietHoursConfig | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SmtpConfig(_Model):
    host: str = Field(min_length=1, description="SMTP server host")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (587), tls (465, implicit) or none (local relays)"
    )
    username: str | None = None
    password: SecretReference | None = Field(None, description="A ${NAME} reference")
    from_: str = Field(alias="from", min_length=3, description="From, 'Name <addr@host>'")
    ca_file: Path | None = Field(
        None, description="PEM CA bundle to verify the server by (a private CA); else the system's"
    )


class SmsConfig(_Model):
    """A Twilio-style provider: POST form To/From/Body with basic auth (sid, token)."""

    url: str = Field(
        "https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages.json",
        description="Messages endpoint; {account_sid} is filled in",
    )
    account_sid: str = Field(min_length=1, description="Account id (the basic-auth user)")
    auth_token: SecretReference = Field(description="Auth token: a ${NAME} reference")
    from_: str = Field(alias="from", pattern=E164, description="Sender number, E.164")

    @property
    def endpoint(self) -> str:
        return self.url.replace("{account_sid}", self.account_sid)


def build_roster(people: Mapping[str, PersonConfig], routing: Any) -> Roster:
    """People from ``routing.reps`` and ``routing.teams`` overlaid with ``notifier.people``."""
    found: dict[str, Person] = {}
    reps = routing.get("reps") if isinstance(routing, Mapping) else None
    for rep in reps if isinstance(reps, list) else []:
        if isinstance(rep, Mapping) and isinstance(rep.get("id"), str):
            found[rep["id"]] = Person(
                id=rep["id"], name=_text(rep, "name"), email=_text(rep, "email"),
                timezone=known_zone(_text(rep, "timezone")),
            )  # fmt: skip
    pinned: dict[str, frozenset[str]] = {}
    for pid, p in people.items():
        pinned[pid] = frozenset(f for f in CURRENT_FIELDS if getattr(p, f) is not None)
        base = found.get(pid, Person(id=pid))
        found[pid] = Person(
            id=pid,
            name=p.name or base.name,
            email=str(p.email) if p.email else base.email,
            slack_user_id=p.slack_user_id,
            phone=p.phone,
            timezone=p.timezone or base.timezone,
            quiet_hours=p.quiet_hours.to_domain() if p.quiet_hours else None,
        )
    manager_of: dict[str, Person] = {}
    teams = routing.get("teams") if isinstance(routing, Mapping) else None
    for team in teams if isinstance(teams, list) else []:
        manager = team.get("manager") if isinstance(team, Mapping) else None
        if not isinstance(manager, Mapping) or not isinstance(manager.get("email"), str):
            continue
        person = _manager_person(team, manager, found)
        for member in team.get("members") or []:
            manager_of[str(member)] = person
    return Roster(found, manager_of, pinned)


def _manager_person(
    team: Mapping[str, Any], manager: Mapping[str, Any], found: dict[str, Person]
) -> Person:
    email = str(manager["email"])
    for person in found.values():
        if person.email and person.email.lower() == email.lower():
            return person
    return Person(
        id=f"manager:{team.get('name')}", name=_text(manager, "name"), email=email,
        slack_user_id=_text(manager, "slack_user_id"),
    )  # fmt: skip


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value and "${" not in value else None


class DigestConfig(_Model):
    """One summary per recipient per period instead of one message per event."""

    every: Literal["hourly", "daily"] = Field(description="hourly or daily")
    timezone: str = Field("UTC", description="IANA zone the periods are counted in")
    at: str = Field("08:00", description="daily: the local HH:MM the summary goes out")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK.match(value):
            raise ValueError(f"must be a time as HH:MM, got {value!r}")
        return value

    def to_domain(self) -> DigestSpec:
        minutes = _minutes(self.at)
        return DigestSpec(self.every, self.timezone, time(minutes // 60, minutes % 60))
