"""The scorer's tables (leads, activities) and the queries on them. The only module with SQL.

Every statement works on a whole batch: ``= ANY(:ids)`` to load, ``unnest(...)`` to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scorer.domain import ActivityFact
from shared.db.columns import column_params

_LOAD_LEADS = text(
    "SELECT lead_id, CAST(profile AS text), captured_at, qualified, bucket FROM leads"
    " WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
)
_INSERT_ACTIVITIES = text(
    "INSERT INTO activities (activity_id, lead_id, kind, occurred_at, channel, details)"
    " SELECT a, l, k, o, c, CAST(d AS jsonb) FROM unnest(CAST(:activity_ids AS uuid[]),"
    " CAST(:lead_ids AS uuid[]), CAST(:kinds AS text[]), CAST(:occurred AS timestamptz[]),"
    " CAST(:channels AS text[]), CAST(:details AS text[])) AS t(a, l, k, o, c, d)"
    " ON CONFLICT (activity_id) DO NOTHING RETURNING activity_id"
)
_LOAD_ACTIVITIES = text(
    "SELECT lead_id, kind, occurred_at, channel, CAST(details AS text) FROM activities"
    " WHERE lead_id = ANY(CAST(:ids AS uuid[])) ORDER BY lead_id, occurred_at"
)
_SAVE_SCORES = text(
    "INSERT INTO leads (lead_id, profile, captured_at, score, fit, engagement, bucket,"
    " qualified, contributions, model_version, scored_at)"
    " SELECT l, CAST(p AS jsonb), ca, s, f, e, b, q, CAST(cs AS jsonb), v, sa"
    " FROM unnest(CAST(:lead_ids AS uuid[]), CAST(:profiles AS text[]),"
    " CAST(:captured AS timestamptz[]), CAST(:scores AS float8[]), CAST(:fits AS float8[]),"
    " CAST(:engagements AS float8[]), CAST(:buckets AS text[]), CAST(:qualified AS bool[]),"
    " CAST(:contributions AS text[]), CAST(:versions AS text[]),"
    " CAST(:scored AS timestamptz[])) AS t(l, p, ca, s, f, e, b, q, cs, v, sa)"
    " ON CONFLICT (lead_id) DO UPDATE SET profile = EXCLUDED.profile,"
    " score = EXCLUDED.score, fit = EXCLUDED.fit,"
    " engagement = EXCLUDED.engagement, bucket = EXCLUDED.bucket,"
    " qualified = EXCLUDED.qualified, contributions = EXCLUDED.contributions,"
    " model_version = EXCLUDED.model_version, scored_at = EXCLUDED.scored_at"
)
_GET_SCORE = text(
    "SELECT lead_id, score, fit, engagement, bucket, qualified, CAST(contributions AS text),"
    " model_version, scored_at, captured_at FROM leads"
    " WHERE lead_id = :lead_id AND scored_at IS NOT NULL"
)


@dataclass(frozen=True)
class StoredLead:
    """A lead the scorer knows: its profile, and whether it was qualified and in which bucket
    at its last score (None before its first)."""

    lead_id: str
    profile: dict[str, Any]
    captured_at: datetime
    qualified: bool | None
    bucket: str | None = None


@dataclass(frozen=True)
class ActivityRow:
    activity_id: str
    lead_id: str
    kind: str
    occurred_at: datetime
    channel: str | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreRow:
    lead_id: str
    profile: Mapping[str, Any]
    captured_at: datetime
    score: float
    fit: float
    engagement: float
    bucket: str
    qualified: bool
    contributions: Sequence[Mapping[str, Any]]
    model_version: str
    scored_at: datetime


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def load_leads(conn: AsyncConnection, lead_ids: Iterable[str]) -> dict[str, StoredLead]:
    """The known leads among ``lead_ids``, by id (one query)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    rows = await conn.execute(_LOAD_LEADS, {"ids": ids})
    return {
        str(r[0]): StoredLead(str(r[0]), orjson.loads(r[1]), r[2], r[3], r[4]) for r in rows.all()
    }


async def insert_activities(conn: AsyncConnection, activities: Sequence[ActivityRow]) -> set[str]:
    """Store activities not seen before; return the ids actually inserted (one statement)."""
    if not activities:
        return set()
    params = column_params(
        activities,
        activity_ids="activity_id",
        lead_ids="lead_id",
        kinds="kind",
        occurred="occurred_at",
        channels="channel",
        details=lambda a: _json(dict(a.details)),
    )
    rows = await conn.execute(_INSERT_ACTIVITIES, params)
    return {str(r[0]) for r in rows.all()}


async def load_activities(
    conn: AsyncConnection, lead_ids: Iterable[str]
) -> dict[str, list[ActivityFact]]:
    """Every stored activity of these leads, oldest first, by lead id (one query)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    out: dict[str, list[ActivityFact]] = {}
    for lead_id, kind, occurred_at, channel, details in (
        await conn.execute(_LOAD_ACTIVITIES, {"ids": ids})
    ).all():
        fact = ActivityFact(kind, occurred_at, channel, orjson.loads(details))
        out.setdefault(str(lead_id), []).append(fact)
    return out


async def save_scores(conn: AsyncConnection, rows: Sequence[ScoreRow]) -> None:
    """Insert new leads with their score, or update the score of known ones (one statement)."""
    if not rows:
        return
    params = column_params(
        rows,
        lead_ids="lead_id",
        profiles=lambda r: _json(dict(r.profile)),
        captured="captured_at",
        scores="score",
        fits="fit",
        engagements="engagement",
        buckets="bucket",
        qualified="qualified",
        contributions=lambda r: _json([dict(c) for c in r.contributions]),
        versions="model_version",
        scored="scored_at",
    )
    await conn.execute(_SAVE_SCORES, params)


async def get_score(conn: AsyncConnection, lead_id: str) -> dict[str, Any] | None:
    """The latest score of a lead, or None if the scorer has not scored it."""
    row = (await conn.execute(_GET_SCORE, {"lead_id": lead_id})).first()
    if row is None:
        return None
    return {
        "lead_id": str(row[0]),
        "score": row[1],
        "fit": row[2],
        "engagement": row[3],
        "bucket": row[4],
        "qualified": row[5],
        "contributions": orjson.loads(row[6]) if row[6] else [],
        "model_version": row[7],
        "scored_at": row[8],
        "captured_at": row[9],
    }


_CLAIM_STALE = text(
    "SELECT lead_id, CAST(profile AS text), captured_at, qualified, bucket FROM leads"
    " WHERE engagement <> 0 AND scored_at < :before ORDER BY scored_at LIMIT :limit"
    " FOR UPDATE SKIP LOCKED"
)


async def claim_stale(conn: AsyncConnection, before: datetime, limit: int) -> dict[str, StoredLead]:
    """Leads whose engagement may have faded since their last score, oldest score first,
    locked so that replicas re-score disjoint sets."""
    rows = await conn.execute(_CLAIM_STALE, {"before": before, "limit": limit})
    return {
        str(r[0]): StoredLead(str(r[0]), orjson.loads(r[1]), r[2], r[3], r[4]) for r in rows.all()
    }


_ERASE_LEADS = text("DELETE FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))")
_ERASE_ACTIVITIES = text("DELETE FROM activities WHERE lead_id = ANY(CAST(:ids AS uuid[]))")


async def erase(conn: AsyncConnection, lead_ids: list[str]) -> None:
    """Forget erased leads: profile, score and activities."""
    await conn.execute(_ERASE_LEADS, {"ids": lead_ids})
    await conn.execute(_ERASE_ACTIVITIES, {"ids": lead_ids})
