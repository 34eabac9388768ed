"""Composition root of the router service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.router import api, jobs, ledger_api, stages_api, team_report
from services.router.admin import routes as admin_routes
from services.router.config.model import load_routing
from services.router.config.settings import Settings
from services.router.deps import Deps
from services.router.handlers.events import erase_leads, make_batch_handler
from services.router.handlers.source import VersionedRouting
from shared.clock import FixedClock, now
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    routing = load_routing(settings.config_file)  # an invalid file stops the start here
    waiting_retry = timedelta(seconds=settings.waiting_retry_s)  # waiting and breached leads
    fixed = settings.fixed_clock
    deps = Deps(routing=VersionedRouting(routing), clock=FixedClock(fixed) if fixed else now)
    spec = ServiceSpec(
        name="router",
        version="1.0.0",
        description="Routes scored leads to a department/region queue and a rep, with the"
        " decision trace; sends not-ready leads to nurture; keeps first-contact SLAs (warning,"
        " breach, reassignment, escalation) and per-rep figures. The routing config is"
        " versioned and audited; /v1/admin changes it at runtime.",
        migrations=MIGRATIONS,
        routers=[
            api.router,
            stages_api.router,
            team_report.router,
            ledger_api.router,
            admin_routes.router,
            ledger_api.admin_router,
        ],
        consumes=topics_consumed_by("router"),
        deps=deps,
        make_handler=lambda runtime: make_batch_handler(runtime.deps.routing, runtime.deps.clock),
        erase=erase_leads,
        jobs=[
            jobs.assigning_waiting_leads(waiting_retry),
            jobs.firing_sla_timers(settings.sla_tick_s, waiting_retry),
            jobs.recycling_leads(settings.cold_tick_s),
        ],
        resources=[jobs.versioned_config],
    )
    return create_service_app(spec, settings)
