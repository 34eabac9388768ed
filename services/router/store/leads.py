"""Leads, rep loads and queue cursors. Routing decisions are serialised across replicas by a
transaction advisory lock, taken once per batch, so rotation and caps stay exact with any
number of router processes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.load import PeriodStarts
from services.router.domain.model import RepLoad
from shared.db.columns import column_params

ROUTING_LOCK = 7_340_001  # pg_advisory_xact_lock key: one routing decision-maker at a time


@dataclass(frozen=True)
class LeadRow:
    lead_id: str
    status: str
    queue: str | None
    rep_id: str | None
    assignment_id: str | None
    score: float
    bucket: str
    profile: dict[str, Any]
    captured_at: datetime
    closed_at: datetime | None
    rule: str | None = None
    assigned_at: datetime | None = None


_COLUMNS = (
    "lead_id, status, queue, rep_id, assignment_id, score, bucket, profile, captured_at, closed_at,"
    " rule, assigned_at"
)


def _row(r: Any) -> LeadRow:
    profile = r[7] if isinstance(r[7], dict) else orjson.loads(r[7])
    return LeadRow(
        str(r[0]), r[1], r[2], r[3], str(r[4]) if r[4] else None, r[5], r[6], profile, r[8], r[9],
        r[10], r[11],
    )  # fmt: skip


async def lock_routing(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROUTING_LOCK})


async def load_leads(conn: AsyncConnection, lead_ids: Iterable[str]) -> dict[str, LeadRow]:
    ids = list(set(lead_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": ids},
    )
    return {str(r[0]): _row(r) for r in rows}


async def load_waiting(conn: AsyncConnection, limit: int) -> list[LeadRow]:
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM leads WHERE status = 'waiting'"
            " ORDER BY decided_at LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [_row(r) for r in rows]


@dataclass(frozen=True)
class StoredLoad:
    """A rep's stored load and the periods its counts are for (``domain.load.PeriodStarts``).
    ``open_by_bucket`` is read only when asked (weighted load); it is never written."""

    load: RepLoad
    periods: PeriodStarts
    open_by_bucket: Mapping[str, int] | None = None

    @property
    def day_start(self) -> datetime:
        return self.periods.day


_OPEN_BY_BUCKET = (
    ", (SELECT coalesce(jsonb_object_agg(b.bucket, b.n), '{}'::jsonb) FROM"
    " (SELECT bucket, count(*) AS n FROM leads WHERE leads.rep_id = rep_load.rep_id"
    " AND status = 'assigned' AND closed_at IS NULL GROUP BY bucket) AS b)"
)


async def load_rep_loads(
    conn: AsyncConnection, open_by_bucket: bool = False
) -> dict[str, StoredLoad]:
    """Every rep's stored load; with ``open_by_bucket`` also their open leads per bucket, in
    the same statement (the weighted load follows the leads' current buckets and weights)."""
    extra = _OPEN_BY_BUCKET if open_by_bucket else ""
    rows = await conn.execute(
        text(
            "SELECT rep_id, open_leads, assigned_today, day_start, assigned_week, week_start,"
            f" assigned_month, month_start{extra} FROM rep_load"
        )
    )
    out: dict[str, StoredLoad] = {}
    for r in rows:
        load = RepLoad(r[0], r[1], r[2], assigned_week=r[4], assigned_month=r[6])
        buckets = None
        if open_by_bucket:
            buckets = r[8] if isinstance(r[8], dict) else orjson.loads(r[8])
        out[r[0]] = StoredLoad(load, PeriodStarts(r[3], r[5], r[7]), buckets)
    return out


async def load_cursors(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(text("SELECT queue, cursor FROM queue_cursor"))
    return {r[0]: r[1] for r in rows}


@dataclass(frozen=True)
class LeadDecision:
    lead_id: str
    status: str
    queue: str | None
    rep_id: str | None
    assignment_id: str | None
    rule: str | None
    score: float
    bucket: str
    profile: Mapping[str, Any]
    captured_at: datetime
    decided_at: datetime
    assigned_at: datetime | None
    sla_due_at: datetime | None
    email_domain: str | None = None
    company_key: str | None = None
    config_version: int | None = None


_UPSERT_LEADS = text(
    "INSERT INTO leads (lead_id, status, queue, rep_id, assignment_id, rule, score, bucket,"
    " profile, captured_at, decided_at, assigned_at, sla_due_at, email_domain, company_key,"
    " config_version)"
    " SELECT * FROM unnest(CAST(:lead_id AS uuid[]), CAST(:status AS text[]),"
    " CAST(:queue AS text[]), CAST(:rep_id AS text[]), CAST(:assignment_id AS uuid[]),"
    " CAST(:rule AS text[]), CAST(:score AS float8[]), CAST(:bucket AS text[]),"
    " CAST(:profile AS jsonb[]), CAST(:captured_at AS timestamptz[]),"
    " CAST(:decided_at AS timestamptz[]), CAST(:assigned_at AS timestamptz[]),"
    " CAST(:sla_due_at AS timestamptz[]), CAST(:email_domain AS text[]),"
    " CAST(:company_key AS text[]), CAST(:config_version AS int[]))"
    " ON CONFLICT (lead_id) DO UPDATE SET status = excluded.status, queue = excluded.queue,"
    " rep_id = excluded.rep_id, assignment_id = excluded.assignment_id, rule = excluded.rule,"
    " score = excluded.score, bucket = excluded.bucket, profile = excluded.profile,"
    " decided_at = excluded.decided_at, assigned_at = excluded.assigned_at,"
    " sla_due_at = excluded.sla_due_at, email_domain = excluded.email_domain,"
    " company_key = excluded.company_key, config_version = excluded.config_version,"
    # A new decision (a waiting, nurtured, recycled or snoozed lead placed again) starts
    # afresh: not closed, not reached, warm, no lost reason, not asleep.
    " closed_at = NULL, contacted_at = NULL, warm_at = NULL, replied_at = NULL, touches = 0,"
    " cold_since = NULL, lost_reason = NULL, snoozed_until = NULL"
)


async def save_decisions(conn: AsyncConnection, decisions: Sequence[LeadDecision]) -> None:
    if not decisions:
        return
    cols: dict[str, list[Any]] = {k: [] for k in LeadDecision.__dataclass_fields__}
    for d in decisions:
        for k in cols:
            value = getattr(d, k)
            cols[k].append(orjson.dumps(value).decode() if k == "profile" else value)
    await conn.execute(_UPSERT_LEADS, cols)


@dataclass(frozen=True)
class ScoreUpdate:
    lead_id: str
    score: float
    bucket: str
    profile: Mapping[str, Any]
    email_domain: str | None
    company_key: str | None


async def update_scores(conn: AsyncConnection, updates: Sequence[ScoreUpdate]) -> None:
    """Keep score, bucket, profile and account keys current for leads whose owner does not
    change."""
    if not updates:
        return
    await conn.execute(
        text(
            "UPDATE leads SET score = u.score, bucket = u.bucket, profile = u.profile,"
            " email_domain = u.domain, company_key = u.company"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:scores AS float8[]),"
            " CAST(:buckets AS text[]), CAST(:profiles AS jsonb[]), CAST(:domains AS text[]),"
            " CAST(:companies AS text[])) AS u(id, score, bucket, profile, domain, company)"
            " WHERE leads.lead_id = u.id"
        ),
        column_params(
            updates,
            ids="lead_id",
            scores="score",
            buckets="bucket",
            profiles=lambda u: orjson.dumps(u.profile).decode(),
            domains="email_domain",
            companies="company_key",
        ),
    )


async def save_rep_loads(conn: AsyncConnection, loads: Mapping[str, StoredLoad]) -> None:
    if not loads:
        return
    stored = list(loads.values())
    await conn.execute(
        text(
            "INSERT INTO rep_load (rep_id, open_leads, assigned_today, day_start, assigned_week,"
            " week_start, assigned_month, month_start)"
            " SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:open AS int[]),"
            " CAST(:today AS int[]), CAST(:day AS timestamptz[]), CAST(:week AS int[]),"
            " CAST(:week_start AS timestamptz[]), CAST(:month AS int[]),"
            " CAST(:month_start AS timestamptz[]))"
            " ON CONFLICT (rep_id) DO UPDATE SET open_leads = excluded.open_leads,"
            " assigned_today = excluded.assigned_today, day_start = excluded.day_start,"
            " assigned_week = excluded.assigned_week, week_start = excluded.week_start,"
            " assigned_month = excluded.assigned_month, month_start = excluded.month_start"
        ),
        {
            "ids": list(loads),
            "open": [s.load.open_leads for s in stored],
            "today": [s.load.assigned_today for s in stored],
            "day": [s.periods.day for s in stored],
            "week": [s.load.assigned_week or 0 for s in stored],
            "week_start": [s.periods.week for s in stored],
            "month": [s.load.assigned_month or 0 for s in stored],
            "month_start": [s.periods.month for s in stored],
        },
    )


async def save_cursors(conn: AsyncConnection, cursors: Mapping[str, int]) -> None:
    if not cursors:
        return
    await conn.execute(
        text(
            "INSERT INTO queue_cursor (queue, cursor)"
            " SELECT * FROM unnest(CAST(:queues AS text[]), CAST(:cursors AS int[]))"
            " ON CONFLICT (queue) DO UPDATE SET cursor = excluded.cursor"
        ),
        {"queues": list(cursors), "cursors": list(cursors.values())},
    )


async def close_leads(
    conn: AsyncConnection, lead_ids: Sequence[str], at: datetime
) -> list[tuple[str, str]]:
    """Mark open assignments closed (won/lost); return (lead, rep) for each one closed now:
    the reps whose load drops."""
    if not lead_ids:
        return []
    rows = await conn.execute(
        text(
            "UPDATE leads SET closed_at = :at WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
            " AND status = 'assigned' AND closed_at IS NULL RETURNING lead_id, rep_id"
        ),
        {"ids": list(lead_ids), "at": at},
    )
    return [(str(r[0]), r[1]) for r in rows]


@dataclass(frozen=True)
class FirstContact:
    lead_id: str
    rep_id: str
    assigned_at: datetime


async def record_contacts(
    conn: AsyncConnection, contacts: Mapping[str, datetime]
) -> list[FirstContact]:
    """Note when each assigned lead was first reached; return the leads whose owner had not
    reached them before (a later contact by the same owner changes nothing)."""
    if not contacts:
        return []
    rows = await conn.execute(
        text(
            "UPDATE leads SET contacted_at = c.at FROM unnest(CAST(:ids AS uuid[]),"
            " CAST(:ats AS timestamptz[])) AS c(id, at) WHERE leads.lead_id = c.id"
            " AND leads.status = 'assigned' AND leads.contacted_at IS NULL"
            " RETURNING leads.lead_id, leads.rep_id, leads.assigned_at"
        ),
        {"ids": list(contacts), "ats": list(contacts.values())},
    )
    return [FirstContact(str(r[0]), r[1], r[2]) for r in rows]


@dataclass(frozen=True)
class Reassignment:
    lead_id: str
    queue: str
    rep_id: str
    assignment_id: str
    assigned_at: datetime
    sla_due_at: datetime | None
    config_version: int | None = None


async def reassign_leads(conn: AsyncConnection, moves: Sequence[Reassignment]) -> None:
    """The lead has a new owner (after an SLA breach); the new owner has not reached it yet."""
    if not moves:
        return
    await conn.execute(
        text(
            "UPDATE leads SET queue = m.queue, rep_id = m.rep, assignment_id = m.assignment,"
            " assigned_at = m.at, decided_at = m.at, sla_due_at = m.due, contacted_at = NULL,"
            " config_version = m.version, warm_at = NULL, replied_at = NULL, touches = 0,"
            " cold_since = NULL"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:queues AS text[]), CAST(:reps AS text[]),"
            " CAST(:assignments AS uuid[]), CAST(:ats AS timestamptz[]),"
            " CAST(:dues AS timestamptz[]), CAST(:versions AS int[]))"
            " AS m(id, queue, rep, assignment, at, due, version)"
            " WHERE leads.lead_id = m.id"
        ),
        column_params(
            moves,
            ids="lead_id",
            queues="queue",
            reps="rep_id",
            assignments="assignment_id",
            ats="assigned_at",
            dues="sla_due_at",
            versions="config_version",
        ),
    )


async def release_load(conn: AsyncConnection, rep_ids: Sequence[str]) -> None:
    if not rep_ids:
        return
    await conn.execute(
        text(
            "UPDATE rep_load SET open_leads = greatest(open_leads - d.n, 0)"
            " FROM (SELECT r, count(*) AS n FROM unnest(CAST(:reps AS text[])) AS r GROUP BY r) d"
            " WHERE rep_load.rep_id = d.r"
        ),
        {"reps": list(rep_ids)},
    )


async def get_lead(conn: AsyncConnection, lead_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            text(
                "SELECT lead_id, status, queue, rep_id, assignment_id, rule, score, bucket,"
                " decided_at, assigned_at, sla_due_at, contacted_at, closed_at, config_version,"
                " warm_at, touches, cold_since, lost_reason, snoozed_until"
                " FROM leads"
                " WHERE lead_id = :id"
            ),
            {"id": lead_id},
        )
    ).first()
    if row is None:
        return None
    keys = ("lead_id", "status", "queue", "rep_id", "assignment_id", "rule", "score", "bucket",
            "decided_at", "assigned_at", "sla_due_at", "contacted_at", "closed_at",
            "config_version", "warm_at", "touches", "cold_since", "lost_reason",
            "snoozed_until")  # fmt: skip
    out = dict(zip(keys, row, strict=True))
    out["lead_id"] = str(out["lead_id"])
    out["assignment_id"] = str(out["assignment_id"]) if out["assignment_id"] else None
    return out


async def queue_counts(conn: AsyncConnection) -> dict[str, dict[str, int]]:
    rows = await conn.execute(
        text(
            "SELECT queue, count(*) FILTER (WHERE status = 'waiting'),"
            " count(*) FILTER (WHERE status = 'assigned' AND closed_at IS NULL)"
            " FROM leads WHERE queue IS NOT NULL GROUP BY queue"
        )
    )
    return {r[0]: {"waiting": r[1], "open": r[2]} for r in rows}


async def forget_leads(conn: AsyncConnection, lead_ids: Sequence[str]) -> list[str]:
    """Delete erased leads with their SLA clocks (their timers go with them); return the reps
    whose open lead each was, one per lead."""
    if not lead_ids:
        return []
    params = {"ids": list(lead_ids)}
    await conn.execute(
        text("DELETE FROM sla_clocks WHERE lead_id = ANY(CAST(:ids AS uuid[]))"), params
    )
    rows = await conn.execute(
        text(
            "DELETE FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
            " RETURNING rep_id, status = 'assigned' AND closed_at IS NULL"
        ),
        params,
    )
    return [r[0] for r in rows if r[1] and r[0]]
