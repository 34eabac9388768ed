"""What nurture's routes, jobs and consumer are given: its dependencies, typed, built in
:mod:`services.nurture.main`, and the ``Annotated`` aliases routes declare them with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from services.nurture import domain
from services.nurture.followup_handlers import FollowupRules
from shared import clock
from shared.service import Runtime, get_runtime


@dataclass(frozen=True)
class Deps:
    rules: domain.NurtureRules  # the sequences and stop reasons from the config
    followups: FollowupRules = field(default_factory=FollowupRules)  # plans, contact rules
    clock: clock.Clock = clock.now  # what time it is for handlers and timers (tests fix it)


NurtureRuntime = Runtime[Deps]
RuntimeDep = Annotated[NurtureRuntime, Depends(get_runtime)]


async def _rules(runtime: RuntimeDep) -> domain.NurtureRules:
    return runtime.deps.rules


RulesDep = Annotated[domain.NurtureRules, Depends(_rules)]
