"""Composition root of the scorer service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from services.scorer import api, handlers, jobs, store
from services.scorer.config import Settings, build_scoring_model, load_scorer_config
from services.scorer.deps import Deps
from shared.contracts.topics import topics_consumed_by
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    config = load_scorer_config(settings.config_file)  # an invalid model stops start-up
    deps = Deps(model=build_scoring_model(config), config=config)
    spec = ServiceSpec(
        name="scorer",
        version="1.0.0",
        description="Scores leads (fit plus decaying engagement), buckets them, and announces"
        " each score with its contributing rules, and each lead that reaches the threshold.",
        migrations=MIGRATIONS,
        routers=[api.router],
        consumes=topics_consumed_by("scorer"),
        deps=deps,
        make_handler=lambda runtime: handlers.make_batch_handler(runtime.deps.model),
        erase=lambda uow, lead_ids: store.erase(uow.conn, lead_ids),
        jobs=[jobs.rescoring(timedelta(seconds=settings.rescore_after_s))],
    )
    return create_service_app(spec, settings)
