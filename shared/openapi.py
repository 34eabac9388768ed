"""Every service's OpenAPI document says what its shared HTTP layer answers, not only what
its routes do: a client (and schemathesis, which CI runs over every document) can trust
each documented status and body shape, and meets no undocumented one.

The shared layer (:mod:`shared.http`) answers on any route: 400 for a body that is not
JSON, 413 for one over the size limit, 422 for an invalid parameter or field, 503 while
storage is down. :func:`document_refusals` adds those to each operation they apply to, and
documents optional parameters as absent rather than ``null``, and gives every refusal the
one error shape (:class:`ErrorBody`) instead of FastAPI's own
``HTTPValidationError``, which no Leadflow service ever sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

ERROR_REF = "#/components/schemas/ErrorBody"
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")
# Routes that answer without storage (liveness, metrics); readiness documents its own 503.
_NO_STORAGE = frozenset({"/healthz", "/readyz", "/metrics"})
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


class ProblemBody(BaseModel):
    field: str = Field(
        description="What is wrong: a body field (`email`, `leads[3].phone`), a parameter"
        " (`query:limit`, `header:If-Match`, `path:lead_id`) or `body`"
    )
    problem: str = Field(description="Why, in words")


class ErrorBody(BaseModel):
    """Every refusal of every Leadflow service (4xx and 5xx)."""

    error: str = Field(description="Machine-readable code, e.g. `invalid_request`, `not_found`")
    message: str = Field(description="What went wrong, for a person")
    problems: list[ProblemBody] = Field(
        description="Each field or parameter at fault (empty when the refusal names none)"
    )


SHARED_REFUSALS: dict[str, str] = {
    "400": "The body is not valid JSON (`malformed_json`)",
    "413": "The body is over the size limit (`body_too_large`)",
    "422": "A parameter or body field is missing or invalid; `problems` names each one",
    "503": "Storage is unavailable: nothing was done; retry after `Retry-After` seconds",
}


_RETRY_AFTER = {
    "description": "Seconds to wait before retrying (sent while storage is down)",
    "schema": {"type": "integer", "minimum": 0},
}


def _refusals_for(path: str, operation: dict[str, Any]) -> list[str]:
    """Which shared refusals an operation can meet: body ones only with a body, 422 with
    any input, 503 on every route that reads or writes storage."""
    found = []
    body = operation.get("requestBody")
    if body is not None:
        if "application/json" in body.get("content", {}):
            found.append("400")
        found.append("413")
    if body is not None or operation.get("parameters"):
        found.append("422")
    if path not in _NO_STORAGE:
        found.append("503")
    return found


def with_refusals(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the shared refusals added and every refusal in :class:`ErrorBody`."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    error_content = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            for parameter in operation.get("parameters", []):
                _absent_not_null(parameter.get("schema", {}))
            responses = operation.setdefault("responses", {})
            for status in _refusals_for(path, operation):
                shared = {"description": SHARED_REFUSALS[status]}
                if status == "422":  # FastAPI's own 422 ("Validation Error") is replaced
                    responses[status] = {**shared, **_own(responses.get(status))}
                else:
                    responses.setdefault(status, shared)
            for status, response in responses.items():
                if status[0] in "45":
                    response.setdefault("content", error_content)
            if "503" in responses and path not in _NO_STORAGE:
                responses["503"].setdefault("headers", {"Retry-After": _RETRY_AFTER})
    return document


def _absent_not_null(schema: dict[str, Any]) -> None:
    """An optional parameter (``str | None = None``) is left out by leaving it out: FastAPI
    documents it as ``anyOf [string, null]``, which invites the text ``null``, refused."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return
    rest = [o for o in options if o != {"type": "null"}]
    del schema["anyOf"]
    if len(rest) == 1:
        schema.update(rest[0])
    else:
        schema["anyOf"] = rest


def _own(response: dict[str, Any] | None) -> dict[str, Any]:
    """A route's own description of a refusal, unless it is FastAPI's default one."""
    if response is None or response.get("description") == "Validation Error":
        return {}
    return {"description": response["description"]}


def document_refusals(app: FastAPI) -> None:
    """Make ``app.openapi()`` (what ``/openapi.json`` serves and ``leadflow docs`` writes)
    include the shared refusals: FastAPI's documented way to extend its document."""
    plain: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_refusals(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
