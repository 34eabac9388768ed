"""Leads, their activities, merge trace and rule match keys: the queries on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db.columns import column_params

_GET_LEAD = text(
    "SELECT lead_id, profile, created_at, updated_at FROM leads WHERE lead_id = :lead_id"
)
_LEAD_EXISTS = text("SELECT 1 FROM leads WHERE lead_id = :lead_id")
_INSERT_ACTIVITIES = text(
    "INSERT INTO activities (activity_id, lead_id, kind, occurred_at, payload, recorded_at)"
    " SELECT i, l, k, o, p, :now FROM unnest(CAST(:ids AS uuid[]), CAST(:lead_ids AS uuid[]),"
    " CAST(:kinds AS text[]), CAST(:occurred AS timestamptz[]), CAST(:payloads AS jsonb[]))"
    " AS t(i, l, k, o, p)"
)
_EXISTING_LEADS = text("SELECT lead_id FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))")


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


async def find_matches(
    conn: AsyncConnection, emails: list[str], phones: list[str]
) -> dict[str, str]:
    """Existing leads by match key (:func:`services.capture.domain.identity.match_key`),
    one query for a whole batch."""
    if not emails and not phones:
        return {}
    rows = await conn.execute(_FIND_MATCHES, {"emails": emails, "phones": phones})
    return {r[0]: str(r[1]) for r in rows}


def _profile(lead: NewLead) -> str:
    return orjson.dumps(lead.profile).decode()


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
    params = column_params(
        leads, ids="lead_id", emails="email", phones="phone", sources="source", profiles=_profile
    )
    rows = await conn.execute(_INSERT_LEADS, {**params, "now": now})
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


@dataclass(frozen=True)
class ActivityRow:
    activity_id: str
    lead_id: str
    kind: str
    occurred_at: datetime
    payload: dict[str, Any]


async def insert_activities(conn: AsyncConnection, rows: list[ActivityRow], now: datetime) -> None:
    if not rows:
        return
    params = column_params(
        rows,
        ids="activity_id",
        lead_ids="lead_id",
        kinds="kind",
        occurred="occurred_at",
        payloads=lambda r: orjson.dumps(r.payload).decode(),
    )
    await conn.execute(_INSERT_ACTIVITIES, {**params, "now": now})


async def existing_leads(conn: AsyncConnection, lead_ids: list[str]) -> set[str]:
    if not lead_ids:
        return set()
    rows = await conn.execute(_EXISTING_LEADS, {"ids": lead_ids})
    return {str(r[0]) for r in rows}


_LOCK_PROFILES = text(
    "SELECT lead_id, profile FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
    " ORDER BY lead_id FOR UPDATE"
)
_UPDATE_PROFILES = text(
    "UPDATE leads SET profile = t.profile, phone = t.phone, updated_at = :now"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:phones AS text[]), CAST(:profiles AS jsonb[]))"
    " AS t(id, phone, profile) WHERE leads.lead_id = t.id"
)
_INSERT_MERGES = text(
    "INSERT INTO lead_merges (merge_id, lead_id, matched_by, source, changes, merged_at)"
    " SELECT * FROM unnest(CAST(:merge_ids AS uuid[]), CAST(:lead_ids AS uuid[]),"
    " CAST(:matched_by AS text[]), CAST(:sources AS text[]), CAST(:changes AS jsonb[]),"
    " CAST(:merged_at AS timestamptz[]))"
)
_GET_MERGES = text(
    "SELECT merge_id, matched_by, source, changes, merged_at FROM lead_merges"
    " WHERE lead_id = :lead_id ORDER BY merged_at, merge_id"
)


async def lock_profiles(conn: AsyncConnection, lead_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Profiles of matched leads, row-locked (in id order) so concurrent merges serialise."""
    if not lead_ids:
        return {}
    rows = await conn.execute(_LOCK_PROFILES, {"ids": lead_ids})
    return {str(r[0]): dict(r[1]) for r in rows}


async def update_profiles(
    conn: AsyncConnection, profiles: dict[str, dict[str, Any]], now: datetime
) -> None:
    if not profiles:
        return
    ids = list(profiles)
    await conn.execute(
        _UPDATE_PROFILES,
        {
            "ids": ids,
            "phones": [profiles[i].get("phone") for i in ids],
            "profiles": [orjson.dumps(profiles[i]).decode() for i in ids],
            "now": now,
        },
    )


@dataclass(frozen=True)
class MergeRecord:
    merge_id: str
    lead_id: str
    matched_by: str
    source: str
    changes: list[dict[str, Any]]
    merged_at: datetime


async def insert_merges(conn: AsyncConnection, merges: list[MergeRecord]) -> None:
    if not merges:
        return
    params = column_params(
        merges,
        merge_ids="merge_id",
        lead_ids="lead_id",
        matched_by="matched_by",
        sources="source",
        changes=lambda m: orjson.dumps(m.changes).decode(),
        merged_at="merged_at",
    )
    await conn.execute(_INSERT_MERGES, params)


async def get_merges(conn: AsyncConnection, lead_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(_GET_MERGES, {"lead_id": lead_id})
    return [
        {
            "merge_id": str(r[0]),
            "matched_by": r[1],
            "source": r[2],
            "changes": r[3],
            "merged_at": r[4],
        }
        for r in rows
    ]


# --- configured match rules ----------------------------------------------------------------

_LOCK_MATCH_KEYS = text(
    "SELECT pg_advisory_xact_lock(:space, hashtext(k))"
    " FROM (SELECT k FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS s"
)
_FIND_RULE_MATCHES = text(
    "SELECT DISTINCT ON (m.key) m.key, m.lead_id FROM lead_match_keys m"
    " JOIN leads l USING (lead_id) WHERE m.key = ANY(CAST(:keys AS text[]))"
    " ORDER BY m.key, l.created_at"
)
_INSERT_MATCH_KEYS = text(
    "INSERT INTO lead_match_keys (key, lead_id)"
    " SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:lead_ids AS uuid[]))"
    " ON CONFLICT DO NOTHING"
)
MATCH_LOCK_SPACE = 7_340_101  # first key of the two-key advisory locks on rule keys


async def lock_match_keys(conn: AsyncConnection, keys: list[str]) -> None:
    """Serialise submissions sharing a rule key until this transaction ends (sorted order,
    so two batches cannot deadlock)."""
    await conn.execute(_LOCK_MATCH_KEYS, {"space": MATCH_LOCK_SPACE, "keys": keys})


async def find_rule_matches(conn: AsyncConnection, keys: list[str]) -> dict[str, str]:
    """The oldest lead holding each rule key."""
    rows = await conn.execute(_FIND_RULE_MATCHES, {"keys": keys})
    return {r[0]: str(r[1]) for r in rows}


async def insert_match_keys(conn: AsyncConnection, pairs: list[tuple[str, str]]) -> None:
    if not pairs:
        return
    await conn.execute(
        _INSERT_MATCH_KEYS, {"keys": [k for k, _ in pairs], "lead_ids": [i for _, i in pairs]}
    )
