"""Config use cases: change the routing config through the admin API, reload the file,
roll back, and compare the file with the stored versions at start.

Each write takes the routing advisory lock, reads the version in force, checks the
caller's expected version, applies the change (validated like the file), and stores the
new version with its audit row, all in one transaction. Routing batches take the same lock
and read the version after it, so once a write is acknowledged every later decision, on
every replica, uses the new version.

The file rule: at start the file's routing config becomes a new version when it differs from
the last version that came from the file; otherwise the latest version (which may hold API
changes) stays in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services.router.config.changes import Applied, Change, Refused, ReplaceConfig, apply_change
from services.router.config.document import Problem, section_hash
from services.router.config.model import SECTION
from services.router.store import config as config_store
from services.router.store import leads as lead_store
from shared.config import read_section
from shared.db.uow import UnitOfWork

SYSTEM_ACTOR = "router"


class StaleVersion(Exception):
    """The caller's expected version is not the one in force (someone changed it since)."""

    def __init__(self, expected: int, current: int | None) -> None:
        super().__init__(f"expected version {expected}, but version {current} is in force")
        self.current = current


class ChangeRejected(Exception):
    """The change would make the routing config invalid, names an unknown rep or queue, or creates
    one that exists; ``refused`` has the problems at their keys."""

    def __init__(self, refused: Refused) -> None:
        super().__init__("; ".join(map(str, refused.problems)))
        self.refused = refused


class UnknownVersion(Exception):
    """A rollback to a version that was never stored."""


@dataclass(frozen=True)
class Outcome:
    """What a write did: the version in force after it (``changed`` False: none was made)."""

    version: int
    previous: int | None
    changed: bool
    action: str
    target: str
    diff: list[dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """Where a new version comes from, for its row: origin, and the file or the restored
    version."""

    origin: str = "api"
    file_path: str | None = None
    file_sha256: str | None = None
    restored: int | None = None


async def change_config(
    uow: UnitOfWork,
    change: Change,
    *,
    actor: str,
    reason: str | None,
    expected: int | None,
    now: datetime,
) -> Outcome:
    """An admin API change: a new version and its audit row, or a refusal naming why."""
    head = await _locked_head(uow, expected)
    return await _store(uow, head, apply_change(_document(head), change), actor, reason, now)


async def rollback_config(
    uow: UnitOfWork,
    version: int,
    *,
    actor: str,
    reason: str | None,
    expected: int | None,
    now: datetime,
) -> Outcome:
    """Restore an earlier version's config as a new version (history is never rewritten)."""
    head = await _locked_head(uow, expected)
    old = await config_store.load_version(uow.conn, version)
    if old is None:
        raise UnknownVersion(f"no routing config version {version}")
    result = apply_change(_document(head), ReplaceConfig(old.config, "config.rolled_back"))
    source = Source("rollback", restored=version)
    return await _store(uow, head, result, actor, reason, now, source)


async def import_file(
    uow: UnitOfWork,
    path: Path,
    *,
    actor: str,
    reason: str | None,
    expected: int | None,
    now: datetime,
    on_start: bool,
) -> Outcome:
    """The file's routing config as the one in force: at start only when it changed since it
    was last read (see the module doc); on a reload whenever it differs from the version in
    force. Raises ConfigError when the file cannot be read."""
    section = read_section(path, SECTION) or {}
    digest = section_hash(section)
    head = await _locked_head(uow, expected)
    last = await config_store.last_file_version(uow.conn)
    same_file = last is not None and last.file_sha256 == digest
    if on_start and same_file and head is not None:
        return _unchanged(head, "config.file_unchanged", "config")
    if on_start:
        action = "config.file_changed" if head is not None else "config.imported"
    else:
        action = "config.reloaded"
    result = apply_change(_document(head), ReplaceConfig(section, action))
    if isinstance(result, Refused):
        problems = tuple(Problem(f"{SECTION}.{p.path}", p.message) for p in result.problems)
        raise ChangeRejected(Refused(result.reason, problems))
    # Unchanged content from a changed file is still recorded (as the last file version),
    # or the next start would see "a changed file" and undo API changes made meanwhile.
    source = Source("file", file_path=str(path), file_sha256=digest)
    return await _store(uow, head, result, actor, reason, now, source, force=not same_file)


async def _locked_head(uow: UnitOfWork, expected: int | None) -> config_store.ConfigVersion | None:
    await lead_store.lock_routing(uow.conn)
    number = await config_store.head_version(uow.conn)
    if expected is not None and expected != number:
        raise StaleVersion(expected, number)
    return await config_store.load_version(uow.conn, number) if number is not None else None


def _document(head: config_store.ConfigVersion | None) -> dict[str, Any]:
    return head.config if head is not None else {}


def _unchanged(head: config_store.ConfigVersion, action: str, target: str) -> Outcome:
    return Outcome(head.version, head.version, False, action, target, [])


async def _store(
    uow: UnitOfWork,
    head: config_store.ConfigVersion | None,
    result: Applied | Refused,
    actor: str,
    reason: str | None,
    now: datetime,
    source: Source = Source(),
    *,
    force: bool = False,
) -> Outcome:
    if isinstance(result, Refused):
        raise ChangeRejected(result)
    if head is not None and not result.changed and not force:
        return _unchanged(head, result.action, result.target)
    version = (head.version if head is not None else 0) + 1
    audit = config_store.AuditEntry(version, now, actor, result.action, result.target,
                                    result.before, result.after, result.diff, reason)  # fmt: skip
    row = config_store.ConfigVersion(version, result.document, source.origin, actor, reason,
                                     now, source.file_path, source.file_sha256,
                                     source.restored)  # fmt: skip
    await config_store.save_version(uow.conn, row, [audit])
    previous = head.version if head is not None else None
    return Outcome(version, previous, True, result.action, result.target, result.diff)
