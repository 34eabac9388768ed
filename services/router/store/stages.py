"""Lifecycle stages: the stage of each lead (``leads.stage``) and every move
(``lead_stage_changes``, deleted with the lead on erasure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.router.domain.lifecycle import Stage, StageChange
from shared.db.columns import column_params


@dataclass(frozen=True)
class StageRow:
    """A lead's stage (None: none known, e.g. closed before stages were kept), and its owner
    and queue now (the owner only while the lead is assigned)."""

    lead_id: str
    stage: Stage | None
    rep_id: str | None
    queue: str | None


async def load_stages(conn: AsyncConnection, lead_ids: Iterable[str]) -> dict[str, StageRow]:
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        text(
            "SELECT lead_id, stage, CASE WHEN status = 'assigned' THEN rep_id END, queue"
            " FROM leads WHERE lead_id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"ids": ids},
    )
    return {str(r[0]): StageRow(str(r[0]), cast(Stage | None, r[1]), r[2], r[3]) for r in rows}


@dataclass(frozen=True)
class StoredChange:
    change: StageChange
    rep_id: str | None
    queue: str | None


async def save_changes(
    conn: AsyncConnection, stages: Mapping[str, Stage], changes: Sequence[StoredChange]
) -> None:
    """Each lead's stage now, and its moves (in the order they happened here)."""
    if not changes:
        return
    await conn.execute(
        text(
            "UPDATE leads SET stage = s.stage FROM unnest(CAST(:ids AS uuid[]),"
            " CAST(:stages AS text[])) AS s(id, stage) WHERE leads.lead_id = s.id"
        ),
        {"ids": list(stages), "stages": list(stages.values())},
    )
    await conn.execute(
        text(
            "INSERT INTO lead_stage_changes (lead_id, from_stage, to_stage, cause, changed_at,"
            " rep_id, queue) SELECT id, f, t, cause, at, rep, queue"
            " FROM unnest(CAST(:ids AS uuid[]), CAST(:froms AS text[]), CAST(:tos AS text[]),"
            " CAST(:causes AS text[]), CAST(:ats AS timestamptz[]), CAST(:reps AS text[]),"
            " CAST(:queues AS text[])) WITH ORDINALITY AS c(id, f, t, cause, at, rep, queue, n)"
            " ORDER BY n"
        ),
        column_params(
            changes,
            ids=lambda c: c.change.lead_id,
            froms=lambda c: c.change.from_stage,
            tos=lambda c: c.change.to_stage,
            causes=lambda c: c.change.cause,
            ats=lambda c: c.change.at,
            reps="rep_id",
            queues="queue",
        ),
    )


async def stage_history(conn: AsyncConnection, lead_id: str) -> list[dict[str, Any]]:
    """The lead's moves, first first."""
    rows = await conn.execute(
        text(
            "SELECT from_stage, to_stage, cause, changed_at, rep_id, queue, recorded_at"
            " FROM lead_stage_changes WHERE lead_id = :id ORDER BY id"
        ),
        {"id": lead_id},
    )
    keys = ("from_stage", "to_stage", "cause", "changed_at", "rep_id", "queue", "recorded_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


async def stage_now(conn: AsyncConnection, lead_id: str) -> tuple[bool, Stage | None]:
    """Whether the router knows the lead, and its stage."""
    row = (
        await conn.execute(text("SELECT stage FROM leads WHERE lead_id = :id"), {"id": lead_id})
    ).first()
    return (False, None) if row is None else (True, cast(Stage | None, row[0]))
