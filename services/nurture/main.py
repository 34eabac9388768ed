"""Composition root of the nurture service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.nurture import api, followup_jobs, handlers, jobs, store
from services.nurture.config import Settings, load_nurture_config
from services.nurture.deps import Deps
from shared.clock import Clock
from shared.clock import now as real_now
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def service_clock(settings: Settings, clock: Clock | None = None) -> Clock:
    """The clock handlers and timers read: a test's, else ``fixed_now``, else the real one."""
    fixed = settings.fixed_now
    return clock or ((lambda: fixed) if fixed is not None else real_now)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """The service; ``clock`` (tests) or ``fixed_now`` (settings) replace the real clock."""
    settings = settings or Settings()
    config = load_nurture_config(settings.config_file)
    now = service_clock(settings, clock)
    deps = Deps(rules=config.to_domain(), followups=config.followup_rules(), clock=now)
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
        make_handler=lambda runtime: handlers.make_batch_handler(
            runtime.deps.rules, runtime.deps.followups, runtime.deps.clock
        ),
        jobs=[
            jobs.firing_due_steps(settings.tick_s, now),
            followup_jobs.running_followups(settings.tick_s, now),
        ],
    )
    return create_service_app(spec, settings)
