"""What the insights routes, jobs and consumer are given, built in :mod:`services.insights.main`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.insights.domain.facts import FactRules
from services.insights.domain.value import CampaignCost
from shared.service import Runtime, get_runtime


@dataclass(frozen=True)
class Deps:
    rules: FactRules  # how lead facts are folded (late follow-up threshold)
    costs: tuple[CampaignCost, ...]  # campaign costs from the config
    min_sample: int  # leads before a rep or team is marked high or low
    stopped_after: int = 3  # unanswered touches after a response before a lead stopped responding
    max_hold_s: float = 30.0  # the longest events wait before they are applied (pages say it)


InsightsRuntime = Runtime[Deps]
RuntimeDep = Annotated[InsightsRuntime, Depends(get_runtime)]
