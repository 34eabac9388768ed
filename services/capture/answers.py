"""The idempotent answer: a retried or double-submitted request gets the original answer,
never a second effect (how a request is keyed: :mod:`services.capture.idempotency`).

Every use case that answers once (single leads through the group commit, lead batches,
activities) goes through :func:`answer_once`: the effect and its stored answer are written in
ONE transaction, so a crash can never leave an effect without its answer. An answer is a
status and a JSON body, stored as such; the HTTP layer only sends it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.capture import idempotency
from services.capture.handlers import CaptureResult
from services.capture.store import answers as answer_store
from shared import clock
from shared.db.uow import UnitOfWork

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime

# A race lost to a concurrent twin rolls back and goes again: the twin's answer is then
# found stored. More rounds than this means something else is wrong.
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: Any
    replayed: bool = False


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


def replay(key: idempotency.RequestKey, stored: answer_store.StoredAnswer) -> Answer:
    idempotency.check_same_request(key, stored.fingerprint)
    return Answer(stored.status_code, stored.response, replayed=True)


# Runs inside the open unit of work for the requests not answered before (their positions)
# and returns their answers in that order; answer_once stores them and commits. It may run
# again after a lost race (its first run rolled back), so it acts only through the unit of
# work; if it raises, nothing is stored and the exception propagates.
Effect = Callable[[UnitOfWork, list[int]], Awaitable[list[Answer]]]


async def answer_once(
    runtime: CaptureRuntime, keys: Sequence[idempotency.RequestKey], effect: Effect
) -> list[Answer | Exception]:
    """Each request's answer: the stored one if it was answered before, else the effect's,
    stored in the effect's transaction (successful answers only: a refused request can be
    corrected and sent again under the same key).

    A request twice in ``keys`` is computed once and the copy gets its answer, replayed. If
    a concurrent twin stored an answer first, this transaction rolls back and the round
    starts again, replaying the twin's answer. A replay can fail (a key reused for another
    body): that request's item is the exception, its neighbours are answered.
    """
    out: dict[int, Answer | Exception] = {}
    for _ in range(MAX_ROUNDS):
        now = clock.now()
        todo, twins = await _unanswered(runtime, keys, now, out)
        if not todo:
            return [out[i] for i in range(len(keys))]
        uow = runtime.uow()
        async with uow:
            answers = await effect(uow, todo)
            fresh = {
                keys[i].key: (
                    answer_store.StoredAnswer(keys[i].fingerprint, a.status_code, a.body),
                    keys[i].expires_at(now),
                )
                for i, a in zip(todo, answers, strict=True)
                if a.status_code < 300
            }
            if set(fresh) - await answer_store.remember_answers(uow.conn, fresh, now):
                continue  # a concurrent twin answered first: roll back, replay its answer
            await uow.commit()
        for i, answer in zip(todo, answers, strict=True):
            out[i] = answer
        for i, first in twins:
            given = out[first]
            assert isinstance(given, Answer)
            first_print = keys[first].fingerprint
            stored = answer_store.StoredAnswer(first_print, given.status_code, given.body)
            out[i] = _replayed(keys[i], stored)
        return [out[i] for i in range(len(keys))]
    raise RuntimeError(f"no answer after {MAX_ROUNDS} rounds of concurrent twins")


async def _unanswered(
    runtime: CaptureRuntime,
    keys: Sequence[idempotency.RequestKey],
    now: datetime,
    out: dict[int, Answer | Exception],
) -> tuple[list[int], list[tuple[int, int]]]:
    """Answer (in ``out``) the requests answered before; the first copy of each other one,
    and the later copies with the position of their first."""
    async with runtime.engine.connect() as conn:
        stored = await answer_store.get_answers(conn, sorted({k.key for k in keys}), now)
    firsts: dict[str, int] = {}
    twins: list[tuple[int, int]] = []
    for i, key in enumerate(keys):
        if i in out:
            continue
        if (answer := stored.get(key.key)) is not None:
            out[i] = _replayed(key, answer)
        elif key.key in firsts:
            twins.append((i, firsts[key.key]))
        else:
            firsts[key.key] = i
    return list(firsts.values()), twins


async def answer_one(
    runtime: CaptureRuntime,
    key: idempotency.RequestKey,
    effect: Callable[[UnitOfWork], Awaitable[Answer]],
) -> Answer:
    """:func:`answer_once` for one request; a failed replay is raised."""

    async def one(uow: UnitOfWork, _todo: list[int]) -> list[Answer]:
        return [await effect(uow)]

    (answer,) = await answer_once(runtime, [key], one)
    if isinstance(answer, Exception):
        raise answer
    return answer


def _replayed(key: idempotency.RequestKey, stored: answer_store.StoredAnswer) -> Answer | Exception:
    """The stored answer replayed, or the refusal of a key reused for another request."""
    try:
        return replay(key, stored)
    except Exception as exc:
        return exc
