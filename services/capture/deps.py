"""What capture's routes and jobs are given: its dependencies, typed, built in
:mod:`services.capture.main`, and the ``Annotated`` aliases routes declare them with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from services.capture.domain.identity import MatchRule
from services.capture.intake import IntakeBatcher
from services.capture.sources.fetch_jobs import Fetcher
from services.capture.sources.ingest import Catalog
from shared.auth.ratelimit import Limit
from shared.service import Runtime, get_runtime


@dataclass(frozen=True)
class Deps:
    catalog: Catalog  # the configured sources and their parsers
    match_rules: tuple[MatchRule, ...]  # which fields make two leads one person
    intake: IntakeBatcher  # group commit of single leads, writing while the service runs
    fetcher: Fetcher  # what the fetch jobs share (policy, wake-up, vendors' HTTP client)
    source_limit: Limit  # each vendor source's token bucket


CaptureRuntime = Runtime[Deps]
RuntimeDep = Annotated[CaptureRuntime, Depends(get_runtime)]


async def _catalog(runtime: RuntimeDep) -> Catalog:
    return runtime.deps.catalog


async def _intake(runtime: RuntimeDep) -> IntakeBatcher:
    return runtime.deps.intake


CatalogDep = Annotated[Catalog, Depends(_catalog)]
IntakeDep = Annotated[IntakeBatcher, Depends(_intake)]
