"""Every nurture sequence of the example config can actually run: some lead reaches it.

A lead reaches nurture two ways, both decided by the router's own rules here: routed there
by its bucket (``routing.nurture_buckets``), or recycled there by ``routing.recycling``
(gone cold, lost after the cool-off, disqualified) keeping its bucket and naming its cause
(``LeadRoutedToNurture.recycled``). Nurture's enrollment rule then picks the sequence. Every
scoring bucket a lead can be in is tried with every way in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.nurture import domain
from services.nurture.config import load_nurture_config
from services.router.config.model import load_routing
from services.router.domain.model import Routing
from services.router.domain.recycling import RecyclePolicy, recycle
from services.router.domain.routing import ToNurture, route_lead
from services.scorer.config import load_scorer_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "leadflow.yaml"
NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)
FACTS = {"country": "GB", "interest": "software", "email": "lead@acme.example"}


def _recycle_policies(routing: Routing) -> list[tuple[str, RecyclePolicy]]:
    """Every (cause, policy) of routing.recycling that can move a lead."""
    recycling = routing.recycling
    if recycling is None:
        return []
    found = [("gone_cold", recycling.gone_cold), ("lost", recycling.lost)]
    found += [("lost", policy) for _reason, policy in recycling.lost_reasons]
    found.append(("disqualified", recycling.disqualified))
    return [(cause, policy) for cause, policy in found if policy is not None]


def reachable_sequences(path: Path) -> dict[str, set[tuple[str, str | None]]]:
    """Sequence name -> the (bucket, recycle cause) of the leads that join it."""
    buckets = [b.name for b in load_scorer_config(path).buckets]
    routing = load_routing(path)
    rules = load_nurture_config(path).to_domain()
    reached: dict[str, set[tuple[str, str | None]]] = {s.name: set() for s in rules.sequences}
    for bucket in buckets:
        ways: list[str | None] = []
        if isinstance(route_lead(FACTS, bucket, routing, {}, {}, NOW), ToNurture):
            ways.append(None)
        for cause, policy in _recycle_policies(routing):
            decision = recycle(policy, routing, {}, {}, NOW, FACTS, bucket, "ana", "test")
            if isinstance(decision, ToNurture):
                ways.append(cause)
        for way in ways:
            joined = domain.decide_enrollment(
                bucket, NOW, rules.sequences, already_active=False, last_stop_at=None,
                recycled=way,
            )  # fmt: skip
            if joined.sequence is not None:
                reached[joined.sequence.name].add((bucket, way))
    return reached


REACHED = reachable_sequences(EXAMPLE)


@pytest.mark.parametrize("sequence", sorted(REACHED))
def test_every_example_sequence_is_reached_by_some_lead(sequence: str) -> None:
    assert REACHED[sequence], f"no lead of any bucket ever joins {sequence!r}"


def test_the_example_reaches_each_sequence_the_intended_way() -> None:
    assert set(REACHED) == {"nurture-standard", "cold-revive"}
    # A nurture-bucket lead routed there by its bucket joins the standard sequence.
    assert ("nurture", None) in REACHED["nurture-standard"]
    # Lost and disqualified leads are recycled to nurture, whatever their bucket, into
    # cold-revive (gone-cold ones go to the pool queue in the example, not to nurture).
    assert {("cold", "lost"), ("hot", "lost"), ("cold", "disqualified")} <= REACHED["cold-revive"]
    assert not any(cause == "gone_cold" for _bucket, cause in REACHED["cold-revive"])
