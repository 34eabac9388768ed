"""A configured source as plain frozen values: what the endpoints and the verifiers read.

The pydantic models in :mod:`services.capture.config` validate the YAML and build these;
nothing here imports pydantic, FastAPI or the database. Secrets are resolved from the
environment before they get here and never appear in ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

AuthType = Literal[
    "none",
    "api_key",
    "standard_webhooks",
    "meta",
    "typeform",
    "hubspot_v3",
    "hubspot",  # v3 when sent, else v2/v1 (X-HubSpot-Signature-Version)
    "google_ads",
    "calendly",
    "linkedin",
    "intercom",
]

DEFAULT_TOLERANCE_S = 300  # five minutes, as Standard Webhooks and HubSpot recommend


@dataclass(frozen=True)
class ApiKey:
    """One accepted key: an id for logs and rotation, the SHA-256 of the key, an expiry."""

    id: str
    sha256: str = field(repr=False)  # 64 lower-case hex digits
    expires: datetime | None = None


@dataclass(frozen=True)
class Auth:
    """How a source proves who it is; ``secret`` comes from the environment variable the
    config names, never from the file."""

    type: AuthType
    api_keys: tuple[ApiKey, ...] = ()
    allow_query_key: bool = False
    secret: str | None = field(default=None, repr=False)
    verify_token: str | None = field(default=None, repr=False)  # Meta's GET handshake
    tolerance_s: int = DEFAULT_TOLERANCE_S
    public_url: str | None = None  # HubSpot signs the URL it called


@dataclass(frozen=True)
class VendorApi:
    """Where a source fetches the records its notifications only point at: Meta's Graph API
    (the ``graph`` settings), HubSpot's CRM API or LinkedIn's Marketing API (``api``)."""

    url: str
    version: str
    access_token: str | None = field(default=None, repr=False)
    timeout_s: float = 10.0
    properties: tuple[str, ...] = ()  # HubSpot: the contact properties to read


GraphApi = VendorApi  # the Meta name, kept for readers of the ``graph`` settings


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    auth: Auth
    mapping: Mapping[str, str] = field(default_factory=dict)
    channel: str | None = None
    campaign: str | None = None
    graph: VendorApi | None = None
    api: VendorApi | None = None  # hubspot_contact, linkedin
    # Why the source cannot take requests yet, e.g. "LEADFLOW_SECRET_TYPEFORM is not set"
    problems: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.problems

    @property
    def fetch_api(self) -> VendorApi | None:
        """The API this source's notifications are fetched from, if configured."""
        return self.graph if self.kind == "meta_lead_ads" else self.api


@dataclass(frozen=True)
class CsvLimits:
    max_rows: int = 10_000
    max_bytes: int = 10 * 1_048_576


@dataclass(frozen=True)
class Sources:
    """Every configured source by name, and the CSV import limits."""

    by_name: Mapping[str, Source] = field(default_factory=dict)
    csv: CsvLimits = field(default_factory=CsvLimits)
