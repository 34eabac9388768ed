"""The ``notifier`` section of the YAML config: outbound webhook subscriptions and retries.

Example::

    notifier:
      retry: {base_s: 1, max_s: 300}
      allow_private_targets: ["127.0.0.1:8099", "10.1.0.0/16"]   # see below
      subscriptions:
        - name: crm
          url: https://crm.example.com/hooks/leadflow
          secret: ${LEADFLOW_CRM_WEBHOOK_SECRET}   # whsec_<base64 of 24-64 random bytes>
          events: [lead.assigned, nurture.step_due]
          when: {field: bucket, eq: hot}                    # optional, over the event data
          timeout_s: 5
          max_attempts: 8
          enabled: true

Events: the names in :data:`services.notifier.domain.EVENT_SHORT_NAMES` (lead.assigned,
lead.qualified, lead.routed_to_nurture, nurture.step_due, lead.sla_breached, lead.erased, ...);
``lead.erased`` ignores ``when`` (it carries the lead id and erasure time only). A secret
is ``whsec_`` plus base64 of 24 to 64 random bytes; make one with ``python -c "import base64, os;
print('whsec_' + base64.b64encode(os.urandom(32)).decode())"``. It is never written in the
file: ``secret`` must be a ``${NAME}`` reference, resolved from the variable ``NAME`` or the
file ``NAME_FILE`` names (shared.config.SecretReference); a literal is refused at load.

SSRF guard: a subscription may not reach a loopback, private, link-local, carrier-grade
NAT, multicast, reserved or cloud metadata address (:mod:`shared.net.egress`) unless
``allow_private_targets`` lists it: ``10.1.0.0/16`` (a network), ``127.0.0.1:8099`` or
``[::1]:8099`` (an address, optionally one port), ``crm.internal[:8443]`` (a host name as
written in the URL, whatever it resolves to). :func:`load_notifier_config` refuses a
subscription whose URL host is such an address, or a name that resolves to one now; the
delivery worker checks the address of every connection again (DNS may change).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from services.notifier import domain
from shared.conditions import parse_condition
from shared.config import ConfigError, SecretReference, ServiceSettings, load_section
from shared.net.egress import AllowEntry, EgressPolicy, IPAddress, parse_ip
from shared.net.lookup import Target, resolve_names
from shared.net.resolver import default_port

log = logging.getLogger(__name__)

ALLOW_SETTING = "notifier.allow_private_targets"

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


def _allow_entry(text: str) -> str:
    AllowEntry.parse(text)
    return text.strip()


AllowTarget = Annotated[str, AfterValidator(_allow_entry)]


class NotifierConfig(BaseModel):
    """The notifier section: webhook subscriptions (unique names), the retry policy and the
    non-public addresses subscriptions may reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subscriptions: tuple[SubscriptionConfig, ...] = Field((), description="Outbound webhooks")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="Retry backoff")
    allow_private_targets: tuple[AllowTarget, ...] = Field(
        (),
        description="Loopback/private/link-local/metadata addresses webhooks may reach anyway:"
        " '10.1.0.0/16', '127.0.0.1:8099', '[::1]:8099', 'crm.internal:8443'",
    )

    def egress_policy(self) -> EgressPolicy:
        return EgressPolicy(tuple(AllowEntry.parse(t) for t in self.allow_private_targets))

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
            egress=self.egress_policy(),
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


def names_to_resolve(config: NotifierConfig) -> list[Target]:
    """The (host, port) of every enabled subscription whose URL names a host (not an IP
    literal) that no allow-list entry vouches for by name."""
    policy = config.egress_policy()
    targets: list[Target] = []
    for sub in config.subscriptions:
        host, port = _host(sub.url), default_port(sub.url)
        if sub.enabled and parse_ip(host) is None and not policy.trusts_name(host, port):
            targets.append((host, port))
    return targets


def target_problems(
    config: NotifierConfig, resolved: Mapping[Target, list[IPAddress]]
) -> list[str]:
    """``subscriptions[i].url: why`` for each subscription whose URL host is an IP literal,
    or (per ``resolved``) a name resolving now to an address the allow-list does not cover;
    disabled subscriptions are checked for literals only (their names are not looked up)."""
    policy = config.egress_policy()
    problems: list[str] = []
    for i, sub in enumerate(config.subscriptions):
        host, port = _host(sub.url), default_port(sub.url)
        literal = parse_ip(host)
        addresses = [literal] if literal is not None else resolved.get((host, port), [])
        for address in addresses:
            refusal = policy.refusal(host, address, port)
            if refusal is not None:
                why = refusal.message(host, port, ALLOW_SETTING)
                problems.append(f"subscriptions[{i}].url: subscription {sub.name!r}: {why}")
                break
    return problems


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def load_notifier_config(path: Path) -> NotifierConfig:
    """Read and validate the ``notifier`` section of the config file at ``path``, then refuse
    subscriptions that point at internal addresses (SSRF guard; names are resolved now, and
    one that does not resolve yet is only warned about)."""
    config = load_section(path, "notifier", NotifierConfig)
    resolved, failed = resolve_names(names_to_resolve(config))
    for (host, port), why in failed.items():
        log.warning(
            "notifier: cannot resolve webhook host %s:%s now (%s); its address is checked at"
            " delivery",
            host,
            port,
            why,
        )
    problems = target_problems(config, resolved)
    if problems:
        raise ConfigError("\n".join(f"{path}: notifier.{p}" for p in problems))
    return config
