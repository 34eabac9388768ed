"""SLA clocks and their durable timers.

Lock order, everywhere: the routing advisory lock (when taken), then timer rows, then clock
rows. The consumer and the breach job take the routing lock first; the warning job takes no
routing lock and only timer rows (``SKIP LOCKED``), so no two transactions wait on each other
in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.sla import SlaClock
from shared.db.columns import column_params

WARNING, BREACH, HANDOVER = "warning", "breach", "handover"


@dataclass(frozen=True)
class Timer:
    """A pending warning, breach or handover retry of one attempt of a lead's clock."""

    lead_id: str
    kind: str
    attempt: int
    due_at: datetime


def timers_for(clock: SlaClock) -> list[Timer]:
    """A running clock needs its breach timer, and its warning timer when it has one."""
    timers = [Timer(clock.lead_id, BREACH, clock.attempt, clock.due_at)]
    if clock.warn_at is not None:
        timers.append(Timer(clock.lead_id, WARNING, clock.attempt, clock.warn_at))
    return timers


_CLOCK_COLUMNS = (
    "lead_id, queue, bucket, rep_id, assignment_id, attempt, owners, escalated, started_at,"
    " due_at, warn_at, status, contacted_at"
)


def _clock(r: Any) -> SlaClock:
    owners = r[6] if isinstance(r[6], list) else orjson.loads(r[6])
    return SlaClock(
        str(r[0]), r[1], r[2], r[3], str(r[4]), r[5], tuple(owners), r[7], r[8], r[9], r[10],
        r[11], r[12],
    )  # fmt: skip


async def save_clocks(conn: AsyncConnection, clocks: Sequence[SlaClock]) -> None:
    """Insert new clocks, or replace a lead's clock (a reassignment, a contact, a breach)."""
    if not clocks:
        return
    await conn.execute(
        text(
            f"INSERT INTO sla_clocks ({_CLOCK_COLUMNS})"
            " SELECT * FROM unnest(CAST(:lead_id AS uuid[]), CAST(:queue AS text[]),"
            " CAST(:bucket AS text[]), CAST(:rep_id AS text[]), CAST(:assignment_id AS uuid[]),"
            " CAST(:attempt AS int[]), CAST(:owners AS jsonb[]), CAST(:escalated AS bool[]),"
            " CAST(:started_at AS timestamptz[]), CAST(:due_at AS timestamptz[]),"
            " CAST(:warn_at AS timestamptz[]), CAST(:status AS text[]),"
            " CAST(:contacted_at AS timestamptz[]))"
            " ON CONFLICT (lead_id) DO UPDATE SET queue = excluded.queue,"
            " bucket = excluded.bucket, rep_id = excluded.rep_id,"
            " assignment_id = excluded.assignment_id, attempt = excluded.attempt,"
            " owners = excluded.owners, escalated = excluded.escalated,"
            " started_at = excluded.started_at, due_at = excluded.due_at,"
            " warn_at = excluded.warn_at, status = excluded.status,"
            " contacted_at = excluded.contacted_at"
        ),
        column_params(
            clocks,
            lead_id="lead_id",
            queue="queue",
            bucket="bucket",
            rep_id="rep_id",
            assignment_id="assignment_id",
            attempt="attempt",
            owners=lambda c: orjson.dumps(list(c.owners)).decode(),
            escalated="escalated",
            started_at="started_at",
            due_at="due_at",
            warn_at="warn_at",
            status="status",
            contacted_at="contacted_at",
        ),
    )


async def load_clocks(
    conn: AsyncConnection, lead_ids: Iterable[str], *, lock: bool = False
) -> dict[str, SlaClock]:
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        text(
            f"SELECT {_CLOCK_COLUMNS} FROM sla_clocks WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
            + (" ORDER BY lead_id FOR UPDATE" if lock else "")
        ),
        {"ids": ids},
    )
    return {str(r[0]): _clock(r) for r in rows}


async def arm_timers(conn: AsyncConnection, timers: Sequence[Timer]) -> None:
    """Set each timer; a lead has at most one pending timer of each kind."""
    if not timers:
        return
    await conn.execute(
        text(
            "INSERT INTO sla_timers (lead_id, kind, attempt, due_at)"
            " SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS text[]),"
            " CAST(:attempts AS int[]), CAST(:dues AS timestamptz[]))"
            " ON CONFLICT (lead_id, kind) DO UPDATE SET attempt = excluded.attempt,"
            " due_at = excluded.due_at"
        ),
        column_params(timers, ids="lead_id", kinds="kind", attempts="attempt", dues="due_at"),
    )


async def drop_timers(conn: AsyncConnection, lead_ids: Iterable[str]) -> None:
    """The clock stopped (contact) or restarts (reassignment): its pending timers go."""
    ids = sorted(set(lead_ids))
    if ids:
        await conn.execute(
            text("DELETE FROM sla_timers WHERE lead_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
        )


async def has_due_timers(conn: AsyncConnection, kinds: Sequence[str], now: datetime) -> bool:
    """Cheap look (no locks) before taking the routing lock for breaches."""
    row = await conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM sla_timers"
            " WHERE kind = ANY(CAST(:kinds AS text[])) AND due_at <= :now)"
        ),
        {"kinds": list(kinds), "now": now},
    )
    return bool(row.scalar())


async def claim_due_timers(
    conn: AsyncConnection, kinds: Sequence[str], now: datetime, limit: int
) -> list[Timer]:
    """Take up to ``limit`` due timers, oldest first, skipping rows another replica holds.

    The rows are deleted in this transaction: committed, each timer has fired exactly once;
    rolled back (crash, error), they are due again for whoever looks next.
    """
    rows = await conn.execute(
        text(
            "DELETE FROM sla_timers WHERE (lead_id, kind) IN ("
            " SELECT lead_id, kind FROM sla_timers"
            " WHERE kind = ANY(CAST(:kinds AS text[])) AND due_at <= :now"
            " ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
            " RETURNING lead_id, kind, attempt, due_at"
        ),
        {"kinds": list(kinds), "now": now, "limit": limit},
    )
    timers = [Timer(str(r[0]), r[1], r[2], r[3]) for r in rows]
    return sorted(timers, key=lambda t: (t.due_at, t.lead_id, t.kind))


async def clock_view(conn: AsyncConnection, lead_id: str) -> dict[str, Any] | None:
    """A lead's SLA clock and pending timers, for the assignment endpoint."""
    clock = (await load_clocks(conn, [lead_id])).get(lead_id)
    if clock is None:
        return None
    rows = await conn.execute(
        text(
            "SELECT kind, due_at FROM sla_timers WHERE lead_id = CAST(:id AS uuid) ORDER BY due_at"
        ),
        {"id": lead_id},
    )
    return {
        "queue": clock.queue,
        "status": clock.status,
        "attempt": clock.attempt,
        "owners": list(clock.owners),
        "escalated": clock.escalated,
        "started_at": clock.started_at,
        "warn_at": clock.warn_at,
        "due_at": clock.due_at,
        "contacted_at": clock.contacted_at,
        "pending": [{"kind": r[0], "due_at": r[1]} for r in rows],
    }
