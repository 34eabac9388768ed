"""Memory of recently accepted signed messages, so an exact replay is refused.

The only SQL of the source endpoints (table ``source_replays``, migration 0002). A message id
is claimed after its signature and timestamp check out, and released again if handling the
request then fails, so the vendor's retry of a failed delivery is not mistaken for a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# Claim unless a row for this id is still within its window; an expired row is taken over.
_CLAIM = text(
    "INSERT INTO source_replays (source, message_id, signed_at, expires_at)"
    " VALUES (:source, :message_id, :signed_at, :expires_at)"
    " ON CONFLICT (source, message_id) DO UPDATE"
    " SET signed_at = EXCLUDED.signed_at, expires_at = EXCLUDED.expires_at"
    " WHERE source_replays.expires_at <= :now"
    " RETURNING 1"
)
_SEEN = text(
    "SELECT signed_at FROM source_replays WHERE source = :source AND message_id = :message_id"
)
_RELEASE = text(
    "DELETE FROM source_replays"
    " WHERE source = :source AND message_id = :message_id AND signed_at = :signed_at"
)
_PURGE = text("DELETE FROM source_replays WHERE expires_at <= :now")


@dataclass(frozen=True)
class Claim:
    """``fresh``: first sight. Otherwise ``seen_at`` is when the earlier one was signed: the
    same instant is an exact replay; another means the vendor re-sent it (a retry)."""

    fresh: bool
    seen_at: datetime | None = None


async def claim(
    engine: AsyncEngine,
    source: str,
    message_id: str,
    signed_at: datetime,
    now: datetime,
    tolerance_s: int,
) -> Claim:
    """Remember the message until it could no longer pass the timestamp check."""
    expires_at = max(signed_at, now) + timedelta(seconds=tolerance_s)
    params = {"source": source, "message_id": message_id}
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                _CLAIM, {**params, "signed_at": signed_at, "expires_at": expires_at, "now": now}
            )
        ).first()
        if row is not None:
            return Claim(fresh=True)
        seen = (await conn.execute(_SEEN, params)).scalar_one_or_none()
    return Claim(fresh=False, seen_at=seen)


async def release(engine: AsyncEngine, source: str, message_id: str, signed_at: datetime) -> None:
    """Forget a claim whose request failed, so the vendor's retry goes through."""
    async with engine.begin() as conn:
        await conn.execute(
            _RELEASE, {"source": source, "message_id": message_id, "signed_at": signed_at}
        )


async def purge(engine: AsyncEngine, now: datetime) -> int:
    """Drop ids past their window; returns how many."""
    async with engine.begin() as conn:
        result = await conn.execute(_PURGE, {"now": now})
    return int(result.rowcount or 0)
