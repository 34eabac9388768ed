"""What the notifier's routes, delivery worker and consumer are given: its dependencies,
typed, built in :mod:`services.notifier.main`, and the ``Annotated`` aliases routes declare
them with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.notifier.config import NotifierConfig
from services.notifier.delivery import DeliverySettings
from services.notifier.handoff import DeliveryHandoff
from shared.service import Runtime, get_runtime


@dataclass(frozen=True)
class Deps:
    config: NotifierConfig  # the subscriptions as configured, shown by GET /v1/subscriptions
    delivery: DeliverySettings  # the rules and how the worker runs
    handoff: DeliveryHandoff  # new deliveries, from the consumer to the worker in memory


NotifierRuntime = Runtime[Deps]
RuntimeDep = Annotated[NotifierRuntime, Depends(get_runtime)]


async def _config(runtime: RuntimeDep) -> NotifierConfig:
    return runtime.deps.config


ConfigDep = Annotated[NotifierConfig, Depends(_config)]
