"""Input set = output set: what the chaos run proves, as pure functions over what it saw.

The evidence comes from the services' own stores through their HTTP APIs (the embedded
broker forgets its topics when it is killed, so reading the topics from the start would not
see everything) and from the demo receiver's tally of the webhooks it accepted:

- **decided**: the router's decision for each acknowledged lead (``assigned`` or
  ``nurture``; ``waiting`` is not decided yet). A lead with none is **lost**.
- **assignment webhooks**: the ``lead.assigned`` deliveries the receiver accepted, by lead
  and webhook-id. The notifier derives the webhook-id from the event and the subscription,
  so one decision is one webhook-id; two webhook-ids for one lead mean the lead was decided
  (or announced) twice: **doubled**. The same webhook-id received twice is a redelivery
  (at-least-once HTTP, deduped by any Standard Webhooks receiver) and is counted apart.
- **nurture**: the nurture service's enrollments of each lead the router sent to nurture:
  exactly one each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DECIDED = ("assigned", "nurture")


@dataclass(frozen=True)
class Evidence:
    """What the run saw at the end; every mapping is keyed by lead id."""

    acknowledged: frozenset[str]
    decisions: Mapping[str, str]  # lead -> router status (assigned, nurture, waiting)
    webhooks: Mapping[str, Mapping[str, int]]  # lead -> webhook-id -> times received
    enrollments: Mapping[str, int]  # lead -> nurture enrollments


@dataclass(frozen=True)
class Figures:
    """The run's result; ``ok`` when nothing was lost or doubled."""

    acknowledged: int
    decided: int
    assigned: int
    nurtured: int
    undecided: int  # still waiting for a rep
    lost: int  # acknowledged, no decision at all
    webhooks_once: int
    webhooks_missing: int
    webhooks_doubled: int  # leads with two or more distinct webhook-ids
    webhooks_redelivered: int  # extra receptions of a webhook-id already received
    webhooks_unexpected: int  # leads with an assignment webhook the router did not assign
    nurture_once: int
    nurture_missing: int
    nurture_doubled: int
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few lead ids per problem

    @property
    def ok(self) -> bool:
        return not (
            self.lost or self.undecided or self.webhooks_missing or self.webhooks_doubled
            or self.webhooks_unexpected or self.nurture_missing or self.nurture_doubled
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def judge(evidence: Evidence, examples: int = 5) -> Figures:
    """Compare the acknowledged leads with what came out for each of them."""
    problems: dict[str, list[str]] = {}

    def note(kind: str, lead: str) -> None:
        problems.setdefault(kind, [])
        if len(problems[kind]) < examples:
            problems[kind].append(lead)

    ack = evidence.acknowledged
    status = {lead: evidence.decisions.get(lead) for lead in ack}
    assigned = {lead for lead, s in status.items() if s == "assigned"}
    nurtured = {lead for lead, s in status.items() if s == "nurture"}
    counts = {"lost": 0, "undecided": 0, "wh_missing": 0, "wh_doubled": 0, "wh_once": 0}
    for lead, s in sorted(status.items()):
        if s is None:
            counts["lost"] += 1
            note("lost", lead)
        elif s not in DECIDED:
            counts["undecided"] += 1
            note("undecided", lead)
    for lead in sorted(assigned):
        ids = evidence.webhooks.get(lead, {})
        if not ids:
            counts["wh_missing"] += 1
            note("webhooks_missing", lead)
        elif len(ids) > 1:
            counts["wh_doubled"] += 1
            note("webhooks_doubled", lead)
        else:
            counts["wh_once"] += 1
    unexpected = sorted(set(evidence.webhooks) - assigned)
    for lead in unexpected:
        note("webhooks_unexpected", lead)
    redelivered = sum(n - 1 for ids in evidence.webhooks.values() for n in ids.values() if n > 1)
    enrolled = {lead: evidence.enrollments.get(lead, 0) for lead in nurtured}
    for lead, n in sorted(enrolled.items()):
        if n == 0:
            note("nurture_missing", lead)
        elif n > 1:
            note("nurture_doubled", lead)
    return Figures(
        acknowledged=len(ack),
        decided=len(assigned) + len(nurtured),
        assigned=len(assigned),
        nurtured=len(nurtured),
        undecided=counts["undecided"],
        lost=counts["lost"],
        webhooks_once=counts["wh_once"],
        webhooks_missing=counts["wh_missing"],
        webhooks_doubled=counts["wh_doubled"],
        webhooks_redelivered=redelivered,
        webhooks_unexpected=len(unexpected),
        nurture_once=sum(1 for n in enrolled.values() if n == 1),
        nurture_missing=sum(1 for n in enrolled.values() if n == 0),
        nurture_doubled=sum(1 for n in enrolled.values() if n > 1),
        examples=problems,
    )


def settled(evidence: Evidence) -> bool:
    """Every acknowledged lead decided, announced and (if sent to nurture) enrolled: the
    pipeline has nothing left in flight for these leads (doubles are judged afterwards)."""
    for lead in evidence.acknowledged:
        s = evidence.decisions.get(lead)
        if s == "assigned" and not evidence.webhooks.get(lead):
            return False
        if s == "nurture" and not evidence.enrollments.get(lead):
            return False
        if s not in DECIDED:
            return False
    return True
