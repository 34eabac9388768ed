"""What the scorer's routes, jobs and consumer are given: its dependencies, typed, built in
:mod:`services.scorer.main`, and the ``Annotated`` aliases routes declare them with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.scorer import domain
from services.scorer.config import ScoringConfig
from shared.service import Runtime, get_runtime


@dataclass(frozen=True)
class Deps:
    model: domain.ScoringModel  # what scores are computed with
    config: ScoringConfig  # the same model as configured, shown by GET /v1/scoring/model


ScorerRuntime = Runtime[Deps]
RuntimeDep = Annotated[ScorerRuntime, Depends(get_runtime)]


async def _model(runtime: RuntimeDep) -> domain.ScoringModel:
    return runtime.deps.model


async def _config(runtime: RuntimeDep) -> ScoringConfig:
    return runtime.deps.config


ModelDep = Annotated[domain.ScoringModel, Depends(_model)]
ConfigDep = Annotated[ScoringConfig, Depends(_config)]
