"""What the router's routes, jobs and consumer are given: its dependencies, typed, built in
:mod:`services.router.main`, and the ``Annotated`` aliases routes declare them with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.router.handlers.source import VersionedRouting
from shared.clock import Clock, now
from shared.service import Runtime, get_runtime


@dataclass(frozen=True)
class Deps:
    routing: VersionedRouting  # the routing config version in force, read from the database
    clock: Clock = now  # what time it is: the wall clock, or a fixed one (LEADFLOW_FIXED_CLOCK)


RouterRuntime = Runtime[Deps]
RuntimeDep = Annotated[RouterRuntime, Depends(get_runtime)]


async def _routing(runtime: RuntimeDep) -> VersionedRouting:
    return runtime.deps.routing


RoutingDep = Annotated[VersionedRouting, Depends(_routing)]


async def _clock(runtime: RuntimeDep) -> Clock:
    return runtime.deps.clock


ClockDep = Annotated[Clock, Depends(_clock)]
