"""Credentials for tests: one key ring for the session (``LEADFLOW_API_KEYS_FILE``, set by
tests/conftest.py before any service starts, so in-process apps and subprocesses read it),
holding an all-scope admin key and one key per scope, all without a rate limit."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx

from shared import clock
from shared.auth import keyring, keys
from shared.auth.scopes import Scope

# Fixed test keys: secrets of the test ring only (never of a deployment).
ADMIN_KEY = "lfk_test-admin-" + hashlib.sha256(b"leadflow tests admin").hexdigest()[:32]
SLOW_KEY = "lfk_test-slow-" + hashlib.sha256(b"leadflow tests slow").hexdigest()[:32]
SLOW_RATE, SLOW_BURST = 0.5, 3  # the slow key: 3 at once, then one every 2 s
NO_SCOPE_KEY = "lfk_test-none-" + hashlib.sha256(b"leadflow tests none").hexdigest()[:32]


def scope_key(scope: Scope) -> str:
    """The test key holding only ``scope``."""
    return f"lfk_test-{scope.name.lower()}-" + hashlib.sha256(scope.value.encode()).hexdigest()[:24]


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


_VENDOR_PATH = re.compile(r"^/v1/sources/[^/]+/(leads|csv)$")


class AdminUnlessGiven(httpx.Auth):
    """The admin key on every request that brings no credential of its own, except to a
    vendor source's endpoints (they check the vendor's key or signature, and a bearer
    token there would be taken for the source's key)."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        given = "authorization" in request.headers or "x-api-key" in request.headers
        if not given and not _VENDOR_PATH.match(request.url.path):
            request.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield request


def write_test_ring(path: Path) -> Path:
    now = clock.now()
    ring: tuple[keys.ApiKey, ...] = ()
    ring = keys.create(ring, key_id="test-admin", owner="tests", scopes=["*"], now=now,
                       secret=ADMIN_KEY, rate_per_s=0)  # fmt: skip
    ring = keys.create(ring, key_id="test-none", owner="tests", scopes=[], now=now,
                       secret=NO_SCOPE_KEY, rate_per_s=0)  # fmt: skip
    ring = keys.create(ring, key_id="test-slow", owner="tests", scopes=["leads:write"], now=now,
                       secret=SLOW_KEY, rate_per_s=SLOW_RATE, burst=SLOW_BURST)  # fmt: skip
    for scope in Scope:
        ring = keys.create(ring, key_id=f"test-{scope.name.lower()}", owner="tests",
                           scopes=[scope.value], now=now, secret=scope_key(scope),
                           rate_per_s=0)  # fmt: skip
    keyring.write_keys(path, ring)
    return path


def install_test_ring() -> Path:
    """The session's ring, made once and named in the environment for every service."""
    existing = os.environ.get("LEADFLOW_API_KEYS_FILE")
    if existing and Path(existing).exists():
        return Path(existing)
    path = Path(tempfile.mkdtemp(prefix="leadflow-test-keys-")) / "api-keys.json"
    write_test_ring(path)
    os.environ["LEADFLOW_API_KEYS_FILE"] = str(path)
    return path


def fuzz_credentials() -> tuple[dict[str, str], dict[str, str]]:
    """(environment for a service process, headers for its requests): the admin key."""
    return {"LEADFLOW_API_KEYS_FILE": str(install_test_ring())}, admin_headers()


def admin_client(base_url: str = "", **kwargs: Any) -> httpx.AsyncClient:
    """An HTTP client for the services of a test, with :class:`AdminUnlessGiven`."""
    return httpx.AsyncClient(base_url=base_url, auth=AdminUnlessGiven(), **kwargs)
