"""Lifecycle stages, pure: captured -> mql -> sql -> opportunity -> won | lost.

- **Forward only.** A fact moves a lead to a later stage or does nothing; a late or repeated
  fact (a second call, a call reported after the meeting) changes nothing, so a redelivered
  event cannot move a lead twice.
- **Skipping is one move.** A meeting booked on an MQL is one ``mql -> opportunity`` (the
  funnel counts it as having passed sql at the same time); a won deal nobody reported a
  contact for is one ``mql -> won``.
- **What moves it.** A score at or above the threshold: mql (``qualified``). A rep reaching
  the lead (``contacted``, ``called``, ``emailed``, ``sms_sent``, ``replied``): sql. A
  meeting booked: opportunity. ``won`` / ``lost``: won / lost, from any open stage.
  Routing a lead to nurture, waiting, an SLA handover, a gone-cold recycle or a snooze
  changes no stage.
- **Final, with one way back.** won and lost are final, except that a lost lead the router
  places again (a ``lost`` recycle, the end of a snooze, or routing again a lead that was
  waiting or in nurture when it was reported lost) re-enters at mql: marketing's pool has
  it again, and the funnel counts it as a new pass. A won lead never moves.
- A lead starts at ``captured`` when the router first decides it (no event: capture's
  ``lead.captured`` announced that stage); leads the router has no stage for are left alone.

No I/O, no clock: facts carry their own time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

Stage = Literal["captured", "mql", "sql", "opportunity", "won", "lost"]
STAGES: Final[tuple[Stage, ...]] = ("captured", "mql", "sql", "opportunity", "won", "lost")
RANK: Final[Mapping[Stage, int]] = {
    "captured": 0, "mql": 1, "sql": 2, "opportunity": 3, "won": 4, "lost": 4,
}  # fmt: skip
FINAL: Final = frozenset({"won", "lost"})
REENTRY_STAGE: Final[Stage] = "mql"

QUALIFIED: Final = "qualified"
ACTIVITY_STAGES: Final[Mapping[str, Stage]] = {
    "contacted": "sql",
    "called": "sql",
    "emailed": "sql",
    "sms_sent": "sql",
    "replied": "sql",
    "meeting_booked": "opportunity",
    "won": "won",
    "lost": "lost",
}


@dataclass(frozen=True)
class StageFact:
    """Something that may move a lead: ``to`` the stage it implies, ``cause`` what it was
    (an activity kind, ``qualified``, ``recycled``), ``at`` when it happened. ``reentry``:
    the lead was placed again (a recycle or a snooze's end), which only a lost lead heeds."""

    lead_id: str
    to: Stage
    cause: str
    at: datetime
    reentry: bool = False
    causation: str | None = None


@dataclass(frozen=True)
class StageChange:
    lead_id: str
    from_stage: Stage
    to_stage: Stage
    cause: str
    at: datetime
    causation: str | None = None


def stage_of_activity(kind: str) -> Stage | None:
    """The stage an activity implies (None: it moves no stage, e.g. an e-mail opened)."""
    return ACTIVITY_STAGES.get(str(kind))


def qualified(lead_id: str, at: datetime, causation: str | None = None) -> StageFact:
    """A score at or above the threshold: the lead is marketing-qualified."""
    return StageFact(lead_id, "mql", QUALIFIED, at, causation=causation)


def placed_again(lead_id: str, cause: str, at: datetime) -> StageFact:
    """The router placed the lead again (``cause``: recycled, snooze_ended, routed)."""
    return StageFact(lead_id, REENTRY_STAGE, cause, at, reentry=True)


def next_stage(current: Stage, fact: StageFact) -> Stage | None:
    """The stage ``fact`` moves a lead at ``current`` to, or None: forward moves only; won and
    lost are final, except a lost lead placed again, which re-enters at mql."""
    if current in FINAL:
        if fact.reentry and current == "lost":
            return REENTRY_STAGE
        return None
    if fact.reentry:
        return None  # placing an open lead again (a recycle, a snooze's end) keeps its stage
    return fact.to if RANK[fact.to] > RANK[current] else None


def fold_stages(
    current: Mapping[str, Stage], facts: Iterable[StageFact]
) -> tuple[dict[str, Stage], list[StageChange]]:
    """Apply ``facts`` in order to the leads' stages; the stages after them, and every move
    (one per fact that moved its lead). Facts for leads not in ``current`` are ignored."""
    stages = dict(current)
    changes: list[StageChange] = []
    for fact in facts:
        stage = stages.get(fact.lead_id)
        if stage is None:
            continue
        to = next_stage(stage, fact)
        if to is None:
            continue
        changes.append(StageChange(fact.lead_id, stage, to, fact.cause, fact.at, fact.causation))
        stages[fact.lead_id] = to
    return stages, changes
