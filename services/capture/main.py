"""Composition root of the capture service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.capture import jobs
from services.capture.api import activities, fetches, leads, sources
from services.capture.config import Settings, load_capture
from services.capture.deps import Deps
from services.capture.intake import IntakeBatcher, running_intake
from services.capture.sources import fetch_jobs
from services.capture.sources.ingest import Catalog
from shared.auth.ratelimit import Limit
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    loaded = load_capture(settings.config_file)  # an invalid section stops the start
    deps = Deps(
        catalog=Catalog.of(loaded.sources),
        match_rules=loaded.match_rules,
        intake=IntakeBatcher(),
        fetcher=fetch_jobs.Fetcher(settings.fetch_policy()),
        source_limit=Limit(settings.source_rate_limit_per_s, settings.source_rate_limit_burst),
    )
    spec = ServiceSpec(
        name="capture",
        version="1.0.0",
        description="HTTP intake: validates, normalises and dedupes leads and activities,"
        " and announces them on Kafka once they are durably stored.",
        migrations=MIGRATIONS,
        deps=deps,
        routers=[leads.router, activities.router, sources.router, fetches.router],
        resources=[running_intake, jobs.running_sources(loaded.error)],
        jobs=[
            jobs.PURGING_REPLAYS,
            jobs.PURGING_ANSWERS,
            fetch_jobs.fetching_due_jobs(deps.fetcher, settings.fetch_tick_s),
            fetch_jobs.watching_fetch_backlog(settings.fetch_metrics_s),
        ],
        body_limits={"/v1/leads:batch": 8 * 1_048_576, **sources.csv_limits(loaded.sources)},
    )
    return create_service_app(spec, settings)
