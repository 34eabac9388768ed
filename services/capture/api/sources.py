"""Vendor sources over HTTP: webhooks as each vendor sends them, the verification handshakes,
CSV import, and the list of configured sources. Thin: verify, hand to the use cases, answer.

A vendor's test or ping is answered ``200 {"status": "test"}`` storing nothing; a Salesforce
Web-to-Lead post with an http(s) ``retURL`` is answered ``303`` to it once stored.

Refusals: ``404 unknown_source``, ``503 source_not_ready`` (a secret's variable is unset),
``401`` with the :mod:`~services.capture.sources.auth` reason (counted in
``leadflow_auth_failures_total{source, reason}``), ``422 invalid_payload`` /
``invalid_lead``, ``400 malformed_csv``. A notification that only points at records (Meta
leadgen, HubSpot contact events, LinkedIn lead notifications) is answered ``200
fetch_scheduled`` once a fetch job per record is committed (:mod:`.sources.fetch_jobs`);
``GET /v1/sources/{source}/fetches`` lists the jobs (:mod:`services.capture.api.fetches`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from services.capture.api import source_checks as checks
from services.capture.api import source_responses
from services.capture.api.common import respond
from services.capture.api.source_responses import (
    NO_LEAD,
    CsvReport,
    FetchScheduled,
    SourceResults,
    SourcesOut,
    csv_report,
    source_out,
)
from services.capture.deps import CaptureRuntime, CatalogDep, RuntimeDep
from services.capture.intake import capture_each
from services.capture.sources import fetch_jobs, opt_outs
from services.capture.sources.auth import (
    AuthFailure,
    Verified,
    linkedin_challenge,
    meta_challenge,
)
from services.capture.sources.base import InboundRequest, PayloadError, VendorPing
from services.capture.sources.csv_import import CsvError, TooManyRows, read_csv
from services.capture.sources.ingest import (
    Catalog,
    clean_all,
    import_rows,
    submit_one,
    vendor_leads,
)
from services.capture.sources.mapping import with_source
from services.capture.sources.model import Source, Sources
from services.capture.sources.notifications import notice_of
from services.capture.sources.vendors import google_key_of, return_url
from services.capture.store import replays as replay_store
from shared import clock
from shared.auth.guard import VENDOR_AUTH, ConfigRead, limit_source
from shared.http import ApiError
from shared.observability import metrics

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/sources", tags=["sources"])

LEADS_ROUTE = "/v1/sources/{source}/leads"
CSV_ROUTE = "/v1/sources/{source}/csv"
LEAD_ID_HEADER = "Leadflow-Lead-Id"  # on a 303 to retURL: the lead the post became
LEAD_STATUS_HEADER = "Leadflow-Lead-Status"
# Vendors that check a webhook URL with a GET before they use it (answered 200, nothing stored)
URL_CHECKS = {
    "mailchimp": "Mailchimp's URL validation (GET): this URL takes the audience's webhooks;"
    " nothing stored",
}
_VENDOR_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        "multipart/form-data": {"schema": {"type": "object"}},
    },
}
_COMMON: dict[int | str, dict[str, Any]] = {
    401: {"description": "Bad or missing credentials; `error` says which"},
    404: {"description": "Unknown source"},
    503: {"description": "Source not ready (a secret's variable is unset) or storage down"},
}


def csv_limits(sources: Sources) -> dict[str, int]:
    """The body limit of each CSV import path (API-key sources take CSV files)."""
    return {
        f"/v1/sources/{name}/csv": sources.csv.max_bytes
        for name, source in sources.by_name.items()
        if source.auth.type == "api_key"
    }


@router.get("", response_model=SourcesOut, summary="The configured sources (no secrets)")
async def list_sources(catalog: CatalogDep, caller: ConfigRead) -> SourcesOut:
    return SourcesOut(sources=[source_out(s) for s in catalog.sources.by_name.values()])


@router.post(
    "/{source}/leads",
    status_code=202,
    responses={
        202: {"description": "One new lead: `{lead_id, status}` as POST /v1/leads"},
        303: {"description": "Salesforce Web-to-Lead post with an http(s) retURL: stored, go on"},
        200: {
            "model": SourceResults | FetchScheduled,
            "description": "A known person, several leads, or none; or a notification that only"
            " points at records: `{status: fetch_scheduled | test | nothing_to_fetch, jobs}`",
        },
        422: {"description": "The body is not the vendor's shape, or the lead is invalid"},
        **_COMMON,
    },
    openapi_extra={**VENDOR_AUTH, "requestBody": _VENDOR_BODY},
    summary="A vendor's webhook, body exactly as the vendor sends it",
)
async def receive(source: str, request: Request, runtime: RuntimeDep, catalog: CatalogDep) -> Any:
    src = checks.ready(catalog, source)
    req = await checks.inbound(request)
    now = clock.now()
    google_key = google_key_of(req) if src.auth.type == "google_ads" else None
    verified = checks.verify(src, req, request, now, google_key)
    # After the signature: unsigned floods cannot use up the vendor's own bucket.
    limit_source(request, src.name, runtime.deps.source_limit)
    answer = await _once(runtime, catalog, src, req, request, verified, now)
    if src.kind == "salesforce_web_to_lead" and answer.status_code < 300:
        if (back := return_url(req)) is not None:  # a browser's post: on to retURL
            return _redirect(back, answer)
    return answer


async def _once(
    runtime: CaptureRuntime,
    catalog: Catalog,
    src: Source,
    req: InboundRequest,
    request: Request,
    verified: Verified,
    now: datetime,
) -> Response:
    """Ingest, claiming a timestamped signature's message id first so a replay is refused."""
    actor = f"source:{src.name}/{verified.principal}"
    if verified.replay_id is None or verified.signed_at is None:
        return await _ingest(runtime, catalog, src, req, request, actor)
    claim = await replay_store.claim(
        runtime.engine, src.name, verified.replay_id, verified.signed_at, now, src.auth.tolerance_s
    )
    if not claim.fresh:
        return checks.seen_before(src, verified, claim.seen_at)
    try:
        return await _ingest(runtime, catalog, src, req, request, actor)
    except BaseException:
        await checks.release_claim(runtime, src, verified)
        raise


@router.get(
    "/{source}/leads",
    responses={
        200: {
            "description": "Meta: `hub.challenge` as text; LinkedIn: the challenge response;"
            " Mailchimp's URL validation: `{status: test}`"
        },
        405: {"description": "The source's vendor has no GET handshake"},
        **_COMMON,
    },
    summary="Endpoint verification: Meta's hub.challenge, LinkedIn's challengeCode,"
    " Mailchimp's URL check",
    openapi_extra=VENDOR_AUTH,
)
async def handshake(
    source: str, request: Request, runtime: RuntimeDep, catalog: CatalogDep
) -> Response:
    src = checks.ready(catalog, source)
    # A bucket of its own: handshakes cannot use up the one the source's posts draw on.
    limit_source(request, f"{src.name}:handshake", runtime.deps.source_limit)
    query = dict(request.query_params)
    try:
        if src.auth.type == "meta":
            return PlainTextResponse(meta_challenge(query, src.auth.verify_token or ""))
        if src.auth.type == "linkedin":
            return JSONResponse(linkedin_challenge(query, src.auth.secret or ""))
        if src.kind in URL_CHECKS:
            checks.verify(
                src, await checks.inbound(request, with_body=False), request, clock.now(), None
            )
            metrics.vendor_tests.labels(src.name).inc()
            body = source_responses.vendor_test(URL_CHECKS[src.kind]).model_dump(exclude_none=True)
            return JSONResponse(body)
    except AuthFailure as exc:
        raise checks.refusal(src, exc) from None
    raise ApiError(
        405,
        "method_not_allowed",
        f"source {src.name!r} ({src.auth.type}) has no GET handshake; POST its leads",
        headers={"Allow": "POST"},
    )


@router.post(
    "/{source}/csv",
    response_model=CsvReport,
    responses={
        400: {"description": "Not valid CSV (the line is named) or not UTF-8"},
        403: {"description": "The source does not authenticate with API keys"},
        413: {"description": "Too many rows or too many bytes"},
        415: {"description": "Not text/csv"},
        **_COMMON,
    },
    openapi_extra={
        **VENDOR_AUTH,
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {}}}},
    },
    summary="Import a CSV export (header row first); each row answered on its own",
)
async def import_csv(
    source: str, request: Request, runtime: RuntimeDep, catalog: CatalogDep
) -> CsvReport:
    src = checks.ready(catalog, source)
    if src.auth.type != "api_key":
        raise ApiError(
            403,
            "csv_not_allowed",
            f"source {src.name!r} authenticates with {src.auth.type}; CSV import needs a"
            " source with api_key auth",
        )
    # An API key is in the headers: check it before reading up to csv.max_bytes of body.
    head = await checks.inbound(request, with_body=False)
    verified = checks.verify(src, head, request, clock.now(), None)
    limit_source(request, src.name, runtime.deps.source_limit)
    checks.check_csv_type(request.headers.get("content-type", ""))
    try:
        rows = read_csv(await request.body(), src.mapping, catalog.sources.csv.max_rows)
    except CsvError as exc:
        problems = [{"field": f"line {exc.line}", "problem": exc.problem}]
        raise ApiError(400, "malformed_csv", str(exc), problems) from None
    except TooManyRows as exc:
        problems = [{"field": "body", "problem": str(exc)}]
        raise ApiError(413, "too_many_rows", str(exc), problems) from None
    actor = f"source:{src.name}/{verified.principal}"
    report = csv_report(await import_rows(runtime, src, rows, actor))
    if report.rejected:
        metrics.rejected_inputs.labels(CSV_ROUTE, "invalid_lead").inc(report.rejected)
    return report


async def _ingest(
    runtime: CaptureRuntime,
    catalog: Catalog,
    src: Source,
    req: InboundRequest,
    request: Request,
    actor: str,
) -> Response:
    try:
        notice = notice_of(src.kind, req)
        if notice is not None:
            jobs, fresh = await fetch_jobs.schedule(runtime, src, notice, clock.now())
            scheduled = source_responses.fetch_scheduled(notice, jobs, fresh)
            return JSONResponse(scheduled.model_dump(mode="json"))
        raws = vendor_leads(catalog, src, req)
        opted_out = None if raws else opt_outs.opt_out_of(src.kind, req)
    except PayloadError as exc:
        problems = [{"field": p.field, "problem": p.problem} for p in exc.problems]
        raise ApiError(
            422, "invalid_payload", f"not a {src.kind} payload: {exc}", problems
        ) from None
    except VendorPing as exc:
        metrics.vendor_tests.labels(src.name).inc()
        log.info("vendor test delivery", extra={"source": src.name})
        return JSONResponse(source_responses.vendor_test(exc.message).model_dump(exclude_none=True))
    if opted_out is not None and await opt_outs.record_opt_out(
        runtime, opted_out, actor, clock.now()
    ):
        message = opt_outs.OPTED_OUT.format(kind=opted_out.kind)
        return JSONResponse(source_responses.results([], message).model_dump())
    if not raws:
        return JSONResponse(source_responses.results([], NO_LEAD).model_dump())
    valid, rejected = clean_all(raws, src)
    if len(raws) == 1:
        if rejected:
            problems = [{"field": p.field, "problem": p.problem} for p in rejected[0].problems]
            message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
            raise ApiError(422, "invalid_lead", message, problems)
        route = f"/v1/sources/{src.name}/leads"
        raw = with_source(raws[0], src)
        answer = await submit_one(
            runtime, route, valid[0][1], raw, request.headers.get("idempotency-key"), actor
        )
        return respond(answer)
    outcomes = await capture_each(runtime, len(raws), valid, rejected, actor)
    body = source_responses.results(outcomes)
    if body.rejected:
        metrics.rejected_inputs.labels(LEADS_ROUTE, "invalid_lead").inc(body.rejected)
    return JSONResponse(body.model_dump())


def _redirect(url: str, answer: Response) -> Response:
    """A browser posted the form: send it on to ``retURL`` as Salesforce does, with the
    lead's id and status in headers for whoever looks (the browser only follows)."""
    redirect = RedirectResponse(url, 303)
    try:
        body = json.loads(bytes(answer.body))
    except ValueError:
        return redirect
    if isinstance(body, dict) and isinstance(body.get("lead_id"), str):
        redirect.headers[LEAD_ID_HEADER] = body["lead_id"]
        redirect.headers[LEAD_STATUS_HEADER] = str(body.get("status", ""))
    return redirect
