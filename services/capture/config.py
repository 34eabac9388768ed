"""Capture's settings, and the ``capture`` section of the YAML config: its sources.

```yaml
capture:
  csv: {max_rows: 10000, max_bytes: 10485760}   # limits of POST /v1/sources/{name}/csv
  sources:
    - name: website                 # URL-safe, unique: POST /v1/sources/website/leads
      kind: json                    # which parser reads the vendor's body
      channel: web                  # optional: wins over the vendor's channel
      campaign: always-on           # optional: when the lead carries no campaign
      mapping: {interest: attributes.product}   # lead field -> dotted path
      auth:
        type: api_key
        api_keys:                   # several = rotation; `leadflow keys source` makes one
          - {id: web-2026-11, hash: "sha256:<64 hex>", expires: 2027-06-01}
    - name: typeform
      kind: typeform
      auth: {type: typeform, secret_env: LEADFLOW_SECRET_TYPEFORM}   # never in the file
```

Secrets are read from the environment variables the file names, or from the file the
variable ``<NAME>_FILE`` names (shared.config.lookup_variable; an unreadable file stops the
service naming it). This module is the only reader of ``os.environ``. A variable that is
unset does not stop the service: that source answers ``503 source_not_ready`` naming it,
and ``GET /v1/sources`` shows it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from services.capture.domain.identity import FIELDS as MATCH_FIELDS
from services.capture.domain.identity import MatchRule
from services.capture.sources.auth import HASH_PREFIX, decode_whsec
from services.capture.sources.fetch_rules import RetryPolicy
from services.capture.sources.mapping import MAPPING_TARGETS, is_mapping_target
from services.capture.sources.model import (
    DEFAULT_TOLERANCE_S,
    ApiKey,
    Auth,
    AuthType,
    CsvLimits,
    Source,
    Sources,
    VendorApi,
)
from services.capture.sources.vendors import PARSERS, make_generic_parser
from services.capture.sources.vendors.hubspot import PROPERTIES as HUBSPOT_PROPERTIES
from shared.config import ConfigError, ServiceSettings, load_section, lookup_variable

SECTION = "capture"
NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
KEY_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
KINDS = tuple(sorted(PARSERS))
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Vendor-specific schemes only make sense for that vendor's payloads; api_key,
# standard_webhooks and none fit every kind.
VENDOR_AUTH: dict[str, frozenset[str]] = {
    "meta": frozenset({"meta_lead_ads"}),
    "typeform": frozenset({"typeform"}),
    "hubspot_v3": frozenset({"hubspot_forms", "hubspot_contact"}),
    "hubspot": frozenset({"hubspot_forms", "hubspot_contact"}),
    "google_ads": frozenset({"google_ads"}),
    "calendly": frozenset({"calendly"}),
    "linkedin": frozenset({"linkedin"}),
    "intercom": frozenset({"intercom", "generic", "json"}),
}
SECRET_AUTH = frozenset(
    {"standard_webhooks", "typeform", "hubspot_v3", "hubspot", "calendly", "linkedin", "intercom"}
)
TIMESTAMPED_AUTH = frozenset({"standard_webhooks", "hubspot_v3", "hubspot", "calendly"})
HUBSPOT_AUTH = frozenset({"hubspot_v3", "hubspot"})  # HubSpot signs the URL it called
_SECRET_KEYS = ("secret", "app_secret", "token", "verify_token", "key", "google_key", "password")

Loc = tuple[int | str, ...]


class Settings(ServiceSettings):
    """Where capture runs; its sources come from the YAML config file."""

    service_name: str = "capture"
    port: int = 8000
    # Fetch jobs (records that notifications only point at): how often due jobs are looked for
    # (a notification also wakes the fetcher at once), how often the backlog gauges are
    # refreshed, and the retry back-off: base * 2**(attempt-1), capped, given up after.
    fetch_tick_s: float = Field(1.0, gt=0)
    fetch_metrics_s: float = Field(15.0, gt=0)
    fetch_backoff_base_s: float = Field(30.0, gt=0)
    fetch_backoff_cap_s: float = Field(3600.0, gt=0)
    fetch_give_up_after_s: float = Field(7 * 86400.0, gt=0)
    # Each vendor source's token bucket (its posts authenticate by signature, not by a key of
    # the ring): requests a second on average (0: no limit) and in a burst; 429 beyond.
    source_rate_limit_per_s: float = Field(50.0, ge=0)
    source_rate_limit_burst: int = Field(500, ge=1)

    def fetch_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base=timedelta(seconds=self.fetch_backoff_base_s),
            cap=timedelta(seconds=self.fetch_backoff_cap_s),
            give_up_after=timedelta(seconds=self.fetch_give_up_after_s),
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeyConfig(_Model):
    id: str = Field(pattern=KEY_ID, description="Names the key in logs and for rotation")
    hash: str = Field(description="sha256:<64 hex digits> of the key (`leadflow keys source`)")
    expires: datetime | date | None = Field(
        None, description="Refused from this instant (a date: from its midnight UTC)"
    )

    @field_validator("hash")
    @classmethod
    def _sha256(cls, value: str) -> str:
        if not value.startswith(HASH_PREFIX) or not _HEX64.match(value[len(HASH_PREFIX) :]):
            raise _error(
                "must be 'sha256:' + 64 lower-case hex digits (run `leadflow keys source`);"
                " never the key itself"
            )
        return value


class AuthConfig(_Model):
    type: AuthType = Field(description="How the source proves who it is")
    api_keys: list[ApiKeyConfig] | None = Field(None, description="type api_key")
    allow_query_key: bool = Field(
        False, description="api_key: also accept ?api_key= (vendors that cannot set headers)"
    )
    secret_env: str | None = Field(None, pattern=ENV_NAME, description="Variable with the secret")
    verify_token_env: str | None = Field(
        None, pattern=ENV_NAME, description="meta: variable with the GET handshake's verify token"
    )
    tolerance_s: int = Field(
        DEFAULT_TOLERANCE_S, ge=1, le=3600, description="Timestamped signatures: allowed skew"
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#]+/?$",
        description="hubspot, hubspot_v3: scheme://host HubSpot calls, when a proxy changes it",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_secret_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _SECRET_KEYS:
                if key in data:
                    raise _error(
                        f"'{key}': secrets never go in the file; name an environment variable"
                        " with secret_env (or verify_token_env)"
                    )
        return data

    @model_validator(mode="after")
    def _fields_fit_type(self) -> Self:
        problems: list[tuple[Loc, str]] = []
        needs = {
            "api_keys": self.type == "api_key",
            "secret_env": self.type in SECRET_AUTH | {"meta", "google_ads"},
            "verify_token_env": self.type == "meta",
        }
        for name, needed in needs.items():
            given = getattr(self, name) is not None
            if needed and not given:
                problems.append(((name,), f"required for type {self.type}"))
            if given and not needed:
                problems.append(((name,), f"not used by type {self.type}"))
        if self.api_keys is not None:
            if not self.api_keys:
                problems.append((("api_keys",), "needs at least one key"))
            problems += _duplicates([k.id for k in self.api_keys], "api_keys", "id", "key id")
        unused = {
            "allow_query_key": self.type != "api_key" and self.allow_query_key,
            "tolerance_s": self.type not in TIMESTAMPED_AUTH
            and self.tolerance_s != DEFAULT_TOLERANCE_S,
            "public_url": self.type not in HUBSPOT_AUTH and self.public_url is not None,
        }
        problems += [((k,), f"not used by type {self.type}") for k, bad in unused.items() if bad]
        _raise(self, problems)
        return self


class GraphConfig(_Model):
    access_token_env: str = Field(pattern=ENV_NAME, description="Variable with a Page token")
    api_url: str = Field("https://graph.facebook.com", pattern=r"^https?://[^?#]+$")
    api_version: str = Field("v23.0", pattern=r"^v\d+\.\d+$")
    timeout_s: float = Field(10.0, gt=0, le=60)


# What each fetching kind's ``api`` settings default to (tests point api_url at a local server).
API_DEFAULTS = {
    "hubspot_contact": ("https://api.hubapi.com", "v3"),
    "linkedin": ("https://api.linkedin.com", "202511"),  # LinkedIn-Version: YYYYMM
}
# HubSpot returns only the properties asked for: the ones capture maps, and a CRM's favourites.
DEFAULT_HUBSPOT_PROPERTIES = tuple(
    dict.fromkeys(
        [
            *HUBSPOT_PROPERTIES,
            "city",
            "state",
            "zip",
            "website",
            "hs_lead_status",
            "lifecyclestage",
            "hs_analytics_source_data_1",
            "hs_analytics_source_data_2",
            "createdate",
        ]
    )
)


class ApiConfig(_Model):
    """hubspot_contact / linkedin: fetching the records their webhooks only point at."""

    access_token_env: str = Field(
        pattern=ENV_NAME,
        description="Variable with the token: a HubSpot private app token, a LinkedIn OAuth token",
    )
    api_url: str | None = Field(
        None, pattern=r"^https?://[^?#]+$", description="Base URL; the vendor's by default"
    )
    api_version: str | None = Field(
        None, pattern=r"^[A-Za-z0-9._-]{1,16}$", description="linkedin: LinkedIn-Version (YYYYMM)"
    )
    timeout_s: float = Field(10.0, gt=0, le=60)
    properties: list[str] | None = Field(
        None, description="hubspot_contact: contact properties to read (a CRM's usual set)"
    )


class SourceConfig(_Model):
    name: str = Field(pattern=NAME, description="URL-safe id, lower case: /v1/sources/{name}")
    kind: str = Field(description="Parser of the vendor's body")
    auth: AuthConfig
    mapping: dict[str, str] = Field(
        default_factory=dict, description="Lead field -> dotted path; required for generic"
    )
    channel: str | None = Field(None, min_length=1, max_length=64)
    campaign: str | None = Field(None, min_length=1, max_length=256)
    graph: GraphConfig | None = Field(None, description="meta_lead_ads: fetching notified leads")
    api: ApiConfig | None = Field(
        None, description="hubspot_contact, linkedin: fetching the records webhooks point at"
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise _error(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        return kind

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, mapping: dict[str, str]) -> dict[str, str]:
        for target in mapping:
            if not is_mapping_target(target):
                known = ", ".join(sorted(MAPPING_TARGETS))
                raise _error(f"{target!r} is not a lead field; use one of {known}, attributes.*")
        try:
            make_generic_parser(mapping)  # compiles every path, as the parser will
        except ValueError as exc:
            raise _error(str(exc)) from None
        return mapping

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[tuple[Loc, str]] = []
        if self.kind == "generic" and not self.mapping:
            problems.append((("mapping",), "required for kind generic (lead field -> path)"))
        kinds = VENDOR_AUTH.get(self.auth.type)
        if kinds is not None and self.kind not in kinds:
            problems.append(
                (("auth", "type"), f"{self.auth.type} fits kind {', '.join(sorted(kinds))} only")
            )
        if self.kind == "meta_lead_ads" and self.graph is None and self.auth.type == "meta":
            problems.append((("graph",), "required: Meta's notifications name leads to fetch"))
        if self.kind != "meta_lead_ads" and self.graph is not None:
            problems.append((("graph",), f"not used by kind {self.kind}"))
        if self.kind not in API_DEFAULTS and self.api is not None:
            problems.append((("api",), f"not used by kind {self.kind}"))
        properties = self.api.properties if self.api is not None else None
        if properties is not None and self.kind != "hubspot_contact":
            problems.append((("api", "properties"), f"not used by kind {self.kind}"))
        _raise(self, problems)
        return self


class CsvConfig(_Model):
    max_rows: int = Field(10_000, ge=1, le=1_000_000)
    max_bytes: int = Field(10 * 1_048_576, ge=1024, le=256 * 1_048_576)


class MatchRuleConfig(_Model):
    """A person is also recognised when all these fields agree (after normalisation)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    fields: list[str] = Field(min_length=1, description=f"Some of: {', '.join(MATCH_FIELDS)}")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in MATCH_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; use {', '.join(MATCH_FIELDS)}"
            )
        return fields


class CaptureConfig(_Model):
    sources: list[SourceConfig] = Field(default_factory=list)
    csv: CsvConfig = Field(default_factory=CsvConfig)
    matching: list[MatchRuleConfig] = Field(
        default_factory=list,
        description="Identity rules tried after e-mail and phone, in order",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        _raise(self, _duplicates([s.name for s in self.sources], "sources", "name", "source name"))
        _raise(self, _duplicates([r.name for r in self.matching], "matching", "name", "rule name"))
        return self

    def match_rules(self) -> tuple[MatchRule, ...]:
        return tuple(MatchRule(r.name, tuple(r.fields)) for r in self.matching)


def load_capture_config(path: Path) -> CaptureConfig:
    """Read and validate the ``capture`` section; raises ConfigError naming file and key."""
    return load_section(path, SECTION, CaptureConfig)


def load_sources(path: Path, environ: Mapping[str, str] | None = None) -> Sources:
    """The configured sources with their secrets read from the environment."""
    return to_domain(load_capture_config(path), os.environ if environ is None else environ)


@dataclass(frozen=True)
class Loaded:
    """The capture section as the service starts with it. An invalid section leaves no
    sources and its error, which stops the service at start (in the lifespan), not when
    the app is built: the OpenAPI document needs no config."""

    sources: Sources
    match_rules: tuple[MatchRule, ...] = ()
    error: ConfigError | None = None


def load_capture(path: Path, environ: Mapping[str, str] | None = None) -> Loaded:
    try:
        config = load_capture_config(path)
        sources = to_domain(config, os.environ if environ is None else environ)
    except ConfigError as exc:
        return Loaded(Sources(), error=exc)
    return Loaded(sources, config.match_rules())


def to_domain(config: CaptureConfig, environ: Mapping[str, str]) -> Sources:
    return Sources(
        by_name={s.name: _source(s, environ) for s in config.sources},
        csv=CsvLimits(max_rows=config.csv.max_rows, max_bytes=config.csv.max_bytes),
    )


def _source(config: SourceConfig, environ: Mapping[str, str]) -> Source:
    problems: list[str] = []

    def secret(name: str | None, required: bool = True) -> str | None:
        if name is None:
            return None
        try:
            value = (lookup_variable(name, environ) or "").strip()
        except ConfigError as exc:
            raise ConfigError(f"capture: source {config.name}: {exc}") from None
        if not value:
            if required:
                problems.append(f"{name} is not set")
            return None
        return value

    auth = config.auth
    key = secret(auth.secret_env)
    if key is not None and auth.type == "standard_webhooks":
        try:
            decode_whsec(key)
        except ValueError:
            problems.append(f"{auth.secret_env} is not a Standard Webhooks secret (whsec_<base64>)")
    graph = api = None
    if config.graph is not None:
        graph = VendorApi(
            url=config.graph.api_url.rstrip("/"),
            version=config.graph.api_version,
            access_token=secret(config.graph.access_token_env),
            timeout_s=config.graph.timeout_s,
        )
    if config.api is not None:
        url, version = API_DEFAULTS[config.kind]
        api = VendorApi(
            url=(config.api.api_url or url).rstrip("/"),
            version=config.api.api_version or version,
            # Unset, the source still takes full records; its fetch jobs wait for the token.
            access_token=secret(config.api.access_token_env, required=False),
            timeout_s=config.api.timeout_s,
            properties=tuple(config.api.properties or DEFAULT_HUBSPOT_PROPERTIES),
        )
    return Source(
        name=config.name,
        kind=config.kind,
        auth=Auth(
            type=auth.type,
            api_keys=tuple(
                ApiKey(k.id, k.hash[len(HASH_PREFIX) :], _instant(k.expires))
                for k in auth.api_keys or ()
            ),
            allow_query_key=auth.allow_query_key,
            secret=key,
            verify_token=secret(auth.verify_token_env),
            tolerance_s=auth.tolerance_s,
            public_url=auth.public_url.rstrip("/") if auth.public_url else None,
        ),
        mapping=dict(config.mapping),
        channel=config.channel,
        campaign=config.campaign,
        graph=graph,
        api=api,
        problems=tuple(problems),
    )


def _instant(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(0, 0), UTC)


def _duplicates(names: list[str], section: str, key: str, what: str) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for i, name in enumerate(names):
        if name in first:
            problems.append(
                ((section, i, key), f"duplicate {what} {name!r} (also {section}[{first[name]}])")
            )
        else:
            first.setdefault(name, i)
    return problems


def _error(message: str) -> PydanticCustomError:
    """An error whose text is exactly ``message`` (no 'Value error,' prefix)."""
    return PydanticCustomError("capture_config", "{message}", {"message": message})


def _raise(model: BaseModel, problems: list[tuple[Loc, str]]) -> None:
    if problems:
        details = [InitErrorDetails(type=_error(m), loc=loc, input=None) for loc, m in problems]
        raise ValidationError.from_exception_data(type(model).__name__, details)
