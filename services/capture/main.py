"""Composition root of the capture service."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.capture import api, sources_api
from services.capture.config import Settings, load_capture_config, to_domain
from services.capture.intake import running_intake
from services.capture.matching import MatchRule
from services.capture.sources import replays
from services.capture.sources.fetch_jobs import fetch_due_jobs, watch_fetch_backlog
from services.capture.sources.ingest import Catalog, build_parsers
from services.capture.sources.model import Sources
from shared import clock
from shared.config import ConfigError
from shared.service import Resource, Runtime, ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    match_rules: tuple[MatchRule, ...] = ()
    try:
        config = load_capture_config(settings.config_file)
        sources: Sources | ConfigError = to_domain(config, os.environ)
        match_rules = config.match_rules()
    except ConfigError as exc:  # refuse to start (in the lifespan), not to build the app
        sources = exc
    csv_limits = {}
    if isinstance(sources, Sources):
        csv_limits = {
            f"/v1/sources/{name}/csv": sources.csv.max_bytes
            for name, source in sources.by_name.items()
            if source.auth.type == "api_key"
        }
    spec = ServiceSpec(
        name="capture",
        version="1.0.0",
        description="HTTP intake: validates, normalises and dedupes leads and activities,"
        " and announces them on Kafka once they are durably stored.",
        migrations=MIGRATIONS,
        routers=[api.router, sources_api.router],
        resources=[running_intake, running_sources(sources)],
        background=[purge_replays_forever, fetch_due_jobs, watch_fetch_backlog],
        body_limits={"/v1/leads:batch": 8 * 1_048_576, **csv_limits},
        state={
            "match_rules": match_rules,
            "fetch_tick_s": settings.fetch_tick_s,
            "fetch_metrics_s": settings.fetch_metrics_s,
            "fetch_policy": settings.fetch_policy(),
            "fetch_wakeup": asyncio.Event(),
        },
    )
    return create_service_app(spec, settings)


def running_sources(sources: Sources | ConfigError) -> Resource:
    """The sources and their parsers as ``runtime.state['sources']``, with the HTTP client
    the fetch jobs use for the vendors' APIs. A config error stops the service here."""

    @asynccontextmanager
    async def run(runtime: Runtime) -> AsyncIterator[None]:
        if isinstance(sources, ConfigError):
            raise sources
        for source in sources.by_name.values():
            if not source.ready:
                log.warning("source %s is not ready: %s", source.name, "; ".join(source.problems))
        # httpx logs each request URL at INFO; the Graph API token travels in the query.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        async with httpx.AsyncClient(follow_redirects=False) as http:
            runtime.state["sources"] = Catalog(sources, build_parsers(sources), http)
            yield

    return run


async def purge_replays_forever(runtime: Runtime) -> None:
    """Forget signed message ids once their timestamp could no longer pass the check."""
    while True:
        await asyncio.sleep(60)
        try:
            removed = await replays.purge(runtime.engine, clock.now())
            if removed:
                log.info("purged %d replay id(s) past their window", removed)
        except Exception:
            log.warning("replay purge failed; will retry", exc_info=True)
