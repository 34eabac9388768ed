"""The ``notifier`` section of the YAML config: subscriptions (signed webhooks, and alerts on
Slack, Teams, e-mail and SMS: :mod:`services.notifier.subscription_config`), the people,
providers, templates and quiet-hour rules of alerts (:mod:`services.notifier.alerts_config`,
docs/configuration.md), retries and the SSRF allow-list.

Example (a webhook)::

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

SSRF guard: a subscription (its webhook, Slack, Teams or SMS URL) may not reach a
loopback, private, link-local, carrier-grade NAT, multicast, reserved or cloud metadata
address (:mod:`shared.net.egress`) unless ``allow_private_targets`` lists it:
``10.1.0.0/16`` (a network), ``127.0.0.1:8099`` or ``[::1]:8099`` (an address, optionally
one port), ``crm.internal[:8443]`` (a host name as written in the URL, whatever it resolves
to). :func:`load_notifier_config` refuses a subscription whose URL host is such an address,
or a name that resolves to one now; the delivery worker checks the address of every
connection again (DNS may change).
"""

from __future__ import annotations

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
    field_validator,
    model_validator,
)

from services.notifier import domain
from services.notifier.alerts import AlertRules, SmtpServer
from services.notifier.alerts_config import (
    PersonConfig,
    SmsConfig,
    SmtpConfig,
    build_roster,
)
from services.notifier.messages import alert_context
from services.notifier.samples import sample_data
from services.notifier.sections import read_notifier_section
from services.notifier.subscription_config import SubscriptionConfig, check_http_url
from services.notifier.templates import ALERT_KINDS, TemplateProblem, compile_templates
from shared.config import (
    ConfigError,
    ServiceSettings,
    validate_section,
)
from shared.net.egress import AllowEntry, EgressPolicy, IPAddress, parse_ip
from shared.net.lookup import Target, resolve_names
from shared.net.resolver import default_port

log = logging.getLogger(__name__)

ALLOW_SETTING = "notifier.allow_private_targets"


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
    dashboard_url: str | None = Field(
        None, description="A lead's dashboard page for alert links, with {lead_id}"
    )
    people: dict[str, PersonConfig] = Field(
        default_factory=dict, description="Contact details by person id (a rep's routing id)"
    )
    smtp: SmtpConfig | None = Field(None, description="SMTP server for e-mail alerts")
    sms: SmsConfig | None = Field(None, description="Twilio-style SMS provider")
    slack_api_url: str = Field(
        "https://slack.com/api", description="Slack Web API base, for bot-token subscriptions"
    )
    urgent: tuple[str, ...] = Field(
        ("lead.sla_breached",), description="Alert kinds sent even in a recipient's quiet hours"
    )
    templates: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Alert texts by kind (and channel); see templates.py"
    )

    @field_validator("dashboard_url", "slack_api_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        return None if url is None else check_http_url(url)

    @field_validator("urgent")
    @classmethod
    def _kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in kinds if k not in ALERT_KINDS]
        if unknown:
            raise ValueError(
                f"unknown alert kind {unknown[0]!r}; use one of {', '.join(ALERT_KINDS)}"
            )
        return kinds

    @field_validator("templates")
    @classmethod
    def _templates_render(cls, spec: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        try:
            compile_templates(spec, template_samples())
        except TemplateProblem as exc:
            raise ValueError(str(exc)) from None
        return spec

    @model_validator(mode="after")
    def _providers_are_configured(self) -> NotifierConfig:
        for sub in (s for s in self.subscriptions if s.enabled):
            if sub.channel == "email" and self.smtp is None:
                raise ValueError(f"subscription {sub.name!r} sends e-mail: configure smtp")
            if sub.channel == "sms" and self.sms is None:
                raise ValueError(f"subscription {sub.name!r} sends SMS: configure sms")
        return self

    def alert_rules(self, routing: Any = None) -> AlertRules:
        """Roster, templates and providers for alerts to people; ``routing`` is the config
        document's routing section (reps, teams), read for contact details."""
        smtp = self.smtp
        return AlertRules(
            roster=build_roster(self.people, routing),
            templates=compile_templates(self.templates, template_samples()),
            dashboard_url=self.dashboard_url,
            urgent=frozenset(self.urgent),
            smtp=None
            if smtp is None
            else SmtpServer(
                smtp.host,
                smtp.port,
                smtp.security,
                smtp.from_,
                smtp.username,
                smtp.password.get_secret_value() if smtp.password else None,
                str(smtp.ca_file) if smtp.ca_file else None,
            ),
            sms_from=self.sms.from_ if self.sms else None,
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
            subscriptions=tuple(
                s.to_domain(self.smtp, self.sms, self.slack_api_url) for s in self.subscriptions
            ),
            retry=domain.RetryPolicy(base_s=self.retry.base_s, max_s=self.retry.max_s),
            egress=self.egress_policy(),
        )


def template_samples() -> dict[str, dict[str, Any]]:
    """What a template of each alert kind sees for a sample event (validated against at load)."""
    return {
        kind: alert_context(kind, sample_data(kind), "https://leadflow.example/leads/x", None)
        for kind in ALERT_KINDS
    }


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


def http_url(config: NotifierConfig, sub: SubscriptionConfig) -> tuple[str, str] | None:
    """``(key, url)`` of where an HTTP subscription POSTs (its config key for errors), or None
    for e-mail (SMTP)."""
    url = sub.to_domain(config.smtp, config.sms, config.slack_api_url).url
    if not url:
        return None
    key = {"webhook": "url", "teams": "teams.url", "sms": "sms.url"}.get(sub.channel, "slack")
    return key, url


def names_to_resolve(config: NotifierConfig) -> list[Target]:
    """The (host, port) of every enabled HTTP subscription whose URL names a host (not an IP
    literal) that no allow-list entry vouches for by name."""
    policy = config.egress_policy()
    targets: list[Target] = []
    for sub in config.subscriptions:
        found = http_url(config, sub)
        if found is None:
            continue
        host, port = _host(found[1]), default_port(found[1])
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
        found = http_url(config, sub)
        if found is None:
            continue
        key, url = found
        host, port = _host(url), default_port(url)
        literal = parse_ip(host)
        addresses = [literal] if literal is not None else resolved.get((host, port), [])
        for address in addresses:
            refusal = policy.refusal(host, address, port)
            if refusal is not None:
                why = refusal.message(host, port, ALLOW_SETTING)
                problems.append(f"subscriptions[{i}].{key}: subscription {sub.name!r}: {why}")
                break
    return problems


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def load_notifier_config(path: Path) -> NotifierConfig:
    """Read and validate the ``notifier`` section of the config file at ``path``, then refuse
    subscriptions that point at internal addresses (SSRF guard; names are resolved now, and
    one that does not resolve yet is only warned about)."""
    config = validate_section(
        path, {"notifier": read_notifier_section(path)}, "notifier", NotifierConfig
    )
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
