"""Erasure: delete a person's lead, activities, merges and the stored answers naming them,
and remember that they were erased."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_ERASE_LEAD = text("DELETE FROM leads WHERE lead_id = :lead_id RETURNING lead_id")
_RECORD_ERASURE = text(
    "INSERT INTO erasures (lead_id, erased_at, reason) VALUES (:lead_id, :now, :reason)"
    " ON CONFLICT DO NOTHING"
)
_WAS_ERASED = text("SELECT erased_at FROM erasures WHERE lead_id = :lead_id")
# Stored answers naming the lead: a single lead's or activity's answer ({lead_id, ...}) and
# a batch's or vendor payload's ({results: [{lead_id, ...}]}). Erasure is rare and the table
# only holds answers still inside their window, so a scan is cheaper than an index every
# answer would pay for.
_FORGET_ANSWERS = text(
    "DELETE FROM idempotency_keys"
    " WHERE response @> jsonb_build_object('lead_id', CAST(:lead_id AS text))"
    " OR response @> jsonb_build_object('results',"
    " jsonb_build_array(jsonb_build_object('lead_id', CAST(:lead_id AS text))))"
)


async def erase_lead(
    conn: AsyncConnection, lead_id: str, reason: str | None, now: datetime
) -> bool:
    """Delete the lead with its activities and merge trace, and forget every stored answer
    that names it (so a double submit of the erased person's form is a new lead, not a
    pointer to a lead that is gone); False if there was no such lead."""
    deleted = (await conn.execute(_ERASE_LEAD, {"lead_id": lead_id})).first()
    if deleted is None:
        return False
    await conn.execute(_RECORD_ERASURE, {"lead_id": lead_id, "now": now, "reason": reason})
    await conn.execute(_FORGET_ANSWERS, {"lead_id": lead_id})
    return True


async def erased_at(conn: AsyncConnection, lead_id: str) -> datetime | None:
    row = (await conn.execute(_WAS_ERASED, {"lead_id": lead_id})).first()
    return None if row is None else row[0]
