"""Which queue a lead belongs to: the first routing rule whose condition holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.router.domain.model import Routing
from shared.conditions import evaluate

DEFAULT_RULE = "default"


def lead_facts(profile: Mapping[str, Any], *, score: float, bucket: str) -> dict[str, Any]:
    """Rules see the lead profile plus its current ``score`` and ``bucket``."""
    return {**profile, "score": score, "bucket": bucket}


def match_rule(facts: Mapping[str, Any], routing: Routing) -> tuple[str, str]:
    """Rules are tried in order and the first match wins; no match goes to the default queue."""
    for rule in routing.rules:
        if evaluate(rule.when, facts):
            return rule.name, rule.queue
    return DEFAULT_RULE, routing.default_queue
