"""Capture's tables and the queries on them. The only module here that speaks SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_GET_LEAD = text(
    "SELECT lead_id, profile, created_at, updated_at FROM leads WHERE lead_id = :lead_id"
)
_LEAD_EXISTS = text("SELECT 1 FROM leads WHERE lead_id = :lead_id")
_INSERT_ACTIVITY = text(
    "INSERT INTO activities (activity_id, lead_id, kind, occurred_at, payload, recorded_at)"
    " VALUES (:activity_id, :lead_id, :kind, :occurred_at, CAST(:payload AS jsonb), :now)"
)


_FIND_MATCHES = text(
    "SELECT DISTINCT ON (k) k, lead_id FROM ("
    " SELECT email AS k, lead_id, created_at FROM leads WHERE email = ANY(CAST(:emails AS text[]))"
    " UNION ALL"
    " SELECT 'tel:' || phone, lead_id, created_at FROM leads"
    " WHERE phone = ANY(CAST(:phones AS text[]))"
    ") m ORDER BY k, created_at"
)
_INSERT_LEADS = text(
    "INSERT INTO leads (lead_id, email, phone, source, profile, created_at, updated_at)"
    " SELECT id, email, phone, source, profile, :now, :now FROM unnest("
    " CAST(:ids AS uuid[]), CAST(:emails AS text[]), CAST(:phones AS text[]),"
    " CAST(:sources AS text[]), CAST(:profiles AS jsonb[])) AS t(id, email, phone, source, profile)"
    " ON CONFLICT DO NOTHING RETURNING lead_id"
)


def match_key(email: str | None, phone: str | None) -> str:
    """How a person is recognised: by e-mail, or by phone when there is no e-mail."""
    return email if email else f"tel:{phone}"


async def find_matches(
    conn: AsyncConnection, emails: list[str], phones: list[str]
) -> dict[str, str]:
    """Existing leads by match key (see :func:`match_key`), one query for a whole batch."""
    if not emails and not phones:
        return {}
    rows = await conn.execute(_FIND_MATCHES, {"emails": emails, "phones": phones})
    return {r[0]: str(r[1]) for r in rows}


@dataclass(frozen=True)
class NewLead:
    lead_id: str
    email: str | None
    phone: str | None
    source: str
    profile: dict[str, Any]


async def insert_leads(conn: AsyncConnection, leads: list[NewLead], now: datetime) -> set[str]:
    """Insert in one statement; return the ids inserted (the others lost a race)."""
    if not leads:
        return set()
    rows = await conn.execute(
        _INSERT_LEADS,
        {
            "ids": [lead.lead_id for lead in leads],
            "emails": [lead.email for lead in leads],
            "phones": [lead.phone for lead in leads],
            "sources": [lead.source for lead in leads],
            "profiles": [orjson.dumps(lead.profile).decode() for lead in leads],
            "now": now,
        },
    )
    return {str(r[0]) for r in rows}


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
