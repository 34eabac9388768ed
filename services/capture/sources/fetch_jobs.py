"""Fetch jobs: records that notifications only point at, fetched durably from vendors' APIs.

A notification is answered 2xx once its jobs are committed (:func:`schedule`). The background
job (:func:`fetch_due_jobs`) claims due jobs (``FOR UPDATE SKIP LOCKED``; several replicas may
run it), fetches each record with the source's credentials, reads it with the source's parser
and stores the lead exactly like any vendor lead (cleaning, identity, dedupe, outbox). The job
is marked done in the transaction that stores the lead, fenced by its attempt number, so a job
that runs twice never makes two leads. A failure is retried with capped exponential back-off;
a refusal ends the job (``failed`` / ``not_found``) with the reason. Counted in Prometheus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import Counter, Gauge

from services.capture import intake
from services.capture.sources import fetch_rules, vendor_api
from services.capture.sources.base import InboundRequest, PayloadError
from services.capture.sources.fetch_rules import (
    ApiAnswer,
    RetryPolicy,
    Vendor,
    linkedin_form_outdated,
)
from services.capture.sources.ingest import Catalog, clean_all
from services.capture.sources.model import Source
from services.capture.sources.notifications import FETCH_KINDS, Notice, linkedin_form_of
from services.capture.store import fetch_jobs as fetch_store
from shared import clock
from shared.periodic import Job

if TYPE_CHECKING:
    from services.capture.deps import CaptureRuntime

log = logging.getLogger(__name__)

CLAIM_LIMIT = 50
CONCURRENCY = 8

FETCHED = Counter(
    "leadflow_capture_fetches_total",
    "Records fetched from a vendor's API and stored as leads",
    ["source", "vendor"],
)
RETRIED = Counter(
    "leadflow_capture_fetch_retries_total",
    "Failed fetches that will be retried (API down, overloaded, rate-limiting)",
    ["source", "vendor"],
)
FAILED = Counter(
    "leadflow_capture_fetch_failures_total",
    "Fetch jobs ended without a lead: status failed (refused, unreadable) or not_found",
    ["source", "vendor", "status"],
)
PENDING = Gauge(
    "leadflow_capture_fetch_jobs_pending", "Fetch jobs not finished yet", ["source", "vendor"]
)
DUE = Gauge(
    "leadflow_capture_fetch_jobs_due",
    "Pending fetch jobs whose time has come",
    ["source", "vendor"],
)


class Fetcher:
    """What the fetch jobs share: the retry policy, the wake-up a scheduled job sets, a lock
    per LinkedIn form (fetched once however many jobs need it), and the HTTP client for the
    vendors' APIs, open while the service runs (:meth:`running`)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.wakeup = asyncio.Event()
        self.form_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the vendors' HTTP client is open only while capture runs")
        return self._http

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # httpx logs each request URL at INFO; the Graph API token travels in the query.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        async with httpx.AsyncClient(follow_redirects=False) as http:
            self._http = http
            try:
                yield
            finally:
                self._http = None


async def schedule(
    runtime: CaptureRuntime, source: Source, notice: Notice, now: datetime
) -> tuple[list[fetch_store.Job], set[str]]:
    """Commit a job per record the notification points at; wake the fetcher."""
    refetch = FETCH_KINDS[source.kind] == "hubspot"  # contacts change; leads do not
    async with runtime.engine.begin() as conn:
        jobs, fresh = await fetch_store.schedule(
            conn, source.name, notice.refs, now, refetch=refetch
        )
    if fresh:
        runtime.deps.fetcher.wakeup.set()
    return jobs, fresh


async def retry_failed(runtime: CaptureRuntime, source: Source) -> int:
    """An operator's "try again" for the source's failed jobs (after fixing a token, say)."""
    async with runtime.engine.begin() as conn:
        count = await fetch_store.retry_failed(conn, source.name, clock.now())
    if count:
        runtime.deps.fetcher.wakeup.set()
    return count


async def fetch_due_jobs(runtime: CaptureRuntime) -> bool:
    """A round of the fetch job; True when it claimed its limit (more may be due)."""
    return await run_due_once(runtime, clock.now()) >= CLAIM_LIMIT


def fetching_due_jobs(fetcher: Fetcher, tick_s: float) -> Job[CaptureRuntime]:
    """Every tick (or at once when a notification scheduled a job), run the due jobs."""
    return Job("running fetch jobs", tick_s, fetch_due_jobs, wakeup=fetcher.wakeup)


def watching_fetch_backlog(every_s: float) -> Job[CaptureRuntime]:
    """Keep the pending/due gauges true, on a timer (also for jobs no worker is running)."""
    seen: set[tuple[str, str]] = set()

    async def count(runtime: CaptureRuntime) -> None:
        async with runtime.engine.connect() as conn:
            counts = await fetch_store.backlog(conn, clock.now())
        for labels in seen | set(counts):
            pending, due = counts.get(labels, (0, 0))
            PENDING.labels(*labels).set(pending)
            DUE.labels(*labels).set(due)
        seen.update(counts)

    return Job("counting fetch jobs", every_s, count)


async def run_due_once(runtime: CaptureRuntime, now: datetime) -> int:
    """Claim and run the jobs due by ``now``; return how many were claimed."""
    policy = runtime.deps.fetcher.policy
    async with runtime.engine.begin() as conn:
        jobs = await fetch_store.claim_due(conn, now, now + fetch_rules.LEASE, CLAIM_LIMIT)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(job: fetch_store.Job) -> None:
        async with gate:
            try:
                await _run(runtime, job, policy)
            except Exception:  # the lease runs out and the job is claimed again
                log.warning("fetch job %s crashed", job.job_id, exc_info=True)

    await asyncio.gather(*(run(job) for job in jobs))
    return len(jobs)


async def _run(runtime: CaptureRuntime, job: fetch_store.Job, policy: RetryPolicy) -> None:
    catalog = runtime.deps.catalog
    vendor: Vendor = _vendor(job.vendor)
    source = catalog.get(job.source)
    try:
        if source is None or source.fetch_api is None:
            what = "is no longer configured" if source is None else "has no API settings"
            raise vendor_api.FetchFailed(ApiAnswer(None), f"source {job.source!r} {what}")
        raws = await _fetch(runtime, catalog, source, job)
    except vendor_api.FetchFailed as exc:
        verdict = fetch_rules.verdict(vendor, exc.answer)
        jitter = random.uniform(0, fetch_rules.MAX_JITTER)
        status, due = fetch_rules.next_state(
            verdict, job.attempts, job.retry_since, clock.now(), jitter, policy
        )
        await _end(runtime, job, status, exc.message, due)
        return
    except PayloadError as exc:
        await _end(runtime, job, "failed", f"the record is not the vendor's shape: {exc}")
        return
    valid, rejected = clean_all(raws, source)
    if not valid:
        problems = "; ".join(
            f"{p.field}: {p.problem}" for o in rejected.values() for p in o.problems
        )
        await _end(runtime, job, "failed", f"invalid_lead: {problems or 'no lead in the record'}")
        return
    await _store(runtime, job, [lead for _, lead in valid])


async def _fetch(
    runtime: CaptureRuntime, catalog: Catalog, source: Source, job: fetch_store.Job
) -> list[dict[str, Any]]:
    """The record from the vendor's API, read by the source's parser, with the notification's
    ids (page, form, ad, portal) added to the lead's attributes."""
    api = source.fetch_api
    assert api is not None
    if job.vendor == "meta":
        body = await vendor_api.meta_lead(runtime.deps.fetcher.http, api, job.record_id)
    elif job.vendor == "hubspot":
        body = await vendor_api.hubspot_contact(runtime.deps.fetcher.http, api, job.record_id)
    else:
        response = await vendor_api.linkedin_response(runtime.deps.fetcher.http, api, job.record_id)
        if isinstance(response, dict) and "form" not in response:
            form_id, version = linkedin_form_of(response.get("versionedLeadGenFormUrn"))
            form_id = form_id or job.context.get("form_id")
            form = None
            if form_id:
                form = await _linkedin_form(runtime, catalog, source, form_id, version)
            if form is not None:
                response = {**response, "form": form}
        body = json.dumps(response).encode()
    raws = catalog.parsers[source.name](InboundRequest(body=body))
    extra = {k: v for k, v in job.context.items() if k != "form_urn"}
    for raw in raws:
        if isinstance(raw, dict):  # an unreadable lead stays as the parser left it
            raw["attributes"] = {**extra, **(raw.get("attributes") or {})}
    return raws


async def _linkedin_form(
    runtime: CaptureRuntime, catalog: Catalog, source: Source, form_id: str, version: int | None
) -> Any | None:
    """The form's definition: from capture's cache, else fetched once and cached (again when
    the response names a version the cached one is not). A form that cannot be had (refused,
    unknown) leaves the answers under their question ids; an outage retries the job. Jobs of
    one form running at once wait for each other here, so the form is fetched once."""
    locks = runtime.deps.fetcher.form_locks
    async with locks.setdefault((source.name, form_id), asyncio.Lock()):
        return await _linkedin_form_locked(runtime, catalog, source, form_id, version)


async def _linkedin_form_locked(
    runtime: CaptureRuntime, catalog: Catalog, source: Source, form_id: str, version: int | None
) -> Any | None:
    async with runtime.engine.connect() as conn:
        cached = await fetch_store.cached_form(conn, source.name, form_id)
    if isinstance(cached, dict) and not linkedin_form_outdated(cached, version):
        return cached
    api = source.fetch_api
    assert api is not None
    try:
        form = await vendor_api.linkedin_form(runtime.deps.fetcher.http, api, form_id)
    except vendor_api.FetchFailed as exc:
        if fetch_rules.verdict("linkedin", exc.answer) == "retry":
            raise
        log.warning("linkedin form %s not available: %s", form_id, exc.message)
        return None
    if not isinstance(form, dict):
        return None
    async with runtime.engine.begin() as conn:
        await fetch_store.cache_form(conn, source.name, form_id, form, clock.now())
    return form


async def _store(runtime: CaptureRuntime, job: fetch_store.Job, leads: list[Any]) -> None:
    """The lead through capture's intake, the job marked done in the same transaction."""
    now = clock.now()
    uow = runtime.uow()
    async with uow:
        results = await intake.capture(
            uow, leads, now, runtime.deps.match_rules, [f"source:{job.source}"] * len(leads)
        )
        if not await fetch_store.finish(uow.conn, job, "done", now, lead_id=results[0].lead_id):
            log.info("fetch job %s was claimed again meanwhile; nothing stored twice", job.job_id)
            return
        await uow.commit()
    FETCHED.labels(job.source, job.vendor).inc()


async def _end(
    runtime: CaptureRuntime,
    job: fetch_store.Job,
    status: str,
    error: str,
    due_at: datetime | None = None,
) -> None:
    async with runtime.engine.begin() as conn:
        if not await fetch_store.finish(conn, job, status, clock.now(), error=error, due_at=due_at):
            return
    if status == "pending":
        RETRIED.labels(job.source, job.vendor).inc()
        log.info("fetch job %s will retry: %s", job.job_id, error)
    else:
        FAILED.labels(job.source, job.vendor, status).inc()
        log.warning("fetch job %s ended %s: %s", job.job_id, status, error)


def _vendor(name: str) -> Vendor:
    if name == "meta":
        return "meta"
    if name == "hubspot":
        return "hubspot"
    if name == "linkedin":
        return "linkedin"
    raise ValueError(f"unknown vendor {name!r}")
