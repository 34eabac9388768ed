"""Nurture's own metrics: follow-up touches by what became of them."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import Counter

FOLLOWUP_TOUCHES = Counter(
    "leadflow_followup_touches_total",
    "Follow-up touches by outcome: due (announced to the rep), done, late, missed, skipped",
    ["status"],
)
COUNTED = frozenset({"due", "done", "late", "missed", "skipped"})


def count_touches(tally: Tally[str]) -> None:
    """Add a committed batch's touch outcomes to the counters."""
    for status, count in tally.items():
        if status in COUNTED and count:
            FOLLOWUP_TOUCHES.labels(status=status).inc(count)
