"""Capture's tables and the queries on them. The only module here that speaks SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_FIND_MATCH = text(
    "SELECT lead_id FROM leads WHERE (CAST(:email AS text) IS NOT NULL AND email = :email)"
    " OR (CAST(:email AS text) IS NULL AND CAST(:phone AS text) IS NOT NULL AND phone = :phone)"
    " ORDER BY created_at LIMIT 1"
)
_INSERT_LEAD = text(
    "INSERT INTO leads (lead_id, email, phone, source, profile, created_at, updated_at)"
    " VALUES (:lead_id, :email, :phone, :source, CAST(:profile AS jsonb), :now, :now)"
    " ON CONFLICT DO NOTHING RETURNING lead_id"
)
_GET_LEAD = text(
    "SELECT lead_id, profile, created_at, updated_at FROM leads WHERE lead_id = :lead_id"
)
_LEAD_EXISTS = text("SELECT 1 FROM leads WHERE lead_id = :lead_id")
_INSERT_ACTIVITY = text(
    "INSERT INTO activities (activity_id, lead_id, kind, occurred_at, payload, recorded_at)"
    " VALUES (:activity_id, :lead_id, :kind, :occurred_at, CAST(:payload AS jsonb), :now)"
)


async def find_match(conn: AsyncConnection, email: str | None, phone: str | None) -> str | None:
    """The existing lead for this email (or, without an email, this phone)."""
    row = (await conn.execute(_FIND_MATCH, {"email": email, "phone": phone})).first()
    return str(row[0]) if row else None


async def insert_lead(
    conn: AsyncConnection,
    lead_id: str,
    email: str | None,
    phone: str | None,
    source: str,
    profile: dict[str, Any],
    now: datetime,
) -> bool:
    """Insert unless a concurrent submission for the same person won; True if inserted."""
    params = {
        "lead_id": lead_id,
        "email": email,
        "phone": phone,
        "source": source,
        "profile": orjson.dumps(profile).decode(),
        "now": now,
    }
    return (await conn.execute(_INSERT_LEAD, params)).first() is not None


async def get_lead(conn: AsyncConnection, lead_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_LEAD, {"lead_id": lead_id})).first()
    if row is None:
        return None
    return {
        "lead_id": str(row[0]),
        "profile": row[1],
        "created_at": row[2],
        "updated_at": row[3],
    }


async def lead_exists(conn: AsyncConnection, lead_id: str) -> bool:
    return (await conn.execute(_LEAD_EXISTS, {"lead_id": lead_id})).first() is not None


async def insert_activity(
    conn: AsyncConnection,
    activity_id: str,
    lead_id: str,
    kind: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        _INSERT_ACTIVITY,
        {
            "activity_id": activity_id,
            "lead_id": lead_id,
            "kind": kind,
            "occurred_at": occurred_at,
            "payload": orjson.dumps(payload).decode(),
            "now": now,
        },
    )
