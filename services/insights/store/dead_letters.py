"""SQL of the dead-letter counts: a group's letters as last read, replaced whole. SQL only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# (letter id, dead at, event type, lead id, original topic)
LetterRow = tuple[str, datetime, str | None, str | None, str]


async def replace_group(conn: AsyncConnection, group: str, rows: Sequence[LetterRow]) -> None:
    """The group's letters become ``rows`` (the topic is the record: a letter gone from it
    by retention goes from here too)."""
    await conn.execute(text("DELETE FROM dead_letters WHERE grp = :g"), {"g": group})
    if not rows:
        return
    await conn.execute(
        text(
            "INSERT INTO dead_letters (grp, letter_id, dead_at, event_type, lead_id,"
            " original_topic) SELECT :g, * FROM unnest(CAST(:ids AS text[]),"
            " CAST(:ats AS timestamptz[]), CAST(:types AS text[]), CAST(:leads AS text[]),"
            " CAST(:topics AS text[])) ON CONFLICT DO NOTHING"
        ),
        {
            "g": group,
            "ids": [r[0] for r in rows],
            "ats": [r[1] for r in rows],
            "types": [r[2] for r in rows],
            "leads": [r[3] for r in rows],
            "topics": [r[4] for r in rows],
        },
    )


async def count_by_group(conn: AsyncConnection) -> dict[str, int]:
    result = await conn.execute(text("SELECT grp, count(*) FROM dead_letters GROUP BY grp"))
    return {group: int(n) for group, n in result}


async def leads_with_letters(conn: AsyncConnection) -> set[str]:
    result = await conn.execute(
        text("SELECT DISTINCT lead_id FROM dead_letters WHERE lead_id IS NOT NULL")
    )
    return {lead for (lead,) in result}
