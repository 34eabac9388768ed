"""The caller, once a credential is verified, and the refusals an API answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Via = Literal["api_key", "jwt"]
ALL_SCOPES = "*"  # granted to the local admin key of `leadflow up`: every scope, present and future


@dataclass(frozen=True)
class Principal:
    """Who made the request: ``subject`` is what the audit trail records (``key:<id>`` for
    an API key, ``jwt:<sub>`` for a token), ``scopes`` what it may do."""

    subject: str
    scopes: frozenset[str]
    via: Via
    key_id: str | None = None
    owner: str | None = None
    rate_per_s: float | None = field(default=None, compare=False)  # None: the service default
    burst: int | None = field(default=None, compare=False)

    def may(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes


Reason = Literal[
    "missing_credentials",
    "invalid_credentials",
    "expired_credentials",
    "revoked_credentials",
    "invalid_token",
]


class Unauthenticated(Exception):
    """No credential, or one that does not verify: answered 401 with ``WWW-Authenticate``."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message
