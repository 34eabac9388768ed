"""Keys for a stack this machine runs (``leadflow up``, ``bench``, ``chaos``): which key ring
the services read, the local admin key made on first start, and keys for the tools.

Only hashes are written; a key is shown once, when it is made."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from shared import clock
from shared.auth import keyring, keys
from shared.auth.principal import ALL_SCOPES

RING_ENV = "LEADFLOW_API_KEYS_FILE"
LOCAL_ADMIN = "local-admin"


def ring_path(home: Path) -> Path:
    """``LEADFLOW_API_KEYS_FILE`` when set (a shared ring), else ``<home>/api-keys.json``."""
    given = os.environ.get(RING_ENV)
    return Path(given).resolve() if given else home / "api-keys.json"


def ensure_local_admin(ring: Path) -> str | None:
    """Make the ``local-admin`` key (every scope) unless the ring has it: the key to print
    once, or None when it existed (its holder has it from the first start)."""
    with keyring.locked(ring):
        current = keyring.read_keys(ring)
        if any(k.id == LOCAL_ADMIN for k in current):
            return None
        secret = keys.new_secret()
        updated = keys.create(
            current, key_id=LOCAL_ADMIN, owner="leadflow up (this machine)",
            scopes=[ALL_SCOPES], now=clock.now(), secret=secret,
        )  # fmt: skip
        keyring.write_keys(ring, updated)
    return secret


def issue(ring: Path, key_id: str, scopes: Iterable[str], *, rate_per_s: float | None) -> str:
    """A key for a tool (replacing one of the same id): the secret, for this run only."""
    secret = keys.new_secret()
    with keyring.locked(ring):
        current = tuple(k for k in keyring.read_keys(ring) if k.id != key_id)
        updated = keys.create(
            current, key_id=key_id, owner="leadflow tool", scopes=scopes,
            now=clock.now(), secret=secret, rate_per_s=rate_per_s,
        )  # fmt: skip
        keyring.write_keys(ring, updated)
    return secret
