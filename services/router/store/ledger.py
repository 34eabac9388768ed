"""The fairness ledger (``rep_ledger``): entries appended in the transaction of what caused
them, read back per routing batch (what is still in force) and per rep (the ledger API)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.fairness import LedgerEntry
from shared.db.columns import column_params

MANUAL = ("override", "override_cleared")
_COLUMNS = "rep_id, at, kind, effect, multiplier_after, reason, source_id, by_actor, until"


@dataclass(frozen=True)
class Stored:
    """An entry as kept: with the lead it was about (None: none, or the lead was erased)."""

    entry: LedgerEntry
    lead_id: str | None = None
    id: int | None = None


def _entry(r: Any) -> LedgerEntry:
    return LedgerEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])


async def in_force(
    conn: AsyncConnection, since: datetime, rep_ids: Iterable[str] | None = None
) -> list[LedgerEntry]:
    """What can still move a multiplier: entries after ``since`` (now minus the policy's
    window) and each rep's latest manual entry, however old (an override may run for long).
    One statement; ``rep_ids`` None reads every rep."""
    reps = None if rep_ids is None else sorted(set(rep_ids))
    rows = await conn.execute(
        text(
            f"(SELECT {_COLUMNS}, id FROM rep_ledger WHERE at > :since"
            " AND kind NOT IN ('override', 'override_cleared')"
            " AND (CAST(:reps AS text[]) IS NULL OR rep_id = ANY(CAST(:reps AS text[]))))"
            " UNION ALL"
            f" (SELECT DISTINCT ON (rep_id) {_COLUMNS}, id FROM rep_ledger"
            " WHERE kind IN ('override', 'override_cleared')"
            " AND (CAST(:reps AS text[]) IS NULL OR rep_id = ANY(CAST(:reps AS text[])))"
            " ORDER BY rep_id, at DESC, id DESC)"
            " ORDER BY at, id"
        ),
        {"since": since, "reps": reps},
    )
    return [_entry(r) for r in rows]


async def append(conn: AsyncConnection, entries: Sequence[Stored]) -> int:
    """Append entries; one whose (rep, kind, source) is already there is skipped (a
    redelivered event). Returns how many were new."""
    if not entries:
        return 0
    rows = await conn.execute(
        text(
            "INSERT INTO rep_ledger (rep_id, at, kind, effect, multiplier_after, reason,"
            " source_id, lead_id, by_actor, until)"
            " SELECT * FROM unnest(CAST(:reps AS text[]), CAST(:ats AS timestamptz[]),"
            " CAST(:kinds AS text[]), CAST(:effects AS float8[]), CAST(:afters AS float8[]),"
            " CAST(:reasons AS text[]), CAST(:sources AS text[]), CAST(:leads AS uuid[]),"
            " CAST(:bys AS text[]), CAST(:untils AS timestamptz[]))"
            " ON CONFLICT (rep_id, kind, source_id) WHERE source_id IS NOT NULL DO NOTHING"
            " RETURNING id"
        ),
        column_params(
            entries,
            reps=lambda s: s.entry.rep_id,
            ats=lambda s: s.entry.at,
            kinds=lambda s: s.entry.kind,
            effects=lambda s: s.entry.effect,
            afters=lambda s: s.entry.multiplier_after,
            reasons=lambda s: s.entry.reason,
            sources=lambda s: s.entry.source_event_id,
            leads="lead_id",
            bys=lambda s: s.entry.by,
            untils=lambda s: s.entry.until,
        ),
    )
    return len(rows.all())


async def of_rep(
    conn: AsyncConnection, rep_id: str, since: datetime | None, limit: int
) -> list[Stored]:
    """One rep's entries that happened from ``since`` on (all when None), last recorded
    first (the order their ``multiplier_after`` follows), at most ``limit``."""
    rows = await conn.execute(
        text(
            f"SELECT {_COLUMNS}, lead_id, id FROM rep_ledger WHERE rep_id = :rep"
            " AND (CAST(:since AS timestamptz) IS NULL OR at >= CAST(:since AS timestamptz))"
            " ORDER BY id DESC LIMIT :limit"
        ),
        {"rep": rep_id, "since": since, "limit": limit},
    )
    return [Stored(_entry(r), str(r[9]) if r[9] else None, r[10]) for r in rows]


async def forget_leads(conn: AsyncConnection, lead_ids: Sequence[str]) -> None:
    """An erased lead leaves no link in the ledger; the rep's entries (no personal data in
    their reasons) stay, or their multipliers would change."""
    if lead_ids:
        await conn.execute(
            text("UPDATE rep_ledger SET lead_id = NULL WHERE lead_id = ANY(CAST(:ids AS uuid[]))"),
            {"ids": list(lead_ids)},
        )
