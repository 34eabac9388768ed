"""Which routing config a decision uses: the version in force, read in the decision's own
transaction (after the routing lock), so every replica switches at the same point.

Reading the version is one index lookup per batch; the routing config itself is parsed and
validated once per version and process. A version this process cannot validate (a newer
replica wrote it during a rolling upgrade) is logged and the last good one kept.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.config.document import validate_document
from services.router.config.model import to_domain
from services.router.domain.model import Routing
from services.router.store import config as config_store
from shared.config import ConfigError

log = logging.getLogger(__name__)

KEEP_VERSIONS = 4  # a transaction that read an older head still gets that version


@dataclass(frozen=True)
class ActiveRouting:
    """A routing config and its version (None: not versioned, e.g. a fixed config)."""

    version: int | None
    routing: Routing


class RoutingSource(Protocol):
    async def current(self, conn: AsyncConnection) -> ActiveRouting: ...


class FixedRouting:
    """One config for good: tools and tests that route without stored versions."""

    def __init__(self, routing: Routing) -> None:
        self._active = ActiveRouting(None, routing)

    async def current(self, conn: AsyncConnection) -> ActiveRouting:
        return self._active


class VersionedRouting:
    """The highest stored version. Until the file was compared with the stored versions at
    start (:meth:`open`), callers wait; with no version stored yet, the file's config."""

    def __init__(self, from_file: Routing) -> None:
        self._from_file = ActiveRouting(None, from_file)
        self._versions: dict[int, ActiveRouting] = {}
        self._opened = asyncio.Event()

    def open(self) -> None:
        self._opened.set()

    async def current(self, conn: AsyncConnection) -> ActiveRouting:
        await self._opened.wait()
        version = await config_store.head_version(conn)
        if version is None:
            return self._from_file
        known = self._versions.get(version)
        if known is not None:
            return known
        stored = await config_store.load_version(conn, version)
        if stored is None:  # cannot happen: versions are never deleted
            raise ConfigError(f"routing config version {version} vanished")
        config = validate_document(stored.config)
        if isinstance(config, list):
            problems = "; ".join(map(str, config))
            newest = max(self._versions, default=None)
            if newest is None:
                raise ConfigError(f"stored routing config version {version} is invalid: {problems}")
            log.error("routing config version %d is invalid here (%s); keeping version %d",
                      version, problems, newest)  # fmt: skip
            return self._versions[newest]
        active = ActiveRouting(version, to_domain(config))
        self._versions[version] = active
        for old in sorted(self._versions)[:-KEEP_VERSIONS]:
            del self._versions[old]
        log.info("routing config version %d in force", version)
        return active
