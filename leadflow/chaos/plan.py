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


def fault_times(load_s: float, count: int) -> list[float]:
    """When each fault starts, in seconds after the load starts: spread evenly over the
    load so every kill happens while leads are coming in (a fault also waits for the one
    before it to be over, see :mod:`leadflow.chaos.run`)."""
    return [load_s * (i + 1) / (count + 1) for i in range(count)]
