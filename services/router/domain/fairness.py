"""The fairness ledger, pure: a rep's recent record turned into a share multiplier.

**Arithmetic.** ``multiplier(t) = clamp(1 + Σ effectᵢ · leftᵢ(t), floor, ceiling)`` over the
rep's entries up to ``t``, where ``leftᵢ = max(0, 1 - ageᵢ / window)``: an effect fades
*linearly* to nothing over the policy's window (30 days by default), so a breach 15 days
ago counts half and one 30 days ago not at all. Linear rather than exponential because it
reads in one sentence, every contribution can be shown as "n % left", and it has a hard
horizon: only the last ``window`` of entries is ever needed (an exponential tail never
ends, and a cut-off would make it jump). An active manual override replaces the result; it
is the manager's deliberate call, so it is not clamped to the bounds (only kept positive).

**Entries.** Every change is a :class:`LedgerEntry` with its reason and the event it came
from; entries keep the effect in force when they were written, so a later policy change
does not rewrite history, and ``multiplier_after`` says where the rep stood just after.

**Wiring** (``handlers.ledger``, ``store.ledger``, ``ledger_api``):

- Events feed :func:`record`, with the event's id as ``source_event_id`` (the inbox makes a
  redelivery a no-op): ``LeadSlaBreached`` (the router's breach job) → ``sla_breach`` for the
  rep who missed; a first contact (``lead.activity``; :func:`first_contact_kind` on
  ``sla.Contact.response``) → ``fast_first_contact``; activity ``won`` → ``won`` for the
  owner; ``lead.gone_cold`` → ``gone_cold`` for the owner; a follow-up touch done late or
  missed (nurture's ``lead.followup_closed``; :mod:`services.router.domain.touches`) →
  ``touch_late`` / ``touch_missed``.
  The admin API calls :func:`set_override` and :func:`clear_override`.
- Entries are stored append-only (one table, by rep and time); ``GET /v1/reps/{id}/ledger``
  lists them and :func:`explain` says why the multiplier is what it is now.
- Each routing batch reads, inside the routing lock, every rep's entries of the last
  ``window`` plus each rep's latest override entry (an override may be older), and sets
  ``RepLoad.multiplier`` from :func:`multipliers`. The strategies read it there
  (``weighted_round_robin`` scales the rep's weight, ``least_loaded`` divides the load)
  and name it in each candidate's reason, so the decision trace shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

# What a rep did that moves their share, and the two manual kinds.
EventKind = Literal[
    "sla_breach", "touch_late", "touch_missed", "gone_cold", "fast_first_contact", "won"
]
EVENT_KINDS: tuple[EventKind, ...] = (
    "sla_breach", "touch_late", "touch_missed", "gone_cold", "fast_first_contact", "won",
)  # fmt: skip
LedgerKind = Literal[EventKind, "override", "override_cleared"]
Bound = Literal["floor", "ceiling"]

DEFAULT_EFFECTS: tuple[tuple[EventKind, float], ...] = (
    ("sla_breach", -0.10),
    ("touch_late", -0.02),
    ("touch_missed", -0.05),
    ("gone_cold", -0.05),
    ("fast_first_contact", 0.02),
    ("won", 0.10),
)
# An override beyond this is a typo, not a policy.
MAX_OVERRIDE = 10.0


class InvalidOverride(ValueError):
    """An override that is not a positive multiplier up to MAX_OVERRIDE, or ends before it
    starts."""


@dataclass(frozen=True)
class FairnessPolicy:
    """How a rep's record moves their share (``routing.fairness``): each kind's effect on
    the multiplier, its bounds, the window effects fade over, and what counts as a fast
    first contact. Kinds not listed have no effect."""

    effects: tuple[tuple[EventKind, float], ...] = DEFAULT_EFFECTS
    floor: float = 0.5
    ceiling: float = 1.5
    window: timedelta = timedelta(days=30)
    fast_first_contact: timedelta = timedelta(minutes=5)

    def effect_of(self, kind: EventKind) -> float:
        return dict(self.effects).get(kind, 0.0)


@dataclass(frozen=True)
class LedgerEntry:
    """One change to a rep's standing. ``effect`` is the change to the multiplier (for an
    override, the override's value); ``by`` and ``until`` are an override's author and end
    (None: until cleared)."""

    rep_id: str
    at: datetime
    kind: LedgerKind
    effect: float
    multiplier_after: float
    reason: str
    source_event_id: str | None = None
    by: str | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Contribution:
    """What one entry adds to the multiplier at a moment: ``left`` of its effect remains."""

    entry: LedgerEntry
    left: float
    value: float


@dataclass(frozen=True)
class Explanation:
    """Why a rep's multiplier is what it is at ``at``: 1 plus the contributions (``raw``),
    clamped at a ``bound``, unless an ``override`` is in force."""

    rep_id: str
    at: datetime
    multiplier: float
    raw: float
    bound: Bound | None
    override: LedgerEntry | None
    contributions: tuple[Contribution, ...]

    @property
    def text(self) -> str:
        if self.override is not None:
            until = self.override.until.isoformat() if self.override.until else "cleared"
            return (
                f"{self.multiplier:.2f}: override by {self.override.by} until {until}"
                f" ({self.override.reason})"
            )
        parts = [
            f"{c.value:+.3f} {c.entry.kind} {c.entry.at:%Y-%m-%d} ({c.left:.0%} left)"
            for c in self.contributions
        ]
        sums = " ".join(["1", *parts]) if parts else "1 (no entries in the window)"
        clamp = f", held at the {self.bound}" if self.bound is not None else ""
        return f"{self.multiplier:.2f} = {sums} = {self.raw:.3f}{clamp}"


def left_at(entry: LedgerEntry, at: datetime, window: timedelta) -> float:
    """The share of an entry's effect still in force: 1 when new, 0 from ``window`` on, and
    0 before it happened."""
    age = at - entry.at
    if age < timedelta(0):
        return 0.0
    return max(0.0, 1.0 - age / window)


def active_override(entries: Iterable[LedgerEntry], at: datetime) -> LedgerEntry | None:
    """The latest override set or cleared by ``at`` wins when it is a set still running."""
    manual = [e for e in entries if e.kind in ("override", "override_cleared") and e.at <= at]
    if not manual:
        return None
    latest = max(enumerate(manual), key=lambda ie: (ie[1].at, ie[0]))[1]
    if latest.kind == "override" and (latest.until is None or at < latest.until):
        return latest
    return None


def explain(entries: Sequence[LedgerEntry], at: datetime, policy: FairnessPolicy) -> Explanation:
    """One rep's multiplier at ``at`` with every entry that still counts, oldest first."""
    rep_id = entries[0].rep_id if entries else ""
    contributions = tuple(
        Contribution(e, left, round(e.effect * left, 6))
        for e in sorted(entries, key=lambda e: e.at)
        if e.kind in EVENT_KINDS and (left := left_at(e, at, policy.window)) > 0
    )
    raw = round(1.0 + sum(c.value for c in contributions), 6)
    bound: Bound | None = None
    if raw < policy.floor:
        bound = "floor"
    elif raw > policy.ceiling:
        bound = "ceiling"
    clamped = min(max(raw, policy.floor), policy.ceiling)
    override = active_override(entries, at)
    value = override.effect if override is not None else clamped
    return Explanation(rep_id, at, round(value, 4), raw, bound, override, contributions)


def multiplier_at(entries: Sequence[LedgerEntry], at: datetime, policy: FairnessPolicy) -> float:
    """One rep's entries folded into their share multiplier at ``at``."""
    return explain(entries, at, policy).multiplier


def multipliers(
    entries: Iterable[LedgerEntry], rep_ids: Iterable[str], at: datetime, policy: FairnessPolicy
) -> dict[str, float]:
    """Every rep's multiplier at ``at`` (1.0 for a rep without entries), for a routing batch."""
    by_rep: dict[str, list[LedgerEntry]] = {r: [] for r in rep_ids}
    for entry in entries:
        if entry.rep_id in by_rep:
            by_rep[entry.rep_id].append(entry)
    return {r: multiplier_at(es, at, policy) for r, es in by_rep.items()}


def record(
    history: Sequence[LedgerEntry],
    rep_id: str,
    kind: EventKind,
    at: datetime,
    reason: str,
    policy: FairnessPolicy,
    source_event_id: str | None = None,
) -> LedgerEntry | None:
    """A rep's record changed: the entry with the policy's effect for ``kind`` and the
    multiplier just after. None when the policy gives the kind no effect (nothing changes)."""
    effect = policy.effect_of(kind)
    if effect == 0:
        return None
    entry = LedgerEntry(rep_id, at, kind, effect, 1.0, reason, source_event_id)
    return _settled(history, entry, policy)


def set_override(
    history: Sequence[LedgerEntry],
    rep_id: str,
    value: float,
    at: datetime,
    reason: str,
    by: str,
    policy: FairnessPolicy,
    until: datetime | None = None,
    source_event_id: str | None = None,
) -> LedgerEntry:
    """A manager fixes the rep's multiplier at ``value`` from ``at`` until ``until``
    (None: until cleared); it wins over the record while in force."""
    if not 0 < value <= MAX_OVERRIDE:
        raise InvalidOverride(f"override must be above 0 and at most {MAX_OVERRIDE}, got {value}")
    if until is not None and until <= at:
        raise InvalidOverride(f"override ends ({until.isoformat()}) before it starts")
    entry = LedgerEntry(rep_id, at, "override", value, value, reason, source_event_id, by, until)
    return _settled(history, entry, policy)


def clear_override(
    history: Sequence[LedgerEntry],
    rep_id: str,
    at: datetime,
    reason: str,
    by: str,
    policy: FairnessPolicy,
    source_event_id: str | None = None,
) -> LedgerEntry:
    """The rep's record decides again from ``at`` on."""
    entry = LedgerEntry(rep_id, at, "override_cleared", 0.0, 1.0, reason, source_event_id, by)
    return _settled(history, entry, policy)


def contributions_by_kind(explanation: Explanation) -> Mapping[str, float]:
    """The explanation's contributions summed per kind, e.g. for a rep's report."""
    totals: dict[str, float] = {}
    for c in explanation.contributions:
        totals[c.entry.kind] = round(totals.get(c.entry.kind, 0.0) + c.value, 6)
    return totals


def first_contact_kind(response: timedelta | None, policy: FairnessPolicy) -> EventKind | None:
    """The owner's first contact within ``fast_first_contact`` of the assignment is rewarded."""
    if response is not None and response <= policy.fast_first_contact:
        return "fast_first_contact"
    return None


def share_units(weight: int, multiplier: float, steps: int = 100) -> int:
    """A rep's weight times their multiplier in whole units (hundredths of a weight), at
    least one, so weighted rotation can interleave reps whose shares are not integers. A
    twentieth was too coarse: 0.77 against 1.08 came out 15 : 22, 4 % off the ratio."""
    return max(1, round(weight * multiplier * steps))


def _settled(
    history: Sequence[LedgerEntry], entry: LedgerEntry, policy: FairnessPolicy
) -> LedgerEntry:
    own = [e for e in history if e.rep_id == entry.rep_id]
    return replace(entry, multiplier_after=multiplier_at([*own, entry], entry.at, policy))
