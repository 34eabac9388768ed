"""The audit trail's table (``audit_log``, in every service's schema): append and read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_INSERT = text(
    "INSERT INTO audit_log (actor, action, target, detail)"
    " VALUES (:actor, :action, :target, CAST(:detail AS jsonb))"
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]


async def append(
    conn: AsyncConnection,
    actor: str,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """In the caller's transaction, so a change and its audit row commit together."""
    await conn.execute(
        _INSERT,
        {
            "actor": actor,
            "action": action,
            "target": target,
            "detail": orjson.dumps(dict(detail or {})).decode(),
        },
    )


_INSERT_MANY = text(
    "INSERT INTO audit_log (actor, action, target, detail)"
    " SELECT * FROM unnest(CAST(:actors AS text[]), CAST(:actions AS text[]),"
    " CAST(:targets AS text[]), CAST(:details AS jsonb[]))"
)


async def append_many(
    conn: AsyncConnection, rows: Sequence[tuple[str, str, str | None, Mapping[str, Any]]]
) -> None:
    """Many entries in one statement (one per lead of an intake batch)."""
    if not rows:
        return
    await conn.execute(
        _INSERT_MANY,
        {
            "actors": [r[0] for r in rows],
            "actions": [r[1] for r in rows],
            "targets": [r[2] for r in rows],
            "details": [orjson.dumps(dict(r[3])).decode() for r in rows],
        },
    )


async def append_now(
    engine: AsyncEngine,
    actor: str,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """On its own transaction: for reads, which change nothing to commit with."""
    async with engine.begin() as conn:
        await append(conn, actor, action, target, detail)


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


async def entries(engine: AsyncEngine, f: AuditFilter) -> list[AuditEntry]:
    """Newest first, with a keyset cursor (``before_id``) for the next page."""
    clauses: list[str] = []
    params: dict[str, object] = {"limit": f.limit}
    for column, value, op in (
        ("actor", f.actor, "="),
        ("action", f.action, "="),
        ("target", f.target, "="),
        ("at", f.since, ">="),
        ("at", f.until, "<"),
        ("id", f.before_id, "<"),
    ):
        if value is not None:
            name = f"p{len(params)}"
            clauses.append(f"{column} {op} :{name}")
            params[name] = value
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    query = text(
        f"SELECT id, at, actor, action, target, detail FROM audit_log {where}"  # noqa: S608
        " ORDER BY id DESC LIMIT :limit"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query, params)).all()
    return [AuditEntry(r.id, r.at, r.actor, r.action, r.target, dict(r.detail)) for r in rows]
