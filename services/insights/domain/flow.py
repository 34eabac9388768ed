"""Flow: where leads are now, as far as the events tell — waiting in a queue with nobody
free, on a running first-contact clock, or in a nurture sequence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from services.insights.domain.facts import LeadFact
from services.insights.domain.filters import label


def flow(facts: Sequence[LeadFact]) -> dict[str, Any]:
    waiting = Counter(label(f.placement_queue) for f in facts if f.placement == "waiting")
    running = Counter(label(f.queue) for f in facts if f.sla_running)
    return {
        "waiting": sum(waiting.values()),
        "waiting_by_queue": dict(sorted(waiting.items())),
        "sla_running": sum(running.values()),
        "sla_running_by_queue": dict(sorted(running.items())),
        "nurture_active": sum(1 for f in facts if f.nurture_active),
        "snoozed": sum(1 for f in facts if f.placement == "snoozed"),
    }


def breaches_by_queue(facts: Sequence[LeadFact]) -> dict[str, int]:
    """Missed first-contact deadlines of the leads now in each queue (the dashboard's
    queues page; a reassigned lead's earlier breach counts in the queue it is in now)."""
    out: dict[str, int] = {}
    for fact in facts:
        if fact.queue is not None and fact.breaches:
            out[fact.queue] = out.get(fact.queue, 0) + fact.breaches
    return dict(sorted(out.items()))
