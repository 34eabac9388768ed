"""What capture answers, stored so that a retried or double-submitted request gets the same
answer (see :mod:`services.capture.idempotency`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

from services.capture import idempotency, store
from services.capture.handlers import CaptureResult
from shared import clock

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: Any
    replayed: bool = False

    def response(self) -> JSONResponse:
        headers = {"Idempotent-Replayed": "true"} if self.replayed else None
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


def lead_answer(result: CaptureResult) -> Answer:
    """202 for a new lead; 200 for a known person, saying how they matched and what changed."""
    if not result.duplicate:
        return Answer(202, {"lead_id": result.lead_id, "status": "accepted"})
    return Answer(
        200,
        {
            "lead_id": result.lead_id,
            "status": "duplicate",
            "matched_by": result.matched_by,
            "updated_fields": list(result.changed),
        },
    )


def replay(key: idempotency.RequestKey, stored: store.StoredAnswer) -> Answer:
    idempotency.check_same_request(key, stored.fingerprint)
    return Answer(stored.status_code, stored.response, replayed=True)


async def answer_once(
    runtime: CaptureRuntime,
    key: idempotency.RequestKey,
    compute: Callable[[], Awaitable[Answer]],
) -> Answer:
    """The stored answer if this request was handled already; otherwise compute and store it.

    The effect and the stored answer are two transactions: after a crash between them a
    retry runs again, which for leads is harmless (dedupe answers the same lead id).
    """
    async with runtime.engine.connect() as conn:
        stored = (await store.get_answers(conn, [key.key], clock.now())).get(key.key)
    if stored is not None:
        return replay(key, stored)
    answer = await compute()
    if answer.status_code >= 300:
        return answer
    now = clock.now()
    fresh = store.StoredAnswer(key.fingerprint, answer.status_code, answer.body)
    async with runtime.engine.begin() as conn:
        if await store.remember_answers(conn, {key.key: (fresh, key.expires_at(now))}, now):
            return answer
        stored = (await store.get_answers(conn, [key.key], now)).get(key.key)
    return answer if stored is None else replay(key, stored)
