"""Activity use cases: record what happened to leads, answered once (the answer is stored in
the transaction that records them, so a retried request can never record them twice)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from services.capture import handlers
from services.capture.answers import Answer, answer_one
from services.capture.domain.lead import Problem
from services.capture.idempotency import RequestKey
from shared.db import audit
from shared.db.uow import UnitOfWork

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime


async def record_one(
    runtime: CaptureRuntime,
    key: RequestKey,
    lead_id: str,
    activity: handlers.ActivityInput,
    now: datetime,
    actor: str,
) -> Answer:
    """``202 {activity_id, lead_id}``; :class:`handlers.UnknownLead` (nothing stored) when
    no lead has the id."""

    async def effect(uow: UnitOfWork) -> Answer:
        (activity_id,) = await handlers.record_activities(uow, [(lead_id, activity)], now)
        if activity_id is None:
            raise handlers.UnknownLead(lead_id)
        await audit.append(
            uow.conn, actor, "activity.recorded", lead_id, _detail(activity_id, activity)
        )
        return Answer(202, {"activity_id": activity_id, "lead_id": lead_id})

    return await answer_one(runtime, key, effect)


async def record_many(
    runtime: CaptureRuntime,
    key: RequestKey,
    items: Sequence[tuple[int, str, handlers.ActivityInput]],
    problems: dict[int, list[Problem]],
    now: datetime,
    actor: str,
) -> Answer:
    """Each activity (its position, lead and input) recorded or rejected on its own: those
    refused before (``problems``) and those of an unknown lead are rejected."""

    async def effect(uow: UnitOfWork) -> Answer:
        pairs = [(lead_id, activity) for _, lead_id, activity in items]
        ids = await handlers.record_activities(uow, pairs, now)
        await audit.append_many(
            uow.conn,
            [
                (actor, "activity.recorded", lead_id, _detail(activity_id, activity))
                for (lead_id, activity), activity_id in zip(pairs, ids, strict=True)
                if activity_id is not None
            ],
        )
        results = [_result(i, "rejected", None, ps) for i, ps in problems.items()]
        unknown = [Problem("lead_id", "no lead with this id")]
        for (i, _, _), activity_id in zip(items, ids, strict=True):
            if activity_id is None:
                results.append(_result(i, "rejected", None, unknown))
            else:
                results.append(_result(i, "recorded", activity_id, []))
        results.sort(key=lambda r: int(str(r["index"])))
        recorded = sum(r["status"] == "recorded" for r in results)
        body = {"recorded": recorded, "rejected": len(results) - recorded, "results": results}
        return Answer(200, body)

    return await answer_one(runtime, key, effect)


def _detail(activity_id: str, activity: handlers.ActivityInput) -> dict[str, object]:
    return {"activity_id": activity_id, "kind": activity.kind}


def _result(
    index: int, status: str, activity_id: str | None, problems: list[Problem]
) -> dict[str, object]:
    """One item as ``ActivityItemResult`` documents it (:mod:`services.capture.api.activities`)."""
    return {
        "index": index,
        "status": status,
        "activity_id": activity_id,
        "problems": [{"field": p.field, "problem": p.problem} for p in problems],
    }
