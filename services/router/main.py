"""Composition root of the router service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.router import admin, api, handlers, jobs
from services.router.config import Settings, load_routing
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    routing = load_routing(settings.config_file)  # an invalid file stops the start here
    source = handlers.VersionedRouting(routing)
    spec = ServiceSpec(
        name="router",
        version="1.0.0",
        description="Routes scored leads to a department/region queue and a rep, with the"
        " decision trace; sends not-ready leads to nurture; keeps first-contact SLAs (warning,"
        " breach, reassignment, escalation) and per-rep figures. The routing config is"
        " versioned and audited; /v1/admin changes it at runtime.",
        migrations=MIGRATIONS,
        routers=[api.router, admin.router],
        consumes=topics_consumed_by("router"),
        make_handler=lambda runtime: handlers.make_batch_handler(source),
        erase=handlers.erase_leads,
        background=[jobs.assign_waiting_leads, jobs.fire_sla_timers],
        resources=[jobs.versioned_config],
        state={
            "routing": source,
            "sla_tick_s": settings.sla_tick_s,
            "handover_retry_s": settings.waiting_retry_s,
        },
    )
    return create_service_app(spec, settings)
