"""Warmth of assigned leads (touches, replies, cold or not), the recycle timers and snoozes.

Lock order as everywhere in the router: the routing advisory lock, then timer rows, then
lead rows. The gone-cold scan and the recycle job take the routing lock first (a move
changes loads); the scan claims its rows ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.cold import ColdPolicy, Contacts, Warmth
from shared.db.columns import column_params

GONE_COLD, LOST, DISQUALIFIED = "gone_cold", "lost", "disqualified"
SNOOZE_ENDED = "snooze_ended"


async def note_contacts(conn: AsyncConnection, contacts: Sequence[Contacts]) -> list[str]:
    """Warm up open assignments: a touch or reply moves ``warm_at`` on and clears
    ``cold_since``; a reply starts the touch count again. Return the leads that were cold."""
    if not contacts:
        return []
    rows = await conn.execute(
        text(
            "UPDATE leads SET warm_at = greatest(coalesce(warm_at, assigned_at), c.latest),"
            " replied_at = CASE WHEN c.replied IS NULL THEN replied_at"
            "   ELSE greatest(coalesce(replied_at, c.replied), c.replied) END,"
            " touches = CASE WHEN c.replied IS NULL THEN touches + c.n ELSE c.n END,"
            " cold_since = NULL"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:latest AS timestamptz[]),"
            " CAST(:replied AS timestamptz[]), CAST(:n AS int[])) AS c(id, latest, replied, n)"
            " WHERE leads.lead_id = c.id AND leads.status = 'assigned'"
            " AND leads.closed_at IS NULL"
            " RETURNING leads.lead_id"
        ),
        column_params(contacts, ids="lead_id", latest="latest", replied="replied_at", n="touches"),
    )
    return [str(r[0]) for r in rows]


@dataclass(frozen=True)
class Quiet:
    """An open assignment that may be cold, with what its event needs."""

    warmth: Warmth
    queue: str | None
    assignment_id: str


async def any_going_cold(conn: AsyncConnection, policy: ColdPolicy, now: datetime) -> bool:
    """Cheap look (no locks) before taking the routing lock."""
    row = await conn.execute(text(f"SELECT EXISTS (SELECT 1 {_DUE})"), _due_params(policy, now))
    return bool(row.scalar())


async def claim_going_cold(
    conn: AsyncConnection, policy: ColdPolicy, now: datetime, limit: int
) -> list[Quiet]:
    """Open, warm assignments due by ``policy`` at ``now`` (their bucket's quiet time passed,
    or K touches without a reply), locked, skipping rows another replica holds."""
    rows = await conn.execute(
        text(
            "SELECT lead_id, rep_id, bucket, assigned_at, coalesce(warm_at, assigned_at),"
            f" replied_at, touches, cold_since, queue, assignment_id {_DUE}"
            " ORDER BY coalesce(warm_at, assigned_at) LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {**_due_params(policy, now), "limit": limit},
    )
    return [
        Quiet(Warmth(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7]), r[8], str(r[9]))
        for r in rows
    ]


# Due: quiet longer than the bucket's time (``default`` for unlisted buckets, none: never),
# or at least K touches since the last reply. The first bound lets the index skip every
# lead quiet for less than the shortest time of any bucket.
_DUE = (
    "FROM leads WHERE status = 'assigned' AND closed_at IS NULL AND cold_since IS NULL"
    " AND ((coalesce(warm_at, assigned_at) <= CAST(:bound AS timestamptz)"
    "   AND coalesce(warm_at, assigned_at) <= CAST(:now AS timestamptz)"
    " - make_interval(secs => coalesce("
    "     (SELECT t.s FROM unnest(CAST(:buckets AS text[]), CAST(:secs AS float8[]))"
    "      AS t(b, s) WHERE t.b = lower(leads.bucket)), CAST(:default_s AS float8))))"
    "  OR touches >= CAST(:k AS int))"
)


def _due_params(policy: ColdPolicy, now: datetime) -> dict[str, object]:
    shortest = policy.shortest
    never = datetime.min.replace(tzinfo=now.tzinfo)  # no quiet time: silence never makes it due
    return {
        "now": now,
        "bound": now - shortest if shortest is not None else never,
        "buckets": [b.casefold() for b, _ in policy.no_touch],
        "secs": [t.total_seconds() for _, t in policy.no_touch],
        "default_s": policy.default.total_seconds() if policy.default is not None else None,
        "k": policy.no_reply_after if policy.no_reply_after is not None else 2**31 - 1,
    }


async def mark_cold(conn: AsyncConnection, lead_ids: Sequence[str], now: datetime) -> None:
    if lead_ids:
        await conn.execute(
            text("UPDATE leads SET cold_since = :now WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": list(lead_ids), "now": now},
        )


async def note_lost_reasons(conn: AsyncConnection, reasons: dict[str, str | None]) -> None:
    if reasons:
        await conn.execute(
            text(
                "UPDATE leads SET lost_reason = r.reason FROM unnest(CAST(:ids AS uuid[]),"
                " CAST(:reasons AS text[])) AS r(id, reason) WHERE leads.lead_id = r.id"
            ),
            {"ids": list(reasons), "reasons": list(reasons.values())},
        )


@dataclass(frozen=True)
class RecycleTimer:
    """A move to come: ``cause`` gone_cold or lost (for ``assignment_id``) after the
    cool-off, or snooze_ended."""

    lead_id: str
    cause: str
    assignment_id: str | None
    due_at: datetime
    reason: str | None
    set_at: datetime


async def arm(conn: AsyncConnection, timers: Sequence[RecycleTimer]) -> None:
    """Set each timer; a lead has at most one (a later one replaces it)."""
    if not timers:
        return
    await conn.execute(
        text(
            "INSERT INTO recycle_timers (lead_id, cause, assignment_id, due_at, reason, set_at)"
            " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:causes AS text[]),"
            " CAST(:assignments AS uuid[]), CAST(:dues AS timestamptz[]),"
            " CAST(:reasons AS text[]), CAST(:sets AS timestamptz[]))"
            " ON CONFLICT (lead_id) DO UPDATE SET cause = excluded.cause,"
            " assignment_id = excluded.assignment_id, due_at = excluded.due_at,"
            " reason = excluded.reason, set_at = excluded.set_at"
        ),
        column_params(
            timers,
            ids="lead_id",
            causes="cause",
            assignments="assignment_id",
            dues="due_at",
            reasons="reason",
            sets="set_at",
        ),  # fmt: skip
    )


async def drop(conn: AsyncConnection, lead_ids: Iterable[str], cause: str) -> None:
    ids = sorted(set(lead_ids))
    if ids:
        await conn.execute(
            text(
                "DELETE FROM recycle_timers WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
                " AND cause = :cause"
            ),
            {"ids": ids, "cause": cause},
        )


async def any_due(conn: AsyncConnection, now: datetime) -> bool:
    row = await conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM recycle_timers WHERE due_at <= :now)"), {"now": now}
    )
    return bool(row.scalar())


async def claim_due(conn: AsyncConnection, now: datetime, limit: int) -> list[RecycleTimer]:
    """Take up to ``limit`` due timers, oldest first; deleted in this transaction, so each
    fires once (rolled back: due again)."""
    rows = await conn.execute(
        text(
            "DELETE FROM recycle_timers WHERE lead_id IN (SELECT lead_id FROM recycle_timers"
            " WHERE due_at <= :now ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
            " RETURNING lead_id, cause, assignment_id, due_at, reason, set_at"
        ),
        {"now": now, "limit": limit},
    )
    timers = [
        RecycleTimer(str(r[0]), r[1], str(r[2]) if r[2] else None, r[3], r[4], r[5]) for r in rows
    ]
    return sorted(timers, key=lambda t: (t.due_at, t.lead_id))


async def cold_leads(conn: AsyncConnection, lead_ids: Sequence[str]) -> set[str]:
    """Which of ``lead_ids`` are announced cold now."""
    if not lead_ids:
        return set()
    rows = await conn.execute(
        text(
            "SELECT lead_id FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
            " AND cold_since IS NOT NULL"
        ),
        {"ids": list(lead_ids)},
    )
    return {str(r[0]) for r in rows}


async def park(conn: AsyncConnection, lead_id: str, until: datetime, now: datetime) -> None:
    """The lead sleeps until ``until`` (its SLA clock and timers go)."""
    await conn.execute(text("DELETE FROM sla_clocks WHERE lead_id = :id"), {"id": lead_id})
    await conn.execute(
        text(
            "UPDATE leads SET status = 'snoozed', snoozed_until = :until, decided_at = :now,"
            " cold_since = NULL WHERE lead_id = :id"
        ),
        {"id": lead_id, "until": until, "now": now},
    )


async def forget_clocks(conn: AsyncConnection, lead_ids: Sequence[str]) -> None:
    """A recycled lead's SLA clock and timers go (a new assignment starts a new one)."""
    if lead_ids:
        await conn.execute(
            text("DELETE FROM sla_clocks WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": list(lead_ids)},
        )
