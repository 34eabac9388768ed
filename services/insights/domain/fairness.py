"""Distribution fairness: did each rep get the share of assignments their weight promised?

Every assignment decision a share strategy made carries the picking queue's *pool*: each
member, whether they could have taken the lead at that moment, their configured weight and
the fairness multiplier their share got (``LeadAssigned.trace.pool``). A member's share of
one decision is what the strategy gives them:

- ``weighted_round_robin``: weight x multiplier;
- ``least_loaded``: the multiplier (it balances load per share, weights aside);
- ``round_robin``: 1 (it applies neither).

Their *expected probability* in that decision is their share over the shares of the members
eligible then (0 when they were not eligible). A rep's **expected** count is the sum of their
probabilities over the decisions, their **assigned** count how many of those picked them,
and the **ratio** assigned / expected: 1 is exactly the promised share, 0.8 a fifth short.
The same per queue, over the decisions made in it. Decisions without a pool (the account's
owner took the lead, or traces made before the router recorded it) are counted as
``unmeasured`` and left out. Sums are exact (fractions), so the figures do not depend on
the order decisions are read in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from services.insights.domain.stats import PLACES


@dataclass(frozen=True)
class Member:
    rep_id: str
    eligible: bool
    weight: int | None = None
    multiplier: float | None = None


@dataclass(frozen=True)
class Decision:
    """One assignment: the queue that picked, who it picked, how, and from whom."""

    queue: str
    rep_id: str
    strategy: str
    pool: tuple[Member, ...] | None


def share(strategy: str, member: Member) -> Fraction:
    """What the strategy gives the member (module docstring)."""
    multiplier = Fraction(member.multiplier) if member.multiplier is not None else Fraction(1)
    if strategy == "weighted_round_robin":
        return Fraction(member.weight if member.weight is not None else 1) * multiplier
    if strategy == "least_loaded":
        return multiplier
    return Fraction(1)


def expected(decision: Decision) -> dict[str, Fraction]:
    """Each eligible member's probability of being picked in this decision."""
    shares = {m.rep_id: share(decision.strategy, m) for m in decision.pool or () if m.eligible}
    total = sum(shares.values(), Fraction(0))
    if not total:
        return {}
    return {rep: s / total for rep, s in shares.items()}


@dataclass
class _Tally:
    assigned: int = 0
    expected: Fraction = Fraction(0)

    def row(self) -> dict[str, Any]:
        return {
            "assigned": self.assigned,
            "expected": round(float(self.expected), PLACES),
            "ratio": round(float(self.assigned / self.expected), PLACES) if self.expected else None,
        }


def _rows(decisions: Iterable[Decision], shown: set[str] | None) -> dict[str, dict[str, Any]]:
    tallies: dict[str, _Tally] = {}
    for d in decisions:
        for rep, p in expected(d).items():
            tallies.setdefault(rep, _Tally()).expected += p
        tallies.setdefault(d.rep_id, _Tally()).assigned += 1
    return {
        rep: t.row() for rep, t in sorted(tallies.items()) if shown is None or rep in shown
    }  # fmt: skip


def fairness(decisions: Sequence[Decision], shown: set[str] | None = None) -> dict[str, Any]:
    """Per rep and per queue: assigned, expected and their ratio. ``shown``: the reps whose
    rows are wanted (a rep or team filter), None for all."""
    measured = [d for d in decisions if d.pool]
    queues: dict[str, list[Decision]] = {}
    for d in measured:
        queues.setdefault(d.queue, []).append(d)
    return {
        "decisions": len(measured),
        "unmeasured": len(decisions) - len(measured),
        "by_rep": _rows(measured, shown),
        "by_queue": {
            queue: {"decisions": len(ds), "by_rep": _rows(ds, shown)}
            for queue, ds in sorted(queues.items())
        },
    }


def decision_of(data: dict[str, Any]) -> Decision:
    """A decision from an ``assigned`` observation's data (see ``observations.assigned``)."""
    pool = data.get("pool")
    members = (
        tuple(Member(str(r), bool(e), w, m) for r, e, w, m in pool)
        if isinstance(pool, list)
        else None
    )
    return Decision(str(data.get("queue")), str(data.get("rep_id")), str(data.get("strategy")),
                    members)  # fmt: skip
