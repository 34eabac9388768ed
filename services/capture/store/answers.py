"""Stored answers (table ``idempotency_keys``): what a retried or double-submitted request
is answered with (:mod:`services.capture.answers`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_GET_ANSWERS = text(
    "SELECT key, fingerprint, status_code, response FROM idempotency_keys"
    " WHERE key = ANY(CAST(:keys AS text[])) AND expires_at > :now"
)
_REMEMBER = text(
    "INSERT INTO idempotency_keys"
    " (key, fingerprint, status_code, response, created_at, expires_at)"
    " SELECT k, f, s, r, :now, e FROM unnest(CAST(:keys AS text[]), CAST(:prints AS text[]),"
    " CAST(:statuses AS integer[]), CAST(:responses AS jsonb[]),"
    " CAST(:expires AS timestamptz[])) AS t(k, f, s, r, e)"
    " ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
    " status_code = EXCLUDED.status_code, response = EXCLUDED.response,"
    " created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at"
    " WHERE idempotency_keys.expires_at <= EXCLUDED.created_at"
    " RETURNING key"
)
_PURGE_ANSWERS = text(
    "DELETE FROM idempotency_keys WHERE key = ANY(ARRAY("
    " SELECT key FROM idempotency_keys WHERE expires_at <= :now LIMIT :limit))"
)


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status_code: int
    response: Any


async def get_answers(
    conn: AsyncConnection, keys: list[str], now: datetime
) -> dict[str, StoredAnswer]:
    """Live stored answers for these request keys, in one query."""
    if not keys:
        return {}
    rows = await conn.execute(_GET_ANSWERS, {"keys": keys, "now": now})
    return {r[0]: StoredAnswer(r[1], r[2], r[3]) for r in rows}


async def remember_answers(
    conn: AsyncConnection,
    answers: dict[str, tuple[StoredAnswer, datetime]],
    now: datetime,
) -> set[str]:
    """Store answers by key (with their expiry); return the keys stored. A key missing from
    the result had a live answer already (a concurrent twin got there first)."""
    if not answers:
        return set()
    keys = list(answers)
    rows = await conn.execute(
        _REMEMBER,
        {
            "keys": keys,
            "prints": [answers[k][0].fingerprint for k in keys],
            "statuses": [answers[k][0].status_code for k in keys],
            "responses": [orjson.dumps(answers[k][0].response).decode() for k in keys],
            "expires": [answers[k][1] for k in keys],
            "now": now,
        },
    )
    return {r[0] for r in rows}


PURGE_LIMIT = 10_000  # rows per purge statement


async def purge_answers(conn: AsyncConnection, now: datetime, limit: int = PURGE_LIMIT) -> int:
    result = await conn.execute(_PURGE_ANSWERS, {"now": now, "limit": limit})
    return int(result.rowcount or 0)
