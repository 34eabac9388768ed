"""The ``routing`` section of the config file: reps, queues, rules, default queue, nurture.

The pydantic models (:mod:`.model`) only validate; :func:`to_domain` turns them into the
frozen values in :mod:`services.router.domain`, which never imports pydantic. Every problem
is reported at its key, e.g. ``routing.queues[1].members[0]: unknown rep 'zed'``. A queue's
first-contact SLA block is in :mod:`.sla`, reps in :mod:`.reps`, existing-owner match in
:mod:`.owners`; the JSON form of a version in :mod:`.document`, admin changes in
:mod:`.changes`; the shared field types and error helpers in :mod:`.fields`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from services.router.config.model import QueueModel, RoutingConfig, RuleModel, to_domain
from services.router.config.reps import RepModel
from services.router.domain import Routing
from shared.config import ServiceSettings, duration_text, load_section, parse_duration

SECTION = "routing"

__all__ = [
    "SECTION",
    "QueueModel",
    "RepModel",
    "RoutingConfig",
    "RuleModel",
    "Settings",
    "duration_text",
    "load_router_config",
    "load_routing",
    "parse_duration",
    "to_domain",
]


class Settings(ServiceSettings):
    """Where the router runs; queues, reps and rules come from the YAML config file (and
    the admin API's later versions of it, stored in the router's schema)."""

    service_name: str = "router"
    port: int = 8002
    waiting_retry_s: float = Field(
        default=2.0,
        gt=0,
        description="How often waiting leads, and breached leads nobody could take yet, are"
        " offered again",
    )
    sla_tick_s: float = Field(
        default=1.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds between scans for due SLA warnings and breaches",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token the admin API's writes need (LEADFLOW_ADMIN_TOKEN); unset:"
        " writes are accepted only from this machine (loopback), and a warning is logged",
    )


def load_router_config(path: Path) -> RoutingConfig:
    """Read and validate the ``routing`` section; raises ConfigError naming file and key."""
    return load_section(path, SECTION, RoutingConfig)


def load_routing(path: Path) -> Routing:
    return to_domain(load_router_config(path))
