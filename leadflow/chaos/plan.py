"""Which processes the chaos run kills, in which order, and when: pure rules."""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("capture", "scorer", "router", "nurture", "notifier")
# The order of a full run: every service, then PostgreSQL, then the broker twice.
ALL = (*SERVICES, "postgres", "broker-long", "broker-short")


@dataclass(frozen=True)
class Fault:
    """SIGKILL ``target`` (a child of the stack) and keep it down at least ``down_s``
    (0: the supervisor restarts it after its normal back-off)."""

    name: str  # as the user wrote it, e.g. broker-long
    target: str  # the child process: a service, postgres or broker
    down_s: float = 0.0


def parse_faults(text: str, broker_long_s: float, broker_short_s: float) -> list[Fault]:
    """``all``, ``services`` or a comma-separated list of services, ``postgres``,
    ``broker-long``, ``broker-short`` and ``broker`` (both), kept in the order given."""
    faults: list[Fault] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        names = {"all": ALL, "services": SERVICES, "broker": ("broker-long", "broker-short")}
        for name in names.get(token, (token,)):
            if name in SERVICES or name == "postgres":
                faults.append(Fault(name, name))
            elif name == "broker-long":
                faults.append(Fault(name, "broker", broker_long_s))
            elif name == "broker-short":
                faults.append(Fault(name, "broker", broker_short_s))
            else:
                choices = ", ".join(("all", "services", *ALL, "broker"))
                raise ValueError(f"unknown target {name!r}; choose from {choices}")
    return faults


# What a kill without a hold costs before the next one may start: the supervisor's first
# back-off (1 s) and the restart, then the services ready again.
MIN_OUTAGE_S = 4.0


def fault_times(load_s: float, downs: list[float]) -> list[float]:
    """When each fault starts, in seconds after the load starts: the outages (each at least
    :data:`MIN_OUTAGE_S`) are spread over the load with equal gaps before, between and after
    them, so every kill happens while leads are coming in. A fault still waits for the one
    before it to be over (see :mod:`leadflow.chaos.run`)."""
    outages = [max(d, MIN_OUTAGE_S) for d in downs]
    gap = max(0.0, load_s - sum(outages)) / (len(outages) + 1)
    return [gap * (i + 1) + sum(outages[:i]) for i in range(len(outages))]
