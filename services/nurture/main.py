"""Composition root of the nurture service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.nurture import api, handlers, jobs, store
from services.nurture.config import Settings, load_nurture_config
from services.nurture.deps import Deps
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    deps = Deps(rules=load_nurture_config(settings.config_file).to_domain())
    spec = ServiceSpec(
        name="nurture",
        version="1.0.0",
        description="Nurture sequences for leads that are not sales-ready: plans each lead's"
        " touches from its bucket's cadence, announces them when due (durable timers), and"
        " stops when the lead responds, opts out or gets a rep.",
        migrations=MIGRATIONS,
        routers=[api.router],
        consumes=topics_consumed_by("nurture"),
        erase=lambda uow, lead_ids: store.erase(uow.conn, lead_ids),
        deps=deps,
        make_handler=lambda runtime: handlers.make_batch_handler(runtime.deps.rules),
        jobs=[jobs.firing_due_steps(settings.tick_s)],
    )
    return create_service_app(spec, settings)
