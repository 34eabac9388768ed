"""What a request to a source endpoint must pass before its body is used: the source is
configured and ready, the credentials check out (a refusal is counted and logged), a
timestamped signature is not a replay, a CSV file says it is UTF-8 CSV. HTTP-level checks
of :mod:`services.capture.api.sources`; the rules themselves are in
:mod:`services.capture.sources.auth`."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from services.capture.api import source_responses
from services.capture.deps import CaptureRuntime
from services.capture.sources.auth import (
    AuthFailure,
    Verified,
    verify_request,
)
from services.capture.sources.base import InboundRequest
from services.capture.sources.ingest import (
    Catalog,
)
from services.capture.sources.model import Source
from services.capture.store import replays as replay_store
from shared.http import ApiError
from shared.observability import metrics

log = logging.getLogger(__name__)

CSV_TYPES = ("text/csv", "application/csv", "text/plain")


def unknown(name: str) -> ApiError:
    return ApiError(
        404,
        "unknown_source",
        f"no source named {name!r}",
        [{"field": "path:source", "problem": f"{name!r} is not configured; see GET /v1/sources"}],
    )


def ready(catalog: Catalog, name: str) -> Source:
    src = catalog.get(name)
    if src is None:
        raise unknown(name)
    if not src.ready:
        raise ApiError(
            503,
            "source_not_ready",
            f"source {name!r} is not ready (its secrets are not configured); see GET /v1/sources",
            headers={"Retry-After": "60"},
        )
    return src


async def inbound(request: Request, *, with_body: bool = True) -> InboundRequest:
    return InboundRequest(
        body=await request.body() if with_body else b"",
        content_type=request.headers.get("content-type", ""),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
    )


def verify(
    src: Source, req: InboundRequest, request: Request, now: datetime, google_key: str | None
) -> Verified:
    uri = str(request.url)
    if src.auth.public_url:
        query = f"?{request.url.query}" if request.url.query else ""
        uri = f"{src.auth.public_url}{request.url.path}{query}"
    try:
        return verify_request(
            src.auth, req, method=request.method, uri=uri, now=now, google_key=google_key
        )
    except AuthFailure as exc:
        raise refusal(src, exc) from None


def refusal(src: Source, exc: AuthFailure) -> ApiError:
    metrics.auth_failures.labels(src.name, exc.reason).inc()
    log.info("source auth refused", extra={"source": src.name, "reason": exc.reason})
    headers = (
        {"WWW-Authenticate": 'Bearer realm="leadflow"'} if src.auth.type == "api_key" else None
    )
    problems = [{"field": "auth", "problem": exc.message}]
    return ApiError(401, exc.reason, exc.message, problems, headers=headers)


def seen_before(src: Source, verified: Verified, seen_at: datetime | None) -> Response:
    """The same signed message again: an exact copy (same timestamp) is a replay; the same id
    signed anew is the vendor re-sending one we handled, acknowledged without a second effect."""
    if seen_at == verified.signed_at:
        failure = AuthFailure("replayed_request", "this signed message was already received")
        raise refusal(src, failure)
    message = "this message was already received and handled; not processed again"
    return JSONResponse(source_responses.results([], message).model_dump())


async def release_claim(runtime: CaptureRuntime, src: Source, verified: Verified) -> None:
    assert verified.replay_id is not None and verified.signed_at is not None
    try:
        await replay_store.release(runtime.engine, src.name, verified.replay_id, verified.signed_at)
    except Exception:  # the original failure matters more; the claim expires anyway
        log.warning("could not release replay claim", extra={"source": src.name}, exc_info=True)


def check_csv_type(content_type: str) -> None:
    media, _, params = content_type.partition(";")
    charset = next(
        (v.strip().strip('"').lower() for k, _, v in (p.partition("=") for p in params.split(";"))
         if k.strip().lower() == "charset"),
        "utf-8",
    )  # fmt: skip
    if media.strip().lower() not in CSV_TYPES or charset not in ("utf-8", "utf8"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the file as 'Content-Type: text/csv' in UTF-8, not {content_type or 'none'!r}",
            [{"field": "header:content-type", "problem": "must be text/csv (UTF-8)"}],
        )
