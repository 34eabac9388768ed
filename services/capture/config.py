"""Capture's settings."""

from __future__ import annotations

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "capture"
    port: int = 8000
