"""A source's fetch jobs over HTTP (the records its notifications pointed at): list them,
try the failed ones again. Thin: the jobs are :mod:`services.capture.sources.fetch_jobs`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.capture.api import source_checks as checks
from services.capture.api import source_responses
from services.capture.api.source_responses import FetchJobsOut, RetriedOut
from services.capture.deps import CatalogDep, RuntimeDep
from services.capture.sources import fetch_jobs
from services.capture.store import fetch_jobs as fetch_store
from shared.auth.guard import SourcesManage
from shared.db import audit

router = APIRouter(prefix="/v1/sources", tags=["sources"])


@router.get(
    "/{source}/fetches",
    response_model=FetchJobsOut,
    responses={404: {"description": "Unknown source"}},
    summary="The source's fetch jobs (records its notifications pointed at), newest first",
)
async def list_fetches(
    source: str,
    runtime: RuntimeDep,
    caller: SourcesManage,
    catalog: CatalogDep,
    status: Annotated[
        Literal["pending", "done", "failed", "not_found"] | None,
        Query(description="Only jobs in this state"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FetchJobsOut:
    if catalog.get(source) is None:
        raise checks.unknown(source)
    async with runtime.engine.connect() as conn:
        jobs = await fetch_store.list_jobs(conn, source, status, limit)
    return FetchJobsOut(jobs=[source_responses.fetch_job_out(j) for j in jobs])


@router.post(
    "/{source}/fetches:retry",
    response_model=RetriedOut,
    responses={404: {"description": "Unknown source"}},
    summary="Try the source's failed fetch jobs again (e.g. after fixing its API token)",
)
async def retry_fetches(
    source: str, runtime: RuntimeDep, catalog: CatalogDep, caller: SourcesManage
) -> RetriedOut:
    src = catalog.get(source)
    if src is None:
        raise checks.unknown(source)
    retried = await fetch_jobs.retry_failed(runtime, src)
    await audit.append_now(
        runtime.engine, caller.subject, "fetches.retried", source, {"jobs": retried}
    )
    return RetriedOut(retried=retried)
