"""Follow-up tables and the queries on them (plans, touches, touch activities, suppressions).

Writes take a whole batch in one statement (``unnest`` of arrays), like :mod:`store`. A plan's
touches are rewritten together (upsert by plan and step): a replan may move any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.nurture.followup_replan import TouchRow
from services.nurture.sequence_timing import StepContact
from services.nurture.suppression import Suppression, SuppressionReason
from services.nurture.touch_modes import TouchMode
from services.nurture.touch_status import ReportedActivity
from shared.db.columns import column_params


@dataclass
class PlanRow:
    """A lead's follow-up plan as stored (``rep_*`` is the current owner)."""

    plan_id: str
    lead_id: str
    bucket: str
    rep_id: str
    rep_name: str
    contact: dict[str, Any]
    zone: str
    zone_source: str
    assigned_at: datetime
    status: str = "active"
    reason: str | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class StoredActivity:
    lead_id: str
    activity_id: str
    activity: ReportedActivity


_PLAN_COLUMNS = (
    "plan_id, lead_id, bucket, rep_id, rep_name, contact, zone, zone_source, assigned_at,"
    " status, reason, ended_at"
)
_TOUCH_COLUMNS = (
    "step, total, mode, rep_id, rep_name, due_at, closes_at, status, skipped_by, done_at,"
    " announced_at"
)
_ACTIVE_PLANS = text(
    f"SELECT {_PLAN_COLUMNS} FROM followup_plans"
    " WHERE lead_id = ANY(CAST(:leads AS uuid[])) AND status = 'active'"
)
_TOUCHES = text(
    f"SELECT plan_id, {_TOUCH_COLUMNS} FROM followup_touches"
    " WHERE plan_id = ANY(CAST(:plans AS uuid[])) ORDER BY plan_id, step"
)
# Everything the contact rules need about a batch's leads, in one statement (a batch used to
# read activities and suppressions apart, and the sequence steps would have been a third
# round trip for every batch): tagged rows, a = a rep's touch (kind, channel, at), s = a
# suppression (mode, reason, since), q = a sequence step sent or pending (enrollment,
# 'pending'/'sent', due), steps only from :since on (older ones cannot share a day or week
# with a touch placed now).
_CONTACTS = text(
    "SELECT 'a', lead_id, kind, channel, at FROM touch_activities"
    " WHERE lead_id = ANY(CAST(:leads AS uuid[]))"
    " UNION ALL SELECT 's', lead_id, mode, reason, at FROM suppressions"
    " WHERE lead_id = ANY(CAST(:leads AS uuid[]))"
    " UNION ALL SELECT 'q', e.lead_id, CAST(s.enrollment_id AS text), s.status, s.due_at"
    " FROM steps AS s JOIN enrollments AS e USING (enrollment_id)"
    " WHERE e.lead_id = ANY(CAST(:leads AS uuid[])) AND s.status IN ('pending', 'sent')"
    " AND s.due_at >= :since ORDER BY 5"
)
_UPSERT_PLANS = text(
    "INSERT INTO followup_plans (plan_id, lead_id, bucket, rep_id, rep_name, contact, zone,"
    " zone_source, assigned_at, status, reason, ended_at)"
    " SELECT p, l, b, r, n, CAST(c AS jsonb), z, zs, a, s, why, e FROM unnest("
    "CAST(:ids AS uuid[]), CAST(:leads AS uuid[]), CAST(:buckets AS text[]),"
    " CAST(:reps AS text[]), CAST(:names AS text[]), CAST(:contacts AS text[]),"
    " CAST(:zones AS text[]), CAST(:sources AS text[]), CAST(:assigned AS timestamptz[]),"
    " CAST(:statuses AS text[]), CAST(:reasons AS text[]), CAST(:ended AS timestamptz[]))"
    " AS t(p, l, b, r, n, c, z, zs, a, s, why, e)"
    " ON CONFLICT (plan_id) DO UPDATE SET rep_id = EXCLUDED.rep_id, rep_name = EXCLUDED.rep_name,"
    " status = EXCLUDED.status, reason = EXCLUDED.reason, ended_at = EXCLUDED.ended_at"
)
_UPSERT_TOUCHES = text(
    f"INSERT INTO followup_touches (plan_id, {_TOUCH_COLUMNS})"
    " SELECT * FROM unnest(CAST(:plans AS uuid[]), CAST(:steps AS int[]),"
    " CAST(:totals AS int[]), CAST(:modes AS text[]), CAST(:reps AS text[]),"
    " CAST(:names AS text[]), CAST(:due AS timestamptz[]), CAST(:closes AS timestamptz[]),"
    " CAST(:statuses AS text[]), CAST(:skipped AS text[]), CAST(:done AS timestamptz[]),"
    " CAST(:announced AS timestamptz[]))"
    " ON CONFLICT (plan_id, step) DO UPDATE SET rep_id = EXCLUDED.rep_id,"
    " rep_name = EXCLUDED.rep_name, closes_at = EXCLUDED.closes_at,"
    # An announced touch keeps the due time it was announced with (the timer job may have
    # claimed it after this batch read it).
    " due_at = CASE WHEN followup_touches.announced_at IS NULL THEN EXCLUDED.due_at"
    " ELSE followup_touches.due_at END,"
    " status = CASE WHEN followup_touches.announced_at IS NOT NULL"
    " AND EXCLUDED.status = 'pending' THEN 'due' ELSE EXCLUDED.status END,"
    " skipped_by = EXCLUDED.skipped_by, done_at = EXCLUDED.done_at"
)
_INSERT_ACTIVITIES = text(
    "INSERT INTO touch_activities (activity_id, lead_id, kind, channel, at)"
    " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:leads AS uuid[]),"
    " CAST(:kinds AS text[]), CAST(:channels AS text[]), CAST(:ats AS timestamptz[]))"
    " ON CONFLICT (activity_id) DO NOTHING"
)
_INSERT_SUPPRESSIONS = text(
    "INSERT INTO suppressions (lead_id, mode, reason, at)"
    " SELECT * FROM unnest(CAST(:leads AS uuid[]), CAST(:modes AS text[]),"
    " CAST(:reasons AS text[]), CAST(:ats AS timestamptz[]))"
    " ON CONFLICT (lead_id, mode) DO UPDATE SET reason = EXCLUDED.reason, at = EXCLUDED.at"
    " WHERE suppressions.at > EXCLUDED.at"
)


def _plan(r: Any) -> PlanRow:
    contact = orjson.loads(r[5]) if isinstance(r[5], str | bytes) else dict(r[5])
    return PlanRow(str(r[0]), str(r[1]), r[2], r[3], r[4], contact, *r[6:12])


def _touch(r: Any) -> TouchRow:
    return TouchRow(*r)


async def load_active_plans(conn: AsyncConnection, leads: Sequence[str]) -> dict[str, PlanRow]:
    """The active plan of each lead that has one (the caller holds the leads' lock)."""
    if not leads:
        return {}
    rows = await conn.execute(_ACTIVE_PLANS, {"leads": list(leads)})
    return {str(r[1]): _plan(r) for r in rows.all()}


async def load_touches(
    conn: AsyncConnection, plan_ids: Sequence[str]
) -> dict[str, tuple[TouchRow, ...]]:
    out: dict[str, list[TouchRow]] = {p: [] for p in plan_ids}
    if plan_ids:
        for r in (await conn.execute(_TOUCHES, {"plans": list(plan_ids)})).all():
            out[str(r[0])].append(_touch(r[1:]))
    return {p: tuple(rows) for p, rows in out.items()}


@dataclass
class LeadContacts:
    """A batch's leads' reported rep touches, suppressions and sequence steps, by lead."""

    activities: dict[str, list[ReportedActivity]] = field(default_factory=dict)
    suppressions: dict[str, list[Suppression]] = field(default_factory=dict)
    steps: dict[str, list[StepContact]] = field(default_factory=dict)


async def load_contacts(
    conn: AsyncConnection, leads: Sequence[str], since: datetime
) -> LeadContacts:
    """The leads' touches, suppressions and sequence steps due from ``since``, oldest first."""
    out = LeadContacts()
    if not leads:
        return out
    for tag, lead, a, b, at in (
        await conn.execute(_CONTACTS, {"leads": list(leads), "since": since})
    ).all():
        key = str(lead)
        if tag == "a":
            out.activities.setdefault(key, []).append(ReportedActivity(a, at, b))
        elif tag == "s":
            suppression = Suppression(TouchMode(a), SuppressionReason(b), at)
            out.suppressions.setdefault(key, []).append(suppression)
        else:
            out.steps.setdefault(key, []).append(StepContact(a, at, pending=b == "pending"))
    return out


async def save_plans(conn: AsyncConnection, plans: Sequence[PlanRow]) -> None:
    if not plans:
        return
    await conn.execute(
        _UPSERT_PLANS,
        column_params(
            plans,
            ids="plan_id",
            leads="lead_id",
            buckets="bucket",
            reps="rep_id",
            names="rep_name",
            contacts=lambda p: orjson.dumps(p.contact).decode(),
            zones="zone",
            sources="zone_source",
            assigned="assigned_at",
            statuses="status",
            reasons="reason",
            ended="ended_at",
        ),
    )


async def save_touches(conn: AsyncConnection, touches: dict[str, tuple[TouchRow, ...]]) -> None:
    """Insert or rewrite every touch of these plans (announced_at is the job's to set)."""
    rows = [(plan_id, t) for plan_id, ts in touches.items() for t in ts]
    if not rows:
        return
    await conn.execute(
        _UPSERT_TOUCHES,
        {
            "plans": [p for p, _ in rows],
            **column_params(
                [t for _, t in rows],
                steps="step",
                totals="total",
                modes="mode",
                reps="rep_id",
                names="rep_name",
                due="due_at",
                closes="closes_at",
                statuses="status",
                skipped="skipped_by",
                done="done_at",
                announced="announced_at",
            ),
        },
    )


async def insert_activities(conn: AsyncConnection, activities: Sequence[StoredActivity]) -> None:
    if not activities:
        return
    await conn.execute(
        _INSERT_ACTIVITIES,
        column_params(
            activities,
            ids="activity_id",
            leads="lead_id",
            kinds=lambda a: a.activity.kind,
            channels=lambda a: a.activity.channel,
            ats=lambda a: a.activity.at,
        ),
    )


async def insert_suppressions(
    conn: AsyncConnection, suppressions: Sequence[tuple[str, Suppression]]
) -> None:
    if not suppressions:
        return
    await conn.execute(
        _INSERT_SUPPRESSIONS,
        {
            "leads": [lead for lead, _ in suppressions],
            "modes": [s.mode.value for _, s in suppressions],
            "reasons": [s.reason.value for _, s in suppressions],
            "ats": [s.at for _, s in suppressions],
        },
    )


@dataclass(frozen=True)
class DueTouch:
    """A touch to announce, with what its LeadFollowupDue says."""

    plan_id: str
    lead_id: str
    bucket: str
    contact: dict[str, Any]
    touch: TouchRow


# Locks the touches (SKIP LOCKED: replicas share the work); a consumer rewriting the same plan
# waits for the claim to commit, then sees announced_at set.
_CLAIM_DUE = text(
    "SELECT p.plan_id, p.lead_id, p.bucket, p.contact, "
    + ", ".join(f"t.{c.strip()}" for c in _TOUCH_COLUMNS.split(","))
    + " FROM followup_touches AS t JOIN followup_plans AS p USING (plan_id)"
    " WHERE t.announced_at IS NULL AND t.status IN ('pending', 'due') AND t.due_at <= :now"
    " AND p.status = 'active' ORDER BY t.due_at, t.step LIMIT :limit FOR UPDATE OF t SKIP LOCKED"
)
_MARK_ANNOUNCED = text(
    "UPDATE followup_touches AS t SET announced_at = :now, status = 'due'"
    " FROM unnest(CAST(:plans AS uuid[]), CAST(:steps AS int[])) AS d(plan_id, step)"
    " WHERE t.plan_id = d.plan_id AND t.step = d.step"
)
_CLOSING = text(
    "SELECT DISTINCT p.lead_id FROM followup_touches AS t JOIN followup_plans AS p"
    " USING (plan_id) WHERE t.status IN ('pending', 'due') AND t.closes_at <= :now"
    " AND p.status = 'active' LIMIT :limit"
)


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[DueTouch]:
    """Touches of active plans due by ``now`` and not announced yet, oldest first, locked."""
    rows = await conn.execute(_CLAIM_DUE, {"now": now, "limit": limit})
    out = []
    for r in rows.all():
        contact = orjson.loads(r[3]) if isinstance(r[3], str | bytes) else dict(r[3])
        out.append(DueTouch(str(r[0]), str(r[1]), r[2], contact, _touch(r[4:])))
    return out


async def mark_announced(conn: AsyncConnection, due: Sequence[DueTouch], now: datetime) -> None:
    if due:
        await conn.execute(
            _MARK_ANNOUNCED,
            {"plans": [d.plan_id for d in due], "steps": [d.touch.step for d in due], "now": now},
        )


async def leads_closing(conn: AsyncConnection, now: datetime, limit: int) -> list[str]:
    """Leads with an open touch past its close: the job replans them (missed touches)."""
    rows = await conn.execute(_CLOSING, {"now": now, "limit": limit})
    return sorted(str(r[0]) for r in rows.all())


_PLANS_OF_LEAD = text(
    f"SELECT {_PLAN_COLUMNS} FROM followup_plans WHERE lead_id = CAST(:lead AS uuid)"
    " ORDER BY assigned_at, plan_id"
)


async def plans_of_lead(
    conn: AsyncConnection, lead_id: str
) -> list[tuple[PlanRow, tuple[TouchRow, ...]]]:
    """Every follow-up plan of a lead, oldest first, with its touches."""
    plans = [_plan(r) for r in (await conn.execute(_PLANS_OF_LEAD, {"lead": lead_id})).all()]
    touches = await load_touches(conn, [p.plan_id for p in plans])
    return [(p, touches[p.plan_id]) for p in plans]


_ERASE = (
    text("DELETE FROM followup_plans WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
    text("DELETE FROM touch_activities WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
    text("DELETE FROM suppressions WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
)


async def erase(conn: AsyncConnection, lead_ids: list[str]) -> None:
    """Forget erased leads' plans (with their touches), touch activities and suppressions."""
    for statement in _ERASE:
        await conn.execute(statement, {"ids": lead_ids})
