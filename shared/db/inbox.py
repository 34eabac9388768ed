"""The inbox: which event ids a consumer has already applied.

Claiming ids and applying their effects happen in one transaction, so a redelivered
event (after a rebalance, a crash before the offset commit, or a re-published outbox row)
finds its id taken and is skipped: effects happen exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_CLAIM_AND_CHECK_ERASED = text(
    "WITH claimed AS (INSERT INTO inbox (consumer, event_id)"
    " SELECT :consumer, id FROM unnest(CAST(:ids AS text[])) AS id"
    " ON CONFLICT DO NOTHING RETURNING event_id)"
    " SELECT event_id, false FROM claimed"
    " UNION ALL SELECT lead_id, true FROM erased_leads"
    " WHERE lead_id = ANY(CAST(:subjects AS text[]))"
)


async def claim_new_of_live_leads(
    conn: AsyncConnection, consumer: str, event_ids: Sequence[str], subjects: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Record the event ids and, in the same round trip, find which subjects (lead ids) were
    erased: ``(ids not seen before, erased subjects)``. A duplicate inside the batch counts
    once."""
    if not event_ids:
        return set(), set()
    params = {
        "consumer": consumer,
        "ids": list(dict.fromkeys(event_ids)),
        "subjects": list(dict.fromkeys(subjects)),
    }
    fresh: set[str] = set()
    erased: set[str] = set()
    for value, is_erased in await conn.execute(_CLAIM_AND_CHECK_ERASED, params):
        (erased if is_erased else fresh).add(value)
    return fresh, erased


_PURGE = text(
    "DELETE FROM inbox WHERE ctid = ANY(ARRAY("
    " SELECT ctid FROM inbox WHERE processed_at < now() - make_interval(days => :days)"
    " LIMIT :limit))"
)


async def purge_old(conn: AsyncConnection, keep_days: int, limit: int = 10_000) -> int:
    """Forget ids older than the dedupe window (redeliveries come within minutes or hours)."""
    result = await conn.execute(_PURGE, {"days": keep_days, "limit": limit})
    return int(result.rowcount or 0)
