"""One subscription in the ``notifier`` section: a signed webhook (``url``, ``secret``) or an
alert channel (``slack``, ``teams``, ``email``, ``sms`` with its target and ``to``), with its
events, condition and delivery limits. See :mod:`services.notifier.config` for the section.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from services.notifier import domain
from services.notifier.alerts_config import (
    DigestConfig,
    RecipientConfig,
    SlackTarget,
    SmsConfig,
    SmtpConfig,
    TeamsTarget,
)
from shared.conditions import parse_condition
from shared.config import SecretReference

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
SECRET_HINT = (
    'make one with: python -c "import base64, os; '
    "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""
)


def check_secret(secret: str) -> None:
    """A Standard Webhooks secret is 'whsec_' + base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(
            f"must start with '{SECRET_PREFIX}' (Standard Webhooks secret); {SECRET_HINT}"
        )
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"the part after '{SECRET_PREFIX}' is not valid base64; {SECRET_HINT}"
        ) from None
    if not SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES:
        raise ValueError(
            f"decodes to {len(raw)} bytes; Standard Webhooks secrets are "
            f"{SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes; {SECRET_HINT}"
        )


class SubscriptionConfig(BaseModel):
    """Where events go: a signed webhook (url, secret), or an alert to people on Slack,
    Teams, e-mail or SMS (``channel`` with its target, ``to``); events, optional condition,
    delivery limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Unique subscription name")
    channel: Literal["webhook", "slack", "teams", "email", "sms"] = Field(
        "webhook", description="webhook (signed CloudEvents), slack, teams, email or sms"
    )
    url: str | None = Field(None, description="webhook: http(s) URL the deliveries are POSTed to")
    secret: SecretReference | None = Field(
        None, description="webhook: Standard Webhooks signing secret, whsec_<base64>: a ${NAME}"
    )
    slack: SlackTarget | None = Field(None, description="slack: incoming webhook or bot token")
    teams: TeamsTarget | None = Field(None, description="teams: incoming webhook/Workflows URL")
    to: tuple[RecipientConfig, ...] = Field(
        (),
        description="Who gets it: rep, previous_rep, manager, or {email|phone|slack: ...,"
        " queue: ...} (not for webhook)",
    )
    events: tuple[str, ...] = Field(min_length=1, description="Event short names")
    when: dict[str, Any] | None = Field(None, description="Condition over the event data")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Per-attempt timeout")
    max_attempts: int = Field(8, ge=1, le=30, description="Attempts before giving up")
    enabled: bool = Field(True, description="Disabled subscriptions receive nothing")
    digest: DigestConfig | None = Field(
        None,
        description="One summary per recipient per period ({every: hourly|daily, timezone,"
        " at}) instead of one message per event (not for webhook)",
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str | None) -> str | None:
        return None if url is None else check_http_url(url)

    @field_validator("secret")
    @classmethod
    def _secret_is_standard_webhooks(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None:
            check_secret(secret.get_secret_value())
        return secret

    @field_validator("events")
    @classmethod
    def _events_are_known(cls, events: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for event in events:
            domain.event_type_for(event)
            if event in seen:
                raise ValueError(f"{event!r} is listed twice")
            seen.add(event)
        return events

    @field_validator("when")
    @classmethod
    def _when_is_a_condition(cls, when: dict[str, Any] | None) -> dict[str, Any] | None:
        parse_condition(when, "when")
        return when

    @model_validator(mode="after")
    def _channel_has_its_target(self) -> SubscriptionConfig:
        given = {
            "url": self.url is not None,
            "secret": self.secret is not None,
            "slack": self.slack is not None,
            "teams": self.teams is not None,
        }
        needs = {
            "webhook": ("url", "secret"),
            "slack": ("slack",),
            "teams": ("teams",),
            "email": (),
            "sms": (),
        }[self.channel]
        for key in needs:
            if not given[key]:
                raise ValueError(f"a {self.channel} subscription needs {key}")
        for key, present in given.items():
            if present and key not in needs:
                raise ValueError(f"{key} is not used by a {self.channel} subscription")
        if self.channel == "webhook" and self.to:
            raise ValueError("to is not used by a webhook subscription (it goes to url)")
        if self.channel == "webhook" and self.digest is not None:
            raise ValueError("digest is for alerts to people; a webhook gets every event")
        per_recipient = self.channel in ("email", "sms") or (
            self.slack is not None and self.slack.bot_token is not None
        )
        if per_recipient and not self.to:
            raise ValueError(f"a {self.channel} subscription needs to (who gets it)")
        if self.slack is not None and self.slack.webhook_url is not None:
            check_http_url(self.slack.webhook_url.get_secret_value(), secret=True)
        if self.teams is not None:
            check_http_url(self.teams.url.get_secret_value(), secret=True)
        return self

    def to_domain(
        self, smtp: SmtpConfig | None, sms: SmsConfig | None, slack_api: str
    ) -> domain.Subscription:
        url, target = self.url or "", self.url or ""
        bearer: str | None = None
        basic: tuple[str, str] | None = None
        if self.slack is not None and self.slack.webhook_url is not None:
            url, target = self.slack.webhook_url.get_secret_value(), "slack:incoming-webhook"
        elif self.slack is not None and self.slack.bot_token is not None:
            url = target = slack_api.rstrip("/") + "/chat.postMessage"
            bearer = self.slack.bot_token.get_secret_value()
        elif self.teams is not None:
            url, target = self.teams.url.get_secret_value(), "teams:webhook"
        elif self.channel == "sms" and sms is not None:
            url = target = sms.endpoint
            basic = (sms.account_sid, sms.auth_token.get_secret_value())
        elif self.channel == "email" and smtp is not None:
            target = f"smtp://{smtp.host}:{smtp.port}"
        return domain.Subscription(
            name=self.name,
            url=url,
            secret=self.secret.get_secret_value() if self.secret else "",
            event_types=frozenset(domain.event_type_for(e) for e in self.events),
            when=parse_condition(self.when, "when"),
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
            enabled=self.enabled,
            channel=self.channel,
            target=target,
            recipients=tuple(r if isinstance(r, str) else r.to_domain() for r in self.to),
            bearer=bearer,
            basic_auth=basic,
            digest=self.digest.to_domain() if self.digest else None,
        )


def check_http_url(url: str, secret: bool = False) -> str:
    """An http(s) URL with a host and no spaces; a secret URL is never quoted in the error."""
    shown = "(the secret URL)" if secret else repr(url)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL, got {shown}")
    if not parts.hostname:
        raise ValueError(f"has no host: {shown}")
    if any(ch.isspace() for ch in url.strip()):
        raise ValueError(f"must not contain spaces: {shown}")
    return url.strip()
