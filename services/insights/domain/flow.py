"""Flow: where leads are now, as far as the events tell — waiting in a queue with nobody
free, on a running first-contact clock, or in a nurture sequence — and the dead letters
the consuming services hold (read off their dead-letter topics, ``dead_letters.py``):
per service all of them, whatever the filters (most are about no lead the filters could
select), and how many of the selected leads have at least one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from typing import Any

from services.insights.domain.facts import LeadFact
from services.insights.domain.filters import label


def flow(
    facts: Sequence[LeadFact],
    dead_letters: Mapping[str, int] | None = None,
    leads_with_letters: Set[str] = frozenset(),
) -> dict[str, Any]:
    """``dead_letters``: letters per consuming service (every one named, 0 when none);
    ``leads_with_letters``: the leads some letter is about."""
    letters = dict(sorted((dead_letters or {}).items()))
    waiting = Counter(label(f.placement_queue) for f in facts if f.placement == "waiting")
    running = Counter(label(f.queue) for f in facts if f.sla_running)
    return {
        "waiting": sum(waiting.values()),
        "waiting_by_queue": dict(sorted(waiting.items())),
        "sla_running": sum(running.values()),
        "sla_running_by_queue": dict(sorted(running.items())),
        "nurture_active": sum(1 for f in facts if f.nurture_active),
        "snoozed": sum(1 for f in facts if f.placement == "snoozed"),
        "dead_letters": sum(letters.values()),
        "dead_letters_by_service": letters,
        "dead_letter_leads": sum(1 for f in facts if f.lead_id in leads_with_letters),
    }


def breaches_by_queue(facts: Sequence[LeadFact]) -> dict[str, int]:
    """Missed first-contact deadlines of the leads now in each queue (the dashboard's
    queues page; a reassigned lead's earlier breach counts in the queue it is in now)."""
    out: dict[str, int] = {}
    for fact in facts:
        if fact.queue is not None and fact.breaches:
            out[fact.queue] = out.get(fact.queue, 0) + fact.breaches
    return dict(sorted(out.items()))
