"""The six services, as a plain table: name, default port, and the module whose
``create_app``, ``Settings`` and ``MIGRATIONS`` run it. The CLI's only map of them.

A row names its module instead of importing it so ``leadflow run scorer`` loads only the
scorer's code (importing all five costs ~0.4 s per process, measured).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shared.config import ServiceSettings


@dataclass(frozen=True)
class Service:
    name: str
    port: int  # the default; ``leadflow up --port`` moves the block
    main: str  # the service's composition root (main.py)


SERVICES: tuple[Service, ...] = (
    Service("capture", 8000, "services.capture.main"),
    Service("scorer", 8001, "services.scorer.main"),
    Service("router", 8002, "services.router.main"),
    Service("nurture", 8003, "services.nurture.main"),
    Service("notifier", 8004, "services.notifier.main"),
    Service("insights", 8006, "services.insights.main"),
)
DEFAULT_PORTS = {s.name: s.port for s in SERVICES}
# Ports a deployment's services span from capture's (8000..8006: 8005 is left free).
PORT_SPAN = max(DEFAULT_PORTS.values()) - DEFAULT_PORTS["capture"] + 1


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    settings_cls: type[ServiceSettings]
    create_app: Callable[[Any], FastAPI]
    migrations: Path


def service_entry(name: str) -> ServiceEntry:
    row = next((s for s in SERVICES if s.name == name), None)
    if row is None:
        raise SystemExit(f"unknown service {name!r}; choose one of: {', '.join(DEFAULT_PORTS)}")
    main = importlib.import_module(row.main)
    return ServiceEntry(name, main.Settings, main.create_app, main.MIGRATIONS)


def available_services() -> list[str]:
    """Every service's name, in start order."""
    return [s.name for s in SERVICES]
