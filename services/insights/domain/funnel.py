"""Conversion funnel: lead -> MQL -> SQL -> opportunity -> won, with counts and rates.

``step_rates`` divide each stage by the one before it; ``lead_rates`` by the leads. Lost
reasons count the leads whose latest outcome is a loss.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from services.insights.domain.facts import STAGES, LeadFact, reached
from services.insights.domain.filters import label
from services.insights.domain.stats import rate

DIMENSIONS: dict[str, Callable[[LeadFact], str | None]] = {
    "source": lambda f: f.source,
    "channel": lambda f: f.channel,
    "campaign": lambda f: f.campaign,
    "rep": lambda f: f.rep_id,
    "queue": lambda f: f.queue,
    "bucket": lambda f: f.bucket,
}


def funnel(facts: Sequence[LeadFact]) -> dict[str, Any]:
    counts = {stage: sum(1 for f in facts if reached(f, stage)) for stage in STAGES}
    return {
        "counts": counts,
        "lost": sum(1 for f in facts if f.lost_at is not None),
        "step_rates": {
            stage: rate(counts[stage], counts[STAGES[i - 1]]) for i, stage in enumerate(STAGES) if i
        },
        "lead_rates": {stage: rate(counts[stage], counts["lead"]) for stage in STAGES[1:]},
    }


def lost_reasons(facts: Sequence[LeadFact]) -> list[dict[str, Any]]:
    """Reasons by count, most frequent first (then by name)."""
    counted = Counter(label(f.lost_reason) for f in facts if f.lost_at is not None)
    return [
        {"reason": reason, "leads": n}
        for reason, n in sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    ]


def funnel_report(facts: Sequence[LeadFact]) -> dict[str, Any]:
    by: dict[str, dict[str, Any]] = {}
    for name, key in DIMENSIONS.items():
        groups: dict[str, list[LeadFact]] = {}
        for fact in facts:
            groups.setdefault(label(key(fact)), []).append(fact)
        by[name] = {value: funnel(members) for value, members in sorted(groups.items())}
    return {"overall": funnel(facts), "by": by, "lost_reasons": lost_reasons(facts)}
