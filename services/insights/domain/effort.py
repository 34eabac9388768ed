"""Effort: how many touches a win took, whether leads answered, touches late or missed.

Touches are rep contact activities. Response rate is over contacted leads: a lead that
replied or booked a meeting at or after its first contact responded; the others never did.
A lead that responded and then let the next ``stopped_after`` touches go unanswered (that
many rep touches after its last response) stopped responding; its share is over contacted
leads too, so never responded + stopped responding + still responding = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.insights.domain.facts import LeadFact
from services.insights.domain.stats import percentile, rate

STOPPED_AFTER = 3  # the default of insights.stopped_responding_after


def effort(facts: Sequence[LeadFact], stopped_after: int = STOPPED_AFTER) -> dict[str, Any]:
    to_close = [f.touches_to_close for f in facts if f.touches_to_close is not None]
    contacted = [f for f in facts if f.first_contact_at is not None]
    responded = sum(1 for f in contacted if f.responded)
    stopped = sum(
        1
        for f in contacted
        if f.responded
        and f.touches_unanswered is not None
        and f.touches_unanswered >= stopped_after
    )
    return {
        "won": len(to_close),
        "touches_to_close_avg": rate(sum(to_close), len(to_close)),
        "touches_to_close_p50": percentile([float(n) for n in to_close], 50),
        "touches": sum(f.touches for f in facts),
        "contacted": len(contacted),
        "response_rate": rate(responded, len(contacted)),
        "never_responded": rate(len(contacted) - responded, len(contacted)),
        "stopped_responding": rate(stopped, len(contacted)),
        "stopped_responding_after": stopped_after,
        "late_touches": sum(f.late_touches for f in facts),
        "missed_touches": sum(f.missed_touches for f in facts),
    }
