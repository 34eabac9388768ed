"""``/v1/dead-letters``: a consuming service's dead letters, to look at and replay.

Every service with a consumer serves its own group's letters (``leadflow.dlq.<group>``):
list and filter them, inspect one (its event, the error, where it came from), and replay one
or many to the original topic once the cause is fixed (``shared/bus/dead_letters.py`` says
why a replay is applied exactly once). Replays and inspections are in the audit trail; a
letter's listing shows how often and when it was replayed. ``leadflow dlq`` drives this API.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.convertors import Convertor, register_url_convertor

from shared.auth.guard import DeadLettersManage, DeadLettersRead
from shared.bus import dead_letters
from shared.bus.dead_letters import DeadLetter, LetterFilter
from shared.contracts.topics import dead_letter_topic
from shared.db import audit
from shared.http import ApiError
from shared.observability import metrics
from shared.params import NO_NUL, IsoDateTime

READ_TIMEOUT_S = 20.0
LETTER_ID = r"^[0-9]{1,9}-[0-9]{1,19}$"
REPLAYED = "dead_letter.replayed"


class _LetterIdConvertor(Convertor[str]):
    """Matches a letter id only, so ``/dead-letters/0-1:replay`` is never taken for the GET
    of a letter called ``0-1:replay`` (and a 405 there names POST alone)."""

    regex = "[0-9]{1,9}-[0-9]{1,19}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("letter_id", _LetterIdConvertor())


class DeadLetterOut(BaseModel):
    id: str = Field(description="Where the letter sits in the dead-letter topic: partition-offset")
    dead_at: datetime = Field(description="When it was dead-lettered")
    group: str = Field(description="The consumer group that could not apply it")
    error: str = Field(description="The last error, as the consumer saw it")
    original_topic: str
    original_partition: int | None
    original_offset: int | None
    event_id: str | None = Field(description="The CloudEvent id; null if it never decoded")
    event_type: str | None
    subject: str | None = Field(description="The lead id the event is about")
    replays: int = Field(description="Times it was replayed (from the audit trail)")
    last_replayed_at: datetime | None


class DeadLetterPage(BaseModel):
    letters: list[DeadLetterOut] = Field(description="Newest first")
    matched: int = Field(description="Letters that match the filter (before the limit)")
    scanned: int = Field(description="Letters on the topic")


class DeadLetterDetail(DeadLetterOut):
    payload: Any = Field(
        description="The event as it was sent (JSON), or base64 text if it is not JSON; null"
        " when its lead was erased since"
    )
    headers: dict[str, str] = Field(description="Its Kafka headers (dlq-* included)")
    erased: bool = Field(description="Its lead was erased: the payload is withheld")


class ReplayFilter(BaseModel):
    """Which letters to replay; at least one field, or ``all: true``."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(pattern=LETTER_ID)]] | None = Field(None, max_length=1000)
    event_type: str | None = Field(None, max_length=200, pattern=NO_NUL)
    subject: str | None = Field(None, max_length=200, pattern=NO_NUL)
    error_contains: str | None = Field(None, max_length=200, pattern=NO_NUL)
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    all: bool = Field(False, strict=True, description="Replay every letter (no other field needed)")
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL, description="For the audit")

    def narrowed(self) -> bool:
        """Whether it names letters (an empty filter replays nothing unless ``all``)."""
        given = (self.ids, self.event_type, self.subject, self.error_contains, self.since,
                 self.until)  # fmt: skip
        return self.all or any(v is not None for v in given)

    def to_filter(self) -> LetterFilter:
        return LetterFilter(
            event_type=self.event_type,
            subject=self.subject,
            error_contains=self.error_contains,
            since=self.since,
            until=self.until,
            ids=frozenset(self.ids) if self.ids is not None else None,
        )


class ReplayOut(BaseModel):
    replayed: list[str] = Field(description="Ids of the letters put back on their topics")


def _target(letter: DeadLetter) -> str:
    return f"dead-letter:{letter.group}/{letter.id}"


_REPLAYS = text(
    "SELECT target, count(*) AS n, max(at) AS last FROM audit_log"
    " WHERE action = :action AND target LIKE :prefix GROUP BY target"
)


async def _replays(engine: AsyncEngine, group: str) -> dict[str, tuple[int, datetime]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(_REPLAYS, {"action": REPLAYED, "prefix": f"dead-letter:{group}/%"})
        ).all()
    return {r.target: (r.n, r.last) for r in rows}


def _out(letter: DeadLetter, replays: dict[str, tuple[int, datetime]]) -> dict[str, Any]:
    n, last = replays.get(_target(letter), (0, None))
    return {
        "id": letter.id,
        "dead_at": letter.dead_at,
        "group": letter.group,
        "error": letter.error,
        "original_topic": letter.original_topic,
        "original_partition": letter.original_partition,
        "original_offset": letter.original_offset,
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "subject": letter.subject,
        "replays": n,
        "last_replayed_at": last,
    }


def _payload(value: bytes) -> Any:
    try:
        return json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return base64.b64encode(value).decode()


async def _is_erased(engine: AsyncEngine, lead_id: str | None) -> bool:
    if lead_id is None:
        return False
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT 1 FROM erased_leads WHERE lead_id = :id"), {"id": lead_id}
        )
        return found.first() is not None


def dead_letter_router(group: str) -> APIRouter:
    """The routes for ``group``'s dead letters (a service with a consumer mounts them)."""
    router = APIRouter(prefix="/v1", tags=["dead letters"])

    async def letters(request: Request) -> list[DeadLetter]:
        settings = request.app.state.runtime.settings
        topic = dead_letter_topic(group, settings.topic_prefix)
        try:
            return await asyncio.wait_for(
                dead_letters.read_letters(settings.kafka_bootstrap, topic), READ_TIMEOUT_S
            )
        except (TimeoutError, OSError) as exc:
            raise ApiError(503, "broker_unavailable", f"could not read {topic}: {exc}") from exc

    async def one(request: Request, letter_id: str) -> DeadLetter:
        for letter in await letters(request):
            if letter.id == letter_id:
                return letter
        raise ApiError(404, "unknown_dead_letter", f"no dead letter {letter_id} in group {group}")

    @router.get(
        "/dead-letters",
        response_model=DeadLetterPage,
        summary="The service's dead letters, newest first",
        responses={503: {"description": "The broker could not be read"}},
    )
    async def list_dead_letters(
        request: Request,
        caller: DeadLettersRead,
        event_type: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        subject: Annotated[
            str | None, Query(max_length=200, pattern=NO_NUL, description="A lead id")
        ] = None,
        error: Annotated[
            str | None, Query(max_length=200, pattern=NO_NUL, description="Text in the error")
        ] = None,
        since: Annotated[IsoDateTime | None, Query(description="Dead from (ISO 8601)")] = None,
        until: Annotated[IsoDateTime | None, Query(description="Dead before (ISO 8601)")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DeadLetterPage:
        every = await letters(request)
        wanted = LetterFilter(event_type, subject, error, None, since, until)
        found = sorted(
            (x for x in every if dead_letters.matches(x, wanted)),
            key=lambda x: (x.dead_at, x.id),
            reverse=True,
        )
        replays = await _replays(request.app.state.runtime.engine, group)
        return DeadLetterPage(
            letters=[DeadLetterOut(**_out(x, replays)) for x in found[:limit]],
            matched=len(found),
            scanned=len(every),
        )

    @router.get(
        "/dead-letters/{letter_id:letter_id}",
        response_model=DeadLetterDetail,
        summary="One dead letter: its event, error and origin",
        responses={
            404: {"description": "No such letter"},
            503: {"description": "The broker could not be read"},
        },
    )
    async def show_dead_letter(
        request: Request,
        caller: DeadLettersRead,
        letter_id: Annotated[str, Path(pattern=LETTER_ID)],
    ) -> DeadLetterDetail:
        letter = await one(request, letter_id)
        engine = request.app.state.runtime.engine
        erased = await _is_erased(engine, letter.subject)
        async with engine.begin() as conn:  # the read of lead data and its audit entry
            replays = await _replays(engine, group)
            await audit.append(conn, caller.subject, "dead_letter.read", _target(letter))
        return DeadLetterDetail(
            **_out(letter, replays),
            payload=None if erased else _payload(letter.value),
            headers={k: v.decode(errors="replace") for k, v in letter.headers},
            erased=erased,
        )

    async def replay(request: Request, caller: str, chosen: list[DeadLetter], why: str) -> None:
        runtime = request.app.state.runtime
        prefix = runtime.settings.topic_prefix
        messages = [dead_letters.replay_message(x, prefix) for x in chosen]
        try:
            await runtime.publisher.publish(messages)
        except Exception as exc:  # the broker refused: nothing is recorded as replayed
            raise ApiError(503, "broker_unavailable", f"replay not published: {exc}") from exc
        async with runtime.engine.begin() as conn:
            await audit.append_many(
                conn,
                [
                    (caller, REPLAYED, _target(x),
                     {"event_id": x.event_id, "event_type": x.event_type,
                      "original_topic": x.original_topic, "reason": why})
                    for x in chosen
                ],
            )  # fmt: skip
        metrics.dead_letters_replayed.labels(group).inc(len(chosen))

    @router.post(
        "/dead-letters/{letter_id:letter_id}:replay",
        response_model=ReplayOut,
        summary="Put one dead letter back on its original topic",
        responses={
            404: {"description": "No such letter"},
            503: {"description": "The broker could not be read or written"},
        },
    )
    async def replay_dead_letter(
        request: Request,
        caller: DeadLettersManage,
        letter_id: Annotated[str, Path(pattern=LETTER_ID)],
        reason: Annotated[str, Body(embed=True, min_length=1, max_length=500, pattern=NO_NUL)],
    ) -> ReplayOut:
        letter = await one(request, letter_id)
        await replay(request, caller.subject, [letter], reason)
        return ReplayOut(replayed=[letter.id])

    @router.post(
        "/dead-letters:replay",
        response_model=ReplayOut,
        summary="Put every dead letter a filter matches back on its original topic",
        responses={
            422: {"description": "no_letters_named: neither ids, a filter, nor all: true"},
            503: {"description": "The broker could not be read or written"},
        },
    )
    async def replay_dead_letters(
        request: Request, caller: DeadLettersManage, body: ReplayFilter
    ) -> ReplayOut:
        if not body.narrowed():
            raise ApiError(
                422,
                "no_letters_named",
                "name the letters (ids or a filter), or set all: true",
                [{"field": "body", "problem": "give ids, a filter field, or all: true"}],
            )
        wanted = body.to_filter()
        chosen = [x for x in await letters(request) if dead_letters.matches(x, wanted)]
        if chosen:
            await replay(request, caller.subject, chosen, body.reason)
        return ReplayOut(replayed=[x.id for x in chosen])

    return router
