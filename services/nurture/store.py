"""Nurture's tables and the queries on them. The only module here that speaks SQL.

Every write takes a whole batch in one statement (``unnest`` of arrays). Handlers lock
the leads of a batch first (:func:`lock_leads`), so an enrollment and a stop for the same
lead handled by two replicas at once are applied one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.nurture import followup_store
from services.nurture.sequence_timing import PlacedStep
from shared.db.columns import column_params


@dataclass(frozen=True)
class ActiveEnrollment:
    enrollment_id: str
    lead_id: str
    sequence: str
    routed_at: datetime


@dataclass(frozen=True)
class NewEnrollment:
    enrollment_id: str
    lead_id: str
    sequence: str
    contact: dict[str, Any]
    routed_at: datetime
    enrolled_at: datetime
    steps: tuple[PlacedStep, ...]
    zone: str | None = None
    zone_source: str | None = None


@dataclass(frozen=True)
class StopSignal:
    """Something that ends a lead's nurture (activity, assignment, operator) and when."""

    lead_id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class EnrollmentStop:
    enrollment_id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class DueStep:
    enrollment_id: str
    lead_id: str
    sequence: str
    contact: dict[str, Any]
    step: int
    total: int
    mode: str
    template: str | None
    due_at: datetime


_LOCK_LEADS = text(
    "SELECT pg_advisory_xact_lock(k) FROM ("
    " SELECT DISTINCT hashtextextended('nurture:' || l, 0) AS k"
    " FROM unnest(CAST(:leads AS text[])) AS l ORDER BY k) AS keys"
)
_ACTIVE = text(
    "SELECT enrollment_id, lead_id, sequence, routed_at FROM enrollments"
    " WHERE lead_id = ANY(CAST(:leads AS uuid[])) AND status = 'active' FOR UPDATE"
)
_LAST_STOPS = text("SELECT lead_id, at FROM stops WHERE lead_id = ANY(CAST(:leads AS uuid[]))")
_INSERT_ENROLLMENTS = text(
    "INSERT INTO enrollments (enrollment_id, lead_id, sequence, contact, routed_at, enrolled_at,"
    " zone, zone_source)"
    " SELECT e, l, s, CAST(c AS jsonb), r, n, z, zs FROM unnest(CAST(:ids AS uuid[]),"
    " CAST(:leads AS uuid[]), CAST(:sequences AS text[]), CAST(:contacts AS text[]),"
    " CAST(:routed AS timestamptz[]), CAST(:enrolled AS timestamptz[]), CAST(:zones AS text[]),"
    " CAST(:sources AS text[])) AS t(e, l, s, c, r, n, z, zs)"
)
_INSERT_STEPS = text(
    "INSERT INTO steps (enrollment_id, step, total, mode, template, due_at, status, skipped_by)"
    " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:steps AS int[]), CAST(:totals AS int[]),"
    " CAST(:modes AS text[]), CAST(:templates AS text[]), CAST(:due AS timestamptz[]),"
    " CAST(:statuses AS text[]), CAST(:skipped AS text[]))"
)
_SKIP_STEPS = text(
    "UPDATE steps AS s SET status = 'skipped', skipped_by = t.reason"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:modes AS text[]), CAST(:reasons AS text[]))"
    " AS t(id, mode, reason)"
    " WHERE s.enrollment_id = t.id AND s.mode = t.mode AND s.status = 'pending'"
)
# Enrollments among these with no touch left to send (the rest were skipped or sent).
_FINISHED = text(
    "SELECT e.enrollment_id FROM enrollments AS e WHERE e.enrollment_id = ANY(CAST(:ids AS uuid[]))"
    " AND e.status = 'active' AND NOT EXISTS (SELECT 1 FROM steps AS s"
    " WHERE s.enrollment_id = e.enrollment_id AND s.status = 'pending')"
)
_RECORD_STOPS = text(
    "INSERT INTO stops (lead_id, reason, at)"
    " SELECT * FROM unnest(CAST(:leads AS uuid[]), CAST(:reasons AS text[]),"
    " CAST(:ats AS timestamptz[]))"
    " ON CONFLICT (lead_id) DO UPDATE SET reason = EXCLUDED.reason, at = EXCLUDED.at"
    " WHERE stops.at < EXCLUDED.at"
)
_STOP_ENROLLMENTS = text(
    "UPDATE enrollments AS e SET status = 'stopped', reason = t.reason, stopped_at = t.at"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[]), CAST(:ats AS timestamptz[]))"
    " AS t(id, reason, at) WHERE e.enrollment_id = t.id AND e.status = 'active'"
)
_CANCEL_STEPS = text(
    "UPDATE steps SET status = 'cancelled'"
    " WHERE enrollment_id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'"
)
# Locks the steps AND their enrollments: one replica handles an enrollment's due touches at a
# time, and a consumer stopping that enrollment waits for (or skips past) the claim.
_CLAIM_DUE = text(
    "SELECT s.enrollment_id, e.lead_id, e.sequence, e.contact, s.step, s.total, s.mode,"
    " s.template, s.due_at FROM steps AS s JOIN enrollments AS e USING (enrollment_id)"
    " WHERE s.status = 'pending' AND e.status = 'active' AND s.due_at <= :now"
    " ORDER BY s.due_at, s.step LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_MARK_SENT = text(
    "UPDATE steps AS s SET status = 'sent', sent_at = :now"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:steps AS int[])) AS t(id, step)"
    " WHERE s.enrollment_id = t.id AND s.step = t.step"
)
_COMPLETE = text(
    "UPDATE enrollments SET status = 'completed', reason = :reason, stopped_at = :now"
    " WHERE enrollment_id = ANY(CAST(:ids AS uuid[])) AND status = 'active'"
)
_ENROLLMENTS_OF_LEAD = text(
    "SELECT enrollment_id, sequence, status, reason, contact, routed_at, enrolled_at, stopped_at,"
    " zone, zone_source FROM enrollments WHERE lead_id = CAST(:lead AS uuid)"
    " ORDER BY enrolled_at, enrollment_id"
)
_STEPS_OF_LEAD = text(
    "SELECT s.enrollment_id, s.step, s.total, s.mode, s.template, s.due_at, s.status, s.sent_at,"
    " s.skipped_by FROM steps AS s JOIN enrollments AS e USING (enrollment_id)"
    " WHERE e.lead_id = CAST(:lead AS uuid) ORDER BY s.enrollment_id, s.step"
)


async def lock_leads(conn: AsyncConnection, lead_ids: Sequence[str]) -> None:
    """Serialise work on these leads until the transaction ends (sorted: no deadlocks)."""
    if lead_ids:
        await conn.execute(_LOCK_LEADS, {"leads": list(lead_ids)})


async def load_active(
    conn: AsyncConnection, lead_ids: Sequence[str]
) -> dict[str, ActiveEnrollment]:
    """The active enrollment of each lead that has one, locked for this transaction."""
    if not lead_ids:
        return {}
    rows = await conn.execute(_ACTIVE, {"leads": list(lead_ids)})
    return {str(r[1]): ActiveEnrollment(str(r[0]), str(r[1]), r[2], r[3]) for r in rows.all()}


async def load_last_stops(conn: AsyncConnection, lead_ids: Sequence[str]) -> dict[str, datetime]:
    if not lead_ids:
        return {}
    rows = await conn.execute(_LAST_STOPS, {"leads": list(lead_ids)})
    return {str(r[0]): r[1] for r in rows.all()}


async def insert_enrollments(conn: AsyncConnection, enrollments: Sequence[NewEnrollment]) -> None:
    """Insert the enrollments and every planned touch of each."""
    if not enrollments:
        return
    await conn.execute(
        _INSERT_ENROLLMENTS,
        column_params(
            enrollments,
            ids="enrollment_id",
            leads="lead_id",
            sequences="sequence",
            contacts=lambda e: orjson.dumps(e.contact).decode(),
            routed="routed_at",
            enrolled="enrolled_at",
            zones="zone",
            sources="zone_source",
        ),
    )
    steps = [(e.enrollment_id, p) for e in enrollments for p in e.steps]
    await conn.execute(
        _INSERT_STEPS,
        {
            "ids": [eid for eid, _ in steps],
            "steps": [p.step.step for _, p in steps],
            "totals": [p.step.total for _, p in steps],
            "modes": [p.step.mode for _, p in steps],
            "templates": [p.step.template for _, p in steps],
            "due": [p.step.due_at for _, p in steps],
            "statuses": ["pending" if p.skipped is None else "skipped" for _, p in steps],
            "skipped": [p.skipped.reason.value if p.skipped else None for _, p in steps],
        },
    )


async def skip_steps(conn: AsyncConnection, skips: Sequence[tuple[str, str, str]]) -> None:
    """Mark the pending steps of (enrollment, mode) skipped with the suppression's reason."""
    if skips:
        await conn.execute(
            _SKIP_STEPS,
            {
                "ids": [e for e, _, _ in skips],
                "modes": [m for _, m, _ in skips],
                "reasons": [r for _, _, r in skips],
            },
        )


async def finished_enrollments(conn: AsyncConnection, enrollment_ids: Sequence[str]) -> list[str]:
    """The active enrollments among these with no pending step left (sorted)."""
    if not enrollment_ids:
        return []
    rows = await conn.execute(_FINISHED, {"ids": sorted(set(enrollment_ids))})
    return sorted(str(r[0]) for r in rows.all())


async def record_stops(conn: AsyncConnection, stops: Sequence[StopSignal]) -> None:
    """Keep the latest stop signal per lead (at most one per lead in ``stops``)."""
    if not stops:
        return
    await conn.execute(
        _RECORD_STOPS,
        column_params(stops, leads="lead_id", reasons="reason", ats="at"),
    )


async def stop_enrollments(conn: AsyncConnection, stops: Sequence[EnrollmentStop]) -> None:
    """Mark the enrollments stopped with their reasons and cancel their pending touches."""
    if not stops:
        return
    ids = [s.enrollment_id for s in stops]
    await conn.execute(
        _STOP_ENROLLMENTS,
        {"ids": ids, "reasons": [s.reason for s in stops], "ats": [s.at for s in stops]},
    )
    await conn.execute(_CANCEL_STEPS, {"ids": ids})


async def claim_due_steps(conn: AsyncConnection, now: datetime, limit: int) -> list[DueStep]:
    """Pending touches of active enrollments due by ``now``, oldest first, locked (skip taken)."""
    rows = await conn.execute(_CLAIM_DUE, {"now": now, "limit": limit})
    return [
        DueStep(str(r[0]), str(r[1]), r[2], _json(r[3]), r[4], r[5], r[6], r[7], r[8])
        for r in rows.all()
    ]


async def mark_sent(conn: AsyncConnection, steps: Sequence[DueStep], now: datetime) -> None:
    if not steps:
        return
    await conn.execute(
        _MARK_SENT,
        {"ids": [s.enrollment_id for s in steps], "steps": [s.step for s in steps], "now": now},
    )


async def complete_enrollments(
    conn: AsyncConnection, enrollment_ids: Sequence[str], reason: str, now: datetime
) -> None:
    if enrollment_ids:
        await conn.execute(_COMPLETE, {"ids": list(enrollment_ids), "reason": reason, "now": now})


async def enrollments_of_lead(conn: AsyncConnection, lead_id: str) -> list[dict[str, Any]]:
    """Every enrollment of a lead, oldest first, each with its touches."""
    enrollments = [
        {
            "enrollment_id": str(r[0]),
            "sequence": r[1],
            "status": r[2],
            "reason": r[3],
            "contact": _json(r[4]),
            "routed_at": r[5],
            "enrolled_at": r[6],
            "stopped_at": r[7],
            "zone": r[8],
            "zone_source": r[9],
            "steps": [],
        }
        for r in (await conn.execute(_ENROLLMENTS_OF_LEAD, {"lead": lead_id})).all()
    ]
    by_id = {e["enrollment_id"]: e for e in enrollments}
    for r in (await conn.execute(_STEPS_OF_LEAD, {"lead": lead_id})).all():
        enrollment = by_id.get(str(r[0]))
        if enrollment is None:  # enrolled (with its steps, in one commit) after the first read
            continue
        enrollment["steps"].append(
            {
                "step": r[1],
                "total": r[2],
                "mode": r[3],
                "template": r[4],
                "due_at": r[5],
                "status": r[6],
                "sent_at": r[7],
                "skipped_by": r[8],
            }
        )
    return enrollments


def _json(value: Any) -> dict[str, Any]:
    """asyncpg returns jsonb as text unless a codec is set; accept both."""
    if isinstance(value, str | bytes):
        loaded: dict[str, Any] = orjson.loads(value)
        return loaded
    return dict(value)


_ERASE_ENROLLMENTS = text("DELETE FROM enrollments WHERE lead_id = ANY(CAST(:ids AS uuid[]))")
_ERASE_STOPS = text("DELETE FROM stops WHERE lead_id = ANY(CAST(:ids AS uuid[]))")


async def erase(conn: AsyncConnection, lead_ids: list[str]) -> None:
    """Forget erased leads: enrollments with their pending touches (never sent), stops,
    follow-up plans, touch activities and suppressions."""
    await conn.execute(_ERASE_ENROLLMENTS, {"ids": lead_ids})
    await conn.execute(_ERASE_STOPS, {"ids": lead_ids})
    await followup_store.erase(conn, lead_ids)
