"""The router's environment settings (``LEADFLOW_*``): where it runs and how often it
rescans; the routing config comes from the config file (:mod:`.model`)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    """Where the router runs; the routing config (queues, reps, rules) comes from the YAML
    config file (and the admin API's later versions of it, stored in the router's schema)."""

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
    cold_tick_s: float = Field(
        default=5.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds between scans for leads gone cold and for due recycles and snoozes",
    )
    fixed_clock: AwareDatetime | None = Field(
        default=None,
        description="Run on a fixed clock starting at this time (ISO 8601 with an offset)"
        " instead of the wall clock: decisions, SLA and gone-cold timers and snoozes all read"
        " it, and only the process's own code moves it (tests, demos). Unset: the wall clock",
    )
