"""API keys as plain values: what a key ring holds, and the pure rules for checking,
rotating and revoking keys. The ring's file is read and written by :mod:`.keyring`.

A key has one id (what the audit trail records as ``key:<id>``), an owner, scopes, an
optional expiry and one or more secrets: several at once while a rotation overlaps. Only the
SHA-256 of a secret is stored. The secrets are 256 random bits, so a fast unsalted hash is
safe (nothing to brute-force), and the presented key is hashed before any lookup, so the time
a lookup takes says nothing about a stored secret.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.auth.principal import Principal, Unauthenticated

KEY_PREFIX = "lfk_"
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class KeySecret:
    """One accepted secret of a key (by its SHA-256), valid until ``expires_at`` if set."""

    sha256: str = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ApiKey:
    id: str
    owner: str
    scopes: tuple[str, ...]
    created_at: datetime
    secrets: tuple[KeySecret, ...]
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    rate_per_s: float | None = None  # None: the service's default limit
    burst: int | None = None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


def new_secret() -> str:
    """A fresh key to hand out once: ``lfk_`` and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(presented: str) -> str:
    return hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest()


class KeyIndex:
    """The ring's keys by secret hash, for one lookup per request."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys = tuple(keys)
        self._by_hash: dict[str, tuple[ApiKey, KeySecret]] = {
            s.sha256: (key, s) for key in self.keys for s in key.secrets
        }

    def authenticate(self, presented: str, now: datetime) -> Principal:
        """The key's principal, or :class:`Unauthenticated` saying why not (never which
        part of the secret was wrong)."""
        found = self._by_hash.get(digest(presented))
        if found is None:
            raise Unauthenticated("invalid_credentials", "the API key is not valid")
        key, secret = found
        if key.revoked_at is not None:
            raise Unauthenticated("revoked_credentials", f"API key {key.id!r} was revoked")
        expiry = min(
            (t for t in (key.expires_at, secret.expires_at) if t is not None), default=None
        )
        if expiry is not None and now >= expiry:
            raise Unauthenticated(
                "expired_credentials", f"API key {key.id!r} expired at {expiry.isoformat()}"
            )
        return Principal(
            subject=f"key:{key.id}",
            scopes=frozenset(key.scopes),
            via="api_key",
            key_id=key.id,
            owner=key.owner,
            rate_per_s=key.rate_per_s,
            burst=key.burst,
        )


class KeyRingError(ValueError):
    """A key operation that cannot be done (unknown id, duplicate id, bad value)."""


def create(
    keys: tuple[ApiKey, ...],
    *,
    key_id: str,
    owner: str,
    scopes: Iterable[str],
    now: datetime,
    secret: str,
    expires_at: datetime | None = None,
    rate_per_s: float | None = None,
    burst: int | None = None,
) -> tuple[ApiKey, ...]:
    if not KEY_ID.match(key_id):
        raise KeyRingError(f"key id {key_id!r}: 1-64 letters, digits, '.', '_' or '-'")
    if any(k.id == key_id for k in keys):
        raise KeyRingError(f"key id {key_id!r} exists; rotate it, or choose another id")
    key = ApiKey(
        id=key_id,
        owner=owner,
        scopes=tuple(sorted(set(scopes))),
        created_at=now,
        secrets=(KeySecret(digest(secret), now),),
        expires_at=expires_at,
        rate_per_s=rate_per_s,
        burst=burst,
    )
    return (*keys, key)


def rotate(
    keys: tuple[ApiKey, ...], key_id: str, *, now: datetime, overlap: timedelta, secret: str
) -> tuple[ApiKey, ...]:
    """A new secret for the key; the old ones keep working for ``overlap``, then expire, so
    every client can move to the new one without a moment where neither works."""
    key = _find(keys, key_id)
    if key.revoked_at is not None:
        raise KeyRingError(f"key {key_id!r} is revoked; create a new one")
    until = now + overlap
    old = tuple(
        replace(s, expires_at=until if s.expires_at is None else min(s.expires_at, until))
        for s in key.secrets
        if s.expires_at is None or s.expires_at > now
    )
    rotated = replace(key, secrets=(*old, KeySecret(digest(secret), now)))
    return tuple(rotated if k.id == key_id else k for k in keys)


def revoke(keys: tuple[ApiKey, ...], key_id: str, *, now: datetime) -> tuple[ApiKey, ...]:
    """Every secret of the key stops working (at once, or as soon as services reload)."""
    key = _find(keys, key_id)
    revoked = replace(key, revoked_at=key.revoked_at or now)
    return tuple(revoked if k.id == key_id else k for k in keys)


def _find(keys: tuple[ApiKey, ...], key_id: str) -> ApiKey:
    for key in keys:
        if key.id == key_id:
            return key
    raise KeyRingError(f"no key with id {key_id!r}")


def to_document(keys: Iterable[ApiKey]) -> dict[str, Any]:
    return {"version": 1, "keys": [_key_out(k) for k in keys]}


def from_document(doc: Mapping[str, Any]) -> tuple[ApiKey, ...]:
    """Parse the ring's JSON; ValueError names the key and field that is wrong."""
    if not isinstance(doc, Mapping) or doc.get("version") != 1:
        raise ValueError("not a Leadflow key ring (expected {'version': 1, 'keys': [...]})")
    out = []
    for i, raw in enumerate(doc.get("keys") or []):
        try:
            out.append(
                ApiKey(
                    id=str(raw["id"]),
                    owner=str(raw.get("owner") or ""),
                    scopes=tuple(str(s) for s in raw.get("scopes") or ()),
                    created_at=_time(raw["created_at"]),
                    secrets=tuple(
                        KeySecret(
                            str(s["sha256"]),
                            _time(s["created_at"]),
                            _opt_time(s.get("expires_at")),
                        )
                        for s in raw["secrets"]
                    ),
                    expires_at=_opt_time(raw.get("expires_at")),
                    revoked_at=_opt_time(raw.get("revoked_at")),
                    rate_per_s=_opt_float(raw.get("rate_per_s")),
                    burst=None if raw.get("burst") is None else int(raw["burst"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"keys[{i}]: {exc!r}") from None
    return tuple(out)


def _key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "owner": key.owner,
        "scopes": list(key.scopes),
        "created_at": key.created_at.isoformat(),
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at),
        "rate_per_s": key.rate_per_s,
        "burst": key.burst,
        "secrets": [
            {
                "sha256": s.sha256,
                "created_at": s.created_at.isoformat(),
                "expires_at": _iso(s.expires_at),
            }
            for s in key.secrets
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed


def _opt_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
