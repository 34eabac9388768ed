"""SQL of the read model: observations in, fact rows out and back, teams. SQL only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.insights.domain.facts import LeadFact, Observation

FACT_COLUMNS = [f.name for f in fields(LeadFact)]

_INSERT_OBSERVATIONS = text(
    "INSERT INTO observations (event_id, lead_id, kind, at, data)"
    " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:leads AS text[]), CAST(:kinds AS text[]),"
    " CAST(:ats AS timestamptz[]), CAST(:datas AS jsonb[]))"
    " ON CONFLICT (event_id) DO NOTHING"
)


async def insert_observations(
    conn: AsyncConnection, rows: Sequence[tuple[str, str, Observation]]
) -> None:
    """``(event_id, lead_id, observation)``; an event already stored is kept as it was."""
    if not rows:
        return
    await conn.execute(
        _INSERT_OBSERVATIONS,
        {
            "ids": [r[0] for r in rows],
            "leads": [r[1] for r in rows],
            "kinds": [r[2].kind for r in rows],
            "ats": [r[2].at for r in rows],
            "datas": [json.dumps(dict(r[2].data), default=str) for r in rows],
        },
    )


async def lock_leads(conn: AsyncConnection, lead_ids: Sequence[str]) -> None:
    """Serialise refolds of the same lead until commit: a lead's events come from many
    partitions, which replicas (or a rebuild's catch-up) may apply at once, and a refold that
    missed another's uncommitted observation must not overwrite the row. Locks are taken in
    sorted order, so two batches cannot deadlock."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('insights:' || id))"
             " FROM unnest(CAST(:ids AS text[])) AS id ORDER BY id"),
        {"ids": sorted(lead_ids)},
    )  # fmt: skip


async def observations_of(
    conn: AsyncConnection, lead_ids: Sequence[str]
) -> dict[str, list[Observation]]:
    result = await conn.execute(
        text(
            "SELECT lead_id, kind, at, data FROM observations"
            " WHERE lead_id = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": list(lead_ids)},
    )
    out: dict[str, list[Observation]] = {lead: [] for lead in lead_ids}
    for lead_id, kind, at, data in result:
        out[lead_id].append(Observation(kind, at, data))
    return out


_UPSERT_FACTS = text(
    f"INSERT INTO lead_facts ({', '.join(FACT_COLUMNS)})"
    f" SELECT {', '.join(FACT_COLUMNS)}"  # by name: migrations append columns at the end
    f" FROM jsonb_populate_recordset(NULL::lead_facts, CAST(:rows AS jsonb))"
    f" ON CONFLICT (lead_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in FACT_COLUMNS if c != "lead_id")
)


async def save_facts(conn: AsyncConnection, facts: Sequence[LeadFact]) -> None:
    """Upsert fact rows (one statement for the batch)."""
    if not facts:
        return
    rows = [{k: v for k, v in asdict(f).items()} for f in facts]
    await conn.execute(_UPSERT_FACTS, {"rows": json.dumps(rows, default=str)})


def _fact(row: Any) -> LeadFact:
    return LeadFact(**dict(row._mapping))


async def select_facts(
    conn: AsyncConnection, start: datetime | None, end: datetime | None
) -> list[LeadFact]:
    """Captured facts in [start, end); the KPI functions filter the rest."""
    result = await conn.execute(
        text(
            f"SELECT {', '.join(FACT_COLUMNS)} FROM lead_facts"
            " WHERE captured_at IS NOT NULL"
            " AND (CAST(:start AS timestamptz) IS NULL OR captured_at >= :start)"
            " AND (CAST(:end AS timestamptz) IS NULL OR captured_at < :end)"
            " ORDER BY lead_id"
        ),
        {"start": start, "end": end},
    )
    return [_fact(row) for row in result]


async def select_breaches(conn: AsyncConnection) -> list[tuple[str, str]]:
    """``(lead_id, rep_id)`` per missed first-contact deadline."""
    result = await conn.execute(
        text("SELECT lead_id, data->>'rep_id' FROM observations WHERE kind = 'sla_breached'")
    )
    return [(lead, rep) for lead, rep in result if rep is not None]


async def select_multipliers(conn: AsyncConnection) -> dict[str, float]:
    """Each rep's fairness multiplier at their latest assignment that applied one."""
    result = await conn.execute(
        text(
            "SELECT DISTINCT ON (data->>'rep_id') data->>'rep_id', (data->>'multiplier')::float"
            " FROM observations WHERE kind = 'assigned' AND data->>'multiplier' IS NOT NULL"
            " ORDER BY data->>'rep_id', at DESC, event_id"
        )
    )
    return {rep: float(m) for rep, m in result}


async def select_assignments(
    conn: AsyncConnection, lead_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The data of every assignment of these leads (one per decision, reassignments too)."""
    result = await conn.execute(
        text(
            "SELECT data FROM observations WHERE kind = 'assigned'"
            " AND lead_id = ANY(CAST(:ids AS text[])) ORDER BY at, event_id"
        ),
        {"ids": list(lead_ids)},
    )
    return [data for (data,) in result]


async def save_teams(conn: AsyncConnection, teams: dict[str, tuple[str, datetime]]) -> None:
    """A rep's team as of the latest SLA event that named it."""
    if not teams:
        return
    await conn.execute(
        text(
            "INSERT INTO rep_teams (rep_id, team, seen_at)"
            " SELECT * FROM unnest(CAST(:reps AS text[]), CAST(:teams AS text[]),"
            " CAST(:ats AS timestamptz[]))"
            " ON CONFLICT (rep_id) DO UPDATE SET team = EXCLUDED.team, seen_at = EXCLUDED.seen_at"
            " WHERE rep_teams.seen_at < EXCLUDED.seen_at"
            " OR (rep_teams.seen_at = EXCLUDED.seen_at AND rep_teams.team < EXCLUDED.team)"
        ),
        {
            "reps": list(teams),
            "teams": [t for t, _ in teams.values()],
            "ats": [at for _, at in teams.values()],
        },
    )


async def select_teams(conn: AsyncConnection) -> dict[str, str]:
    result = await conn.execute(text("SELECT rep_id, team FROM rep_teams"))
    return {rep: team for rep, team in result}


async def erase(conn: AsyncConnection, lead_ids: list[str]) -> None:
    """An erased lead keeps its counts (an anonymous fact row) and loses what could point at
    the person: its observations (the lost reason is free text a rep wrote) and the free text
    on its fact row."""
    await conn.execute(
        text("DELETE FROM observations WHERE lead_id = ANY(CAST(:ids AS text[]))"
             " AND kind <> 'sla_breached'"),
        {"ids": lead_ids},
    )  # fmt: skip
    await conn.execute(
        text(
            "UPDATE lead_facts SET erased = true, lost_reason = NULL"
            " WHERE lead_id = ANY(CAST(:ids AS text[]))"
        ),
        {"ids": lead_ids},
    )


async def count_facts(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT count(*) FROM lead_facts"))).scalar_one())


async def select_fact(conn: AsyncConnection, lead_id: str) -> LeadFact | None:
    result = await conn.execute(
        text(f"SELECT {', '.join(FACT_COLUMNS)} FROM lead_facts WHERE lead_id = :id"),
        {"id": lead_id},
    )
    row = result.first()
    return _fact(row) if row is not None else None


async def select_decisions(
    conn: AsyncConnection, lead_ids: Sequence[str], limit: int
) -> list[tuple[str, datetime, dict[str, Any], dict[str, Any] | None]]:
    """The latest assignments of these leads, newest first: ``(lead_id, at, assignment,
    the score it was routed on)`` (the lead's latest score at or before the assignment)."""
    result = await conn.execute(
        text(
            "SELECT a.lead_id, a.at, a.data, s.data FROM observations a"
            " LEFT JOIN LATERAL (SELECT data FROM observations o WHERE o.lead_id = a.lead_id"
            "  AND o.kind = 'scored' AND o.at <= a.at ORDER BY o.at DESC LIMIT 1) s ON true"
            " WHERE a.kind = 'assigned' AND a.lead_id = ANY(CAST(:ids AS text[]))"
            " ORDER BY a.at DESC, a.event_id LIMIT :limit"
        ),
        {"ids": list(lead_ids), "limit": limit},
    )
    return [(lead, at, data, scored) for lead, at, data, scored in result]


async def mark_applied(conn: AsyncConnection) -> None:
    """Note that events were applied now (the transaction's time): the pages show it."""
    await conn.execute(
        text(
            "INSERT INTO applied (applied_at) VALUES (now())"
            " ON CONFLICT (only_row) DO UPDATE SET applied_at = EXCLUDED.applied_at"
        )
    )


async def last_applied(conn: AsyncConnection) -> datetime | None:
    found: datetime | None = (
        await conn.execute(text("SELECT applied_at FROM applied"))
    ).scalar_one_or_none()
    return found
