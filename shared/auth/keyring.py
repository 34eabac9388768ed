"""The key ring file: where the hashed API keys live, shared by every service.

A JSON file (``LEADFLOW_API_KEYS_FILE``), not a table, because no service owns the keys and
no service may read another's schema: every service reads the same file (in Kubernetes, a
Secret mounted as a file), and ``leadflow keys`` writes it. A service notices a change within
``RELOAD_S``, so a revoked key stops working on every service within a second or two
(Kubernetes propagates a changed Secret to pods in about a minute).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from shared.auth.keys import ApiKey, KeyIndex, from_document, to_document

log = logging.getLogger(__name__)
RELOAD_S = 1.0


class KeyRing:
    """The keys in ``path``, re-read when the file changes. A missing file is an empty ring
    (every request is refused); an unreadable one keeps the keys last read and logs why."""

    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._index = KeyIndex(())
        self._stamp: tuple[int, int] | None = None
        self._checked = float("-inf")

    def index(self) -> KeyIndex:
        now = self._clock()
        if self.path is not None and now - self._checked >= RELOAD_S:
            self._checked = now
            self._reload(self.path)
        return self._index

    def _reload(self, path: Path) -> None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            if self._stamp != (0, 0):
                log.warning("API key ring %s does not exist: every API call will get 401", path)
                self._index, self._stamp = KeyIndex(()), (0, 0)
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            self._index = KeyIndex(read_keys(path))
            self._stamp = stamp
            log.info("API key ring %s loaded: %d key(s)", path, len(self._index.keys))
        except (OSError, ValueError) as exc:
            self._stamp = stamp  # do not re-log until the file changes again
            log.error("API key ring %s not loaded, keeping the previous keys: %s", path, exc)


def read_keys(path: Path) -> tuple[ApiKey, ...]:
    if not path.exists():
        return ()
    return from_document(json.loads(path.read_text(encoding="utf-8")))


def write_keys(path: Path, keys: tuple[ApiKey, ...]) -> None:
    """Replace the file atomically (readers see the old or the new ring, never half), 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(to_document(keys), out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the ring (two ``leadflow keys`` at once lose nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
