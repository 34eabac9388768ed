"""Where each service's app factory, settings and migrations are: the CLI's only map of them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shared.config import ServiceSettings
from shared.contracts.topics import SERVICES

DEFAULT_PORTS = {"capture": 8000, "scorer": 8001, "router": 8002, "nurture": 8003, "notifier": 8004}
SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    settings_cls: type[ServiceSettings]
    create_app: Callable[[Any], FastAPI]
    migrations: Path


def service_entry(name: str) -> ServiceEntry:
    if name not in SERVICES:
        raise SystemExit(f"unknown service {name!r}; choose one of: {', '.join(SERVICES)}")
    main = importlib.import_module(f"services.{name}.main")
    config = importlib.import_module(f"services.{name}.config")
    return ServiceEntry(name, config.Settings, main.create_app, SERVICES_DIR / name / "migrations")


def available_services() -> list[str]:
    """Services whose code is present (all five in a complete checkout)."""
    return [s for s in SERVICES if (SERVICES_DIR / s / "main.py").exists()]
