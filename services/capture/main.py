"""Composition root of the capture service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.capture import api
from services.capture.config import Settings
from services.capture.intake import running_intake
from shared.service import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    spec = ServiceSpec(
        name="capture",
        version="1.0.0",
        description="HTTP intake: validates, normalises and dedupes leads and activities,"
        " and announces them on Kafka once they are durably stored.",
        migrations=MIGRATIONS,
        routers=[api.router],
        resources=[running_intake],
        body_limits={"/v1/leads:batch": 8 * 1_048_576},
    )
    return create_service_app(spec, settings)
