"""What capture's routes share: the batch limit, the documented refusals, the
``Idempotency-Key`` header, and sending a use case's :class:`~services.capture.answers.Answer`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.capture import idempotency
from services.capture.answers import Answer
from services.capture.domain.lead import Problem
from shared.http import problem_list

MAX_BATCH = 1000

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON"},
    409: {"description": "The Idempotency-Key was used for a different request"},
    413: {"description": "Body too large"},
    422: {"description": "A field is missing or invalid; `problems` names each one"},
}


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description="Any unique string (a UUID): a retry with the same key gets the original"
        " answer for 24 h. Without it, the same body on the same route within 10 minutes"
        " also gets the original answer (double submit). 1-255 printable ASCII characters"
        " without spaces.",
        json_schema_extra={"pattern": idempotency.KEY_PATTERN},
    ),
]


class ProblemOut(BaseModel):
    field: str
    problem: str


def respond(answer: Answer) -> JSONResponse:
    """Send a use case's answer; a replayed one says so."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


def problems_of(exc: ValidationError) -> list[Problem]:
    """An item of a batch that does not validate: its problems, each naming the field."""
    return [Problem(**p) for p in problem_list(exc.errors())]
