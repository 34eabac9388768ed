"""The ``notifier`` section of the YAML config: outbound webhook subscriptions and retries.

Example::

    notifier:
      retry: {base_s: 1, max_s: 300}
      subscriptions:
        - name: crm
          url: https://crm.example.com/hooks/leadflow
          secret: ${LEADFLOW_CRM_WEBHOOK_SECRET}   # whsec_<base64 of 24-64 random bytes>
          events: [lead.assigned, nurture.step_due]
          when: {field: bucket, eq: hot}                    # optional, over the event data
          timeout_s: 5
          max_attempts: 8
          enabled: true

Events: lead.assigned, lead.qualified, lead.routed_to_nurture, nurture.step_due,
lead.sla_breached, lead.gone_cold. A secret is ``whsec_`` plus base64 of 24 to 64 random
bytes; make one with ``python -c "import base64, os;
print('whsec_' + base64.b64encode(os.urandom(32)).decode())"``. It is never written in the
file: ``secret`` must be a ``${NAME}`` reference, resolved from the variable ``NAME`` or the
file ``NAME_FILE`` names (shared.config.SecretReference); a literal is refused at load.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from services.notifier import domain
from shared.conditions import parse_condition
from shared.config import SecretReference, ServiceSettings, load_section

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
    """One outbound webhook: URL, signing secret, events, optional condition, delivery limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Unique subscription name")
    url: str = Field(description="http(s) URL the deliveries are POSTed to")
    secret: SecretReference = Field(
        description="Standard Webhooks signing secret, whsec_<base64>: a ${NAME} reference"
    )
    events: tuple[str, ...] = Field(min_length=1, description="Event short names")
    when: dict[str, Any] | None = Field(None, description="Condition over the event data")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Per-attempt HTTP timeout")
    max_attempts: int = Field(8, ge=1, le=30, description="Attempts before giving up")
    enabled: bool = Field(True, description="Disabled subscriptions receive nothing")

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"must be an http:// or https:// URL, got {url!r}")
        if not parts.hostname:
            raise ValueError(f"has no host: {url!r}")
        if any(ch.isspace() for ch in url.strip()):
            raise ValueError(f"must not contain spaces: {url!r}")
        return url.strip()

    @field_validator("secret")
    @classmethod
    def _secret_is_standard_webhooks(cls, secret: SecretStr) -> SecretStr:
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

    def to_domain(self) -> domain.Subscription:
        return domain.Subscription(
            name=self.name,
            url=self.url,
            secret=self.secret.get_secret_value(),
            event_types=frozenset(domain.event_type_for(e) for e in self.events),
            when=parse_condition(self.when, "when"),
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
            enabled=self.enabled,
        )


class RetryConfig(BaseModel):
    """Backoff between delivery attempts: base * 2**(attempt-1), capped at max_s, plus jitter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_s: float = Field(1.0, gt=0, allow_inf_nan=False, description="First retry delay")
    max_s: float = Field(300.0, gt=0, allow_inf_nan=False, description="Longest retry delay")

    @model_validator(mode="after")
    def _max_is_at_least_base(self) -> RetryConfig:
        if self.max_s < self.base_s:
            raise ValueError(f"max_s ({self.max_s}) must be at least base_s ({self.base_s})")
        return self


class NotifierConfig(BaseModel):
    """The notifier section: webhook subscriptions (unique names) and the retry policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subscriptions: tuple[SubscriptionConfig, ...] = Field((), description="Outbound webhooks")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="Retry backoff")

    @field_validator("subscriptions")
    @classmethod
    def _names_are_unique(
        cls, subscriptions: tuple[SubscriptionConfig, ...]
    ) -> tuple[SubscriptionConfig, ...]:
        seen: set[str] = set()
        for sub in subscriptions:
            if sub.name in seen:
                raise ValueError(f"duplicate subscription name {sub.name!r}")
            seen.add(sub.name)
        return subscriptions

    def to_domain(self) -> domain.NotifierRules:
        return domain.NotifierRules(
            subscriptions=tuple(s.to_domain() for s in self.subscriptions),
            retry=domain.RetryPolicy(base_s=self.retry.base_s, max_s=self.retry.max_s),
        )


class Settings(ServiceSettings):
    """The notifier's process settings (env ``LEADFLOW_*``); subscriptions live in the YAML."""

    service_name: str = "notifier"
    port: int = 8004
    # Off the latency path (a lead is decided before these react): fetch less often, which
    # saves the broker and this process CPU when idle.
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=1, le=500)
    delivery_tick_s: float = Field(
        0.1,
        gt=0,
        le=10,
        description="How long the delivery worker sleeps when nothing is due (seconds)",
    )


def load_notifier_config(path: Path) -> NotifierConfig:
    """Read and validate the ``notifier`` section of the config file at ``path``."""
    return load_section(path, "notifier", NotifierConfig)
