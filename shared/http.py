"""HTTP conventions shared by every service: errors that name the field, body limits, metrics.

Every refusal has the same shape::

    {"error": "invalid_request", "message": "...",
     "problems": [{"field": "email", "problem": "value is not a valid email address"}]}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.config import dotted_path
from shared.db.errors import is_outage
from shared.observability import metrics
from shared.redaction import redact


class ApiError(Exception):
    """A refusal with an HTTP status, a machine-readable code and named problems."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        problems: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.problems = list(problems)
        self.headers = headers


def problem_list(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors -> ``[{"field": "email", "problem": "..."}]`` (``body.`` stripped)."""
    out = []
    for err in errors:
        loc = list(err.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header"):
            where = loc[0]
            loc = loc[1:]
            if where != "body" and loc:
                loc = [f"{where}:{loc[0]}", *loc[1:]]
        field = dotted_path(loc) or "body"
        out.append({"field": safe_text(field), "problem": safe_text(err.get("msg", "invalid"))})
    return out


def safe_text(text: str) -> str:
    """Echoed client text made storable and printable: NULs and lone surrogates escaped."""
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return escaped.replace("\x00", "\\x00")


def _route_of(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", request.url.path)


def error_response(request: Request, exc: ApiError) -> JSONResponse:
    """The refusal as JSON. Its texts pass through :func:`redact`: a refusal is logged,
    cached and shown by clients, and never repeats an e-mail address or phone number."""
    metrics.rejected_inputs.labels(_route_of(request), exc.error).inc()
    problems = [{k: redact(v) for k, v in p.items()} for p in exc.problems]
    body = {"error": exc.error, "message": redact(exc.message), "problems": problems}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path (RFC 9110 wants
    them all in a 405's ``Allow``; Starlette names only those of the first route it found):
    each method asked of the routes as they match a request, nested routers included."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            detail = next(e for e in errors if e.get("type") == "json_invalid")
            ctx = detail.get("ctx", {}).get("error", "")
            problems = [{"field": "body", "problem": f"malformed JSON: {ctx}".rstrip(": ")}]
            return error_response(
                request, ApiError(400, "malformed_json", "request body is not valid JSON", problems)
            )
        problems = problem_list(errors)
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return error_response(request, ApiError(422, "invalid_request", message, problems))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(
            request, ApiError(exc.status_code, code, str(exc.detail), headers=headers or None)
        )

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return error_response(
            request,
            ApiError(
                503,
                "unavailable",
                "storage is unavailable; nothing was stored, retry shortly",
                headers={"Retry-After": "1"},
            ),
        )

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        if is_outage(exc):  # e.g. 57P03 while PostgreSQL restarts, a connection it broke
            return await on_unavailable(request, exc)
        raise exc  # any other database error stays a 500 with its traceback logged

    for outage in (OperationalError, InterfaceError, ConnectionError, OSError):
        app.add_exception_handler(outage, on_unavailable)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before reading them into memory.

    ``per_path`` raises (or lowers) the limit for exact paths, e.g. a batch endpoint."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        metrics.rejected_inputs.labels("*", "body_too_large").inc()
        body = (
            b'{"error":"body_too_large","message":"request body exceeds '
            + str(limit).encode()
            + b' bytes","problems":[{"field":"body","problem":"too large"}]}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class TimingMiddleware:
    """Request latency histogram by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.http_seconds.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),  # a JSON answer is never sniffed as a page
    (b"cache-control", b"no-store"),  # answers carry personal data: no cache keeps them
]


class SecurityHeadersMiddleware:
    """Headers every answer carries (OWASP API8, security misconfiguration)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
