"""Routing config versions and the audit log. Writers hold the routing advisory lock, so
versions are numbered without gaps or races and a routing batch sees a change either wholly
or not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class ConfigVersion:
    version: int
    config: dict[str, Any]
    origin: str
    actor: str
    reason: str | None
    created_at: datetime
    file_path: str | None = None
    file_sha256: str | None = None
    restored: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    version: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    diff: list[dict[str, Any]]
    reason: str | None


_VERSION_COLUMNS = (
    "version, config, origin, actor, reason, created_at, file_path, file_sha256, restored"
)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _version(r: Any) -> ConfigVersion:
    return ConfigVersion(r[0], _json(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8])


async def head_version(conn: AsyncConnection) -> int | None:
    """The version in force: one index lookup, cheap enough for every routing batch."""
    return (await conn.execute(text("SELECT max(version) FROM config_versions"))).scalar()


async def load_version(conn: AsyncConnection, version: int) -> ConfigVersion | None:
    row = (
        await conn.execute(
            text(f"SELECT {_VERSION_COLUMNS} FROM config_versions WHERE version = :v"),
            {"v": version},
        )
    ).first()
    return _version(row) if row is not None else None


async def last_file_version(conn: AsyncConnection) -> ConfigVersion | None:
    """The latest version read from the file (at start or by a reload)."""
    row = (
        await conn.execute(
            text(
                f"SELECT {_VERSION_COLUMNS} FROM config_versions WHERE origin = 'file'"
                " ORDER BY version DESC LIMIT 1"
            )
        )
    ).first()
    return _version(row) if row is not None else None


async def list_versions(conn: AsyncConnection, limit: int) -> list[ConfigVersion]:
    """Newest first, without their config (read one version for that)."""
    rows = await conn.execute(
        text(
            "SELECT version, NULL, origin, actor, reason, created_at, file_path, file_sha256,"
            " restored FROM config_versions ORDER BY version DESC LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [_version(r) for r in rows]


async def save_version(
    conn: AsyncConnection, version: ConfigVersion, audit: Sequence[AuditEntry]
) -> None:
    await conn.execute(
        text(
            f"INSERT INTO config_versions ({_VERSION_COLUMNS}) VALUES (:version,"
            " CAST(:config AS jsonb), :origin, :actor, :reason, :created_at, :file_path,"
            " :file_sha256, :restored)"
        ),
        {
            "version": version.version,
            "config": orjson.dumps(version.config).decode(),
            "origin": version.origin,
            "actor": version.actor,
            "reason": version.reason,
            "created_at": version.created_at,
            "file_path": version.file_path,
            "file_sha256": version.file_sha256,
            "restored": version.restored,
        },
    )
    if audit:
        await conn.execute(
            text(
                "INSERT INTO config_audit (version, at, actor, action, target, before, after,"
                " diff, reason) VALUES (:version, :at, :actor, :action, :target,"
                " CAST(:before AS jsonb), CAST(:after AS jsonb), CAST(:diff AS jsonb), :reason)"
            ),
            [
                {
                    "version": a.version,
                    "at": a.at,
                    "actor": a.actor,
                    "action": a.action,
                    "target": a.target,
                    "before": None if a.before is None else orjson.dumps(a.before).decode(),
                    "after": None if a.after is None else orjson.dumps(a.after).decode(),
                    "diff": orjson.dumps(a.diff).decode(),
                    "reason": a.reason,
                }
                for a in audit
            ],
        )


async def read_audit(
    conn: AsyncConnection, target: str | None, since: datetime | None, limit: int
) -> list[AuditEntry]:
    """Newest first; ``target`` exactly (``rep:ana``) or a kind (``rep``: every rep)."""
    rows = await conn.execute(
        text(
            "SELECT version, at, actor, action, target, before, after, diff, reason"
            " FROM config_audit"
            " WHERE (CAST(:target AS text) IS NULL OR target = CAST(:target AS text)"
            "        OR target LIKE CAST(:target AS text) || ':%')"
            " AND (CAST(:since AS timestamptz) IS NULL OR at >= CAST(:since AS timestamptz))"
            " ORDER BY id DESC LIMIT :limit"
        ),
        {"target": target, "since": since, "limit": limit},
    )
    return [
        AuditEntry(r[0], r[1], r[2], r[3], r[4], _json(r[5]), _json(r[6]), _json(r[7]), r[8])
        for r in rows
    ]
