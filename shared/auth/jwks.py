"""Where a JWT's verification key comes from: the identity provider's JWKS, read from a file
or fetched from a URL, and the choice of one key by the token's ``kid``.

Only asymmetric signing keys are ever handed out: an ``oct`` (shared-secret) key, or one
marked for encryption, is dropped when the set is read, so no token can be checked against
a symmetric secret however its header is written. Both sources are blocking (a ``stat``, a
urllib fetch) and are called off the event loop by :class:`shared.auth.jwt.JwtVerifier`.
"""

from __future__ import annotations

import json
import logging
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
FILE_CHECK_S = 1.0  # a JWKS file's stat is looked at no more often than this

log = logging.getLogger(__name__)


class KeysUnavailable(Exception):
    """The JWKS could not be read or fetched, or holds no usable signing key."""


class KeySource(Protocol):
    def cached(self, kid: str | None) -> PyJWK | None:
        """The key for ``kid`` from memory, without I/O; None: ask :meth:`key_for`."""
        ...

    def key_for(self, kid: str | None) -> PyJWK | None:
        """The signing key for ``kid`` (None: the token names none), or None if unknown;
        blocking (reads the file, fetches the URL), so called in a worker thread."""
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
    key deployed as a new file, or a mounted Secret updated in place), looked at no more than
    every :data:`FILE_CHECK_S`. A file that turns unreadable (half-written, removed) leaves
    the last good keys in use, with a warning."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked_at: float | None = None
        self._keys: list[PyJWK] = []

    def cached(self, kid: str | None) -> PyJWK | None:
        checked = self._checked_at
        if checked is None or time.monotonic() - checked >= FILE_CHECK_S:
            return None
        return select_key(self._keys, kid)

    def key_for(self, kid: str | None) -> PyJWK | None:
        with self._lock:
            try:
                stat = self._path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if stamp != self._stamp:
                    document = json.loads(self._path.read_text(encoding="utf-8"))
                    self._keys, self._stamp = parse_jwks(document), stamp
            except (OSError, ValueError, KeysUnavailable) as error:
                if not self._keys:
                    raise KeysUnavailable(
                        f"the JWKS file {self._path} cannot be read: {error}"
                    ) from error
                log.warning("JWKS file %s unreadable, keeping its last keys: %s", self._path, error)
            self._checked_at = time.monotonic()
            return select_key(self._keys, kid)


class UrlKeys:
    """The identity provider's JWKS endpoint, fetched with PyJWT's :class:`PyJWKClient`
    (redirects not followed, http(s) only) and kept for ``lifespan_s``; a kid the set lacks
    refetches it at once, at most once per :data:`REFETCH_COOLDOWN_S`. When a fetch fails
    the last keys stay in use (an identity provider's outage does not lock everyone out)
    and the fetch is tried again after the cooldown."""

    def __init__(self, url: str, timeout_s: float, lifespan_s: float = 300.0) -> None:
        try:
            self._client = PyJWKClient(url, cache_jwk_set=False, timeout=timeout_s)
        except PyJWTError as error:
            raise ValueError(f"jwks_url: {error}") from error
        self._lifespan_s = lifespan_s
        self._lock = threading.Lock()
        self._keys: list[PyJWK] = []
        self._fetched_at: float | None = None  # when the keys were last fetched (or tried)
        self._refetched_at: float | None = None  # the last refetch for an unknown kid

    def cached(self, kid: str | None) -> PyJWK | None:
        fetched = self._fetched_at
        if fetched is None or time.monotonic() - fetched >= self._lifespan_s:
            return None
        return select_key(self._keys, kid)

    def key_for(self, kid: str | None) -> PyJWK | None:
        with self._lock:
            now = time.monotonic()
            fetched = self._fetched_at is None or now - self._fetched_at >= self._lifespan_s
            if fetched:
                self._fetch(now)
            key = select_key(self._keys, kid)
            if key is None and not fetched and _past(self._refetched_at, REFETCH_COOLDOWN_S, now):
                self._refetched_at = now
                self._fetch(now)
                key = select_key(self._keys, kid)
            return key

    def _fetch(self, now: float) -> None:
        try:
            self._keys = signing_keys(self._client.get_jwk_set())
            self._fetched_at = now
        except (PyJWTError, ValueError, KeysUnavailable) as error:  # unreachable, not JSON
            if isinstance(error, PyJWKClientConnectionError):
                problem = f"the JWKS endpoint cannot be reached: {error}"
            else:
                problem = f"the JWKS endpoint answered no usable keys: {error}"
            if not self._keys:
                raise KeysUnavailable(problem) from error
            log.warning("%s; keeping the last keys", problem)
            # try again after the cooldown, not on every request meanwhile
            self._fetched_at = now - self._lifespan_s + min(REFETCH_COOLDOWN_S, self._lifespan_s)


def _past(moment: float | None, period_s: float, now: float) -> bool:
    return moment is None or now - moment >= period_s
