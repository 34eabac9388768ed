"""Per-rep counters by UTC day, bumped in the same transactions as the events they count."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

COUNTERS = (
    "assigned",
    "contacted",
    "contacted_within_sla",
    "breached",
    "reassigned_away",
    "won",
    "responses",
    "response_seconds",
)


class RepTally:
    """Counter increments gathered during one transaction, saved with one statement."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, date], dict[str, float]] = defaultdict(
            lambda: dict.fromkeys(COUNTERS, 0.0)
        )

    def add(self, rep_id: str, at: datetime, counter: str, amount: float = 1) -> None:
        """Count ``amount`` for the rep on the UTC day of ``at``."""
        if counter not in COUNTERS:
            raise ValueError(f"unknown counter {counter!r}")
        self.rows[(rep_id, at.astimezone(UTC).date())][counter] += amount

    def __bool__(self) -> bool:
        return bool(self.rows)


async def save_tally(conn: AsyncConnection, tally: RepTally) -> None:
    if not tally:
        return
    keys = sorted(tally.rows)  # a fixed order: concurrent upserts never deadlock
    params: dict[str, list[object]] = {
        "reps": [k[0] for k in keys],
        "days": [k[1] for k in keys],
    }
    for counter in COUNTERS:
        kind = float if counter == "response_seconds" else int
        params[counter] = [kind(tally.rows[k][counter]) for k in keys]
    casts = ", ".join(
        f"CAST(:{c} AS {'float8' if c == 'response_seconds' else 'int'}[])" for c in COUNTERS
    )
    updates = ", ".join(f"{c} = rep_stats.{c} + excluded.{c}" for c in COUNTERS)
    await conn.execute(
        text(
            f"INSERT INTO rep_stats (rep_id, day, {', '.join(COUNTERS)})"
            f" SELECT * FROM unnest(CAST(:reps AS text[]), CAST(:days AS date[]), {casts})"
            f" ON CONFLICT (rep_id, day) DO UPDATE SET {updates}"
        ),
        params,
    )


async def rep_totals(
    conn: AsyncConnection, since: date | None = None, rep_id: str | None = None
) -> dict[str, dict[str, float]]:
    """Each rep's counters summed over the days from ``since`` (all days when None)."""
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    rows = await conn.execute(
        text(
            f"SELECT rep_id, {sums} FROM rep_stats"
            " WHERE (CAST(:since AS date) IS NULL OR day >= CAST(:since AS date))"
            " AND (CAST(:rep AS text) IS NULL OR rep_id = CAST(:rep AS text))"
            " GROUP BY rep_id ORDER BY rep_id"
        ),
        {"since": since, "rep": rep_id},
    )
    return {r[0]: {c: float(v or 0) for c, v in zip(COUNTERS, r[1:], strict=True)} for r in rows}
