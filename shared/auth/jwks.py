"""Where a JWT's verification key comes from: the identity provider's JWKS, read from a file
or fetched from a URL, and the choice of one key by the token's ``kid``.

Only asymmetric signing keys are ever handed out: an ``oct`` (shared-secret) key, or one
marked for encryption, is dropped when the set is read, so no token can be checked against
a symmetric secret however its header is written. Both sources are blocking (a ``stat``, a
urllib fetch) and are called off the event loop by :class:`shared.auth.jwt.JwtVerifier`.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientConnectionError, PyJWTError

ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
# A token with an unknown kid refetches the set at most this often, so a flood of made-up
# kids costs the identity provider one request per period, while a key rotated in is picked
# up by the first token that uses it.
REFETCH_COOLDOWN_S = 30.0


class KeysUnavailable(Exception):
    """The JWKS could not be read or fetched, or holds no usable signing key."""


class KeySource(Protocol):
    def key_for(self, kid: str | None) -> PyJWK | None:
        """The signing key for ``kid`` (None: the token names none), or None if unknown."""
        ...


def parse_jwks(document: Any) -> list[PyJWK]:
    """The asymmetric signing keys of a JWKS document; PyJWT skips keys it cannot load."""
    if not isinstance(document, dict):
        raise KeysUnavailable("the JWKS is not a JSON object")
    try:
        key_set = PyJWKSet.from_dict(document)
    except PyJWTError as error:
        raise KeysUnavailable(f"the JWKS holds no usable key ({error})") from error
    return signing_keys(key_set)


def signing_keys(key_set: PyJWKSet) -> list[PyJWK]:
    """The keys of the set a token may be verified with: asymmetric, not for encryption."""
    keys = [
        key
        for key in key_set.keys
        if key.key_type in ASYMMETRIC_KEY_TYPES and key.public_key_use in ("sig", None)
    ]
    if not keys:
        raise KeysUnavailable("the JWKS holds no asymmetric signing key")
    return keys


def select_key(keys: list[PyJWK], kid: str | None) -> PyJWK | None:
    """The key named ``kid``; a token without a kid is accepted only when the set holds
    exactly one key, so the choice is never a guess."""
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((key for key in keys if key.key_id == kid), None)


class FileKeys:
    """A JWKS JSON file, reread whenever its modification time or size changes (a rotated
    key deployed as a new file, or a mounted Secret updated in place)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: list[PyJWK] = []

    def key_for(self, kid: str | None) -> PyJWK | None:
        return select_key(self._current(), kid)

    def _current(self) -> list[PyJWK]:
        with self._lock:
            try:
                stat = self._path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if stamp != self._stamp:
                    document = json.loads(self._path.read_text(encoding="utf-8"))
                    self._keys, self._stamp = parse_jwks(document), stamp
            except (OSError, ValueError) as error:
                raise KeysUnavailable(
                    f"the JWKS file {self._path} cannot be read: {error}"
                ) from error
            return self._keys


class UrlKeys:
    """The identity provider's JWKS endpoint through PyJWT's :class:`PyJWKClient`: the set is
    cached for ``lifespan_s`` and refetched at once for a kid it does not hold (at most once
    per :data:`REFETCH_COOLDOWN_S`). Redirects are not followed; only http(s) URLs."""

    def __init__(self, url: str, timeout_s: float, lifespan_s: float = 300.0) -> None:
        try:
            self._client = PyJWKClient(
                url,
                cache_jwk_set=True,
                lifespan=lifespan_s,
                timeout=timeout_s,
                cooldown_duration=0,  # our own cooldown below counts forced refetches only
            )
        except PyJWTError as error:
            raise ValueError(f"jwks_url: {error}") from error
        self._lock = threading.Lock()
        self._last_refetch: float | None = None

    def key_for(self, kid: str | None) -> PyJWK | None:
        with self._lock:
            key = select_key(self._keys(refresh=False), kid)
            now = time.monotonic()
            if key is None and (
                self._last_refetch is None or now - self._last_refetch >= REFETCH_COOLDOWN_S
            ):
                self._last_refetch = now
                key = select_key(self._keys(refresh=True), kid)
            return key

    def _keys(self, refresh: bool) -> list[PyJWK]:
        try:
            key_set = self._client.get_jwk_set(refresh=refresh)
        except PyJWKClientConnectionError as error:
            raise KeysUnavailable(f"the JWKS endpoint cannot be reached: {error}") from error
        except (PyJWTError, ValueError) as error:  # not JSON, no keys
            raise KeysUnavailable(f"the JWKS endpoint answered no usable keys: {error}") from error
        return signing_keys(key_set)
