"""Composition root of the insights service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.insights import api, dead_letters, handlers, jobs
from services.insights.config import Settings, load_insights_config
from services.insights.deps import Deps
from services.insights.store import facts as store
from services.insights.web import pages, session
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    config = load_insights_config(settings.config_file)
    deps = Deps(
        config.fact_rules(), config.costs(), config.performers_min_sample,
        config.stopped_responding_after, settings.apply_max_hold_s,
    )  # fmt: skip
    spec = ServiceSpec(
        name="insights",
        version="1.0.0",
        description="The read model of every lead event: speed to lead, the conversion funnel,"
        " deal value and campaign returns, effort, per-rep and per-team accountability, flow.",
        migrations=MIGRATIONS,
        deps=deps,
        routers=[api.router, session.router, pages.router],
        consumes=topics_consumed_by("insights"),
        make_handler=lambda runtime: handlers.make_batch_handler(runtime.deps.rules),
        erase=lambda uow, lead_ids: store.erase(uow.conn, lead_ids),
        settling=settings.settling(),
        jobs=[
            jobs.measuring_headlines(settings.gauges_interval_s),
            dead_letters.counting_dead_letters(settings.gauges_interval_s),
        ],
    )
    app = create_service_app(spec, settings)
    session.install(app)  # a page refused for want of a credential goes to /login
    return app
