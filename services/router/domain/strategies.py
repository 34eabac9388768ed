"""Which rep in a queue takes the lead: eligibility checks, then the queue's strategy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from math import gcd
from typing import Any

from services.router.domain.availability import is_available, require_aware
from services.router.domain.fairness import share_units
from services.router.domain.load import cap_reached
from services.router.domain.model import Candidate, Choice, Queue, Rep, RepLoad, Routing


def check_rep(
    rep: Rep,
    queue: Queue,
    load: RepLoad,
    now: datetime,
    facts: Mapping[str, Any],
    exclude: frozenset[str] = frozenset(),
    incoming: int = 1,
) -> tuple[bool, str]:
    """A rep can take a lead unless excluded, unavailable, at capacity, short of a required
    skill, or (when the queue matches languages) not speaking the lead's language.

    Capacity: the open load plus the lead's weight (``incoming``, 1 unless ``load_weights``)
    stays within ``max_open``; assignments this local day, week and month stay within
    ``max_per_day``, ``max_per_week`` and ``max_per_month``."""
    if rep.id in exclude:
        return False, "excluded (already had this lead)"
    available, why = is_available(rep, now)
    if not available:
        return False, f"unavailable: {why}"
    if cap_reached(rep.max_open, load.effort, incoming):
        if load.open_weight is None and incoming == 1:
            return False, f"at capacity: max_open {rep.max_open} reached ({load.open_leads} open)"
        return False, (
            f"at capacity: max_open {rep.max_open} reached (weighted load {load.effort}"
            f" + this lead's {incoming})"
        )
    for cap, used, period in (
        (rep.max_per_day, load.assigned_today, "day"),
        (rep.max_per_week, load.assigned_week or 0, "week"),
        (rep.max_per_month, load.assigned_month or 0, "month"),
    ):
        if cap_reached(cap, used):
            when = "today" if period == "day" else f"this {period}"
            return False, f"at capacity: max_per_{period} {cap} reached ({used} assigned {when})"
    missing = queue.required_skills - rep.skills
    if missing:
        noun = "skill" if len(missing) == 1 else "skills"
        return False, f"missing {noun} {', '.join(sorted(missing))}"
    language = facts.get("language")
    if queue.match_language and isinstance(language, str) and language.strip():
        wanted = language.strip().casefold()
        spoken = sorted(lang.casefold() for lang in rep.languages)
        if wanted not in spoken:
            speaks = ", ".join(spoken) or "no languages listed"
            return False, f"language mismatch (lead speaks {wanted}, rep speaks {speaks})"
    return True, why


def weighted_ring(weights: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """Smooth weighted round robin: each rep appears ``weight`` times, spread evenly.

    Each step adds every rep's weight to its running total, picks the highest total (the
    earlier rep on ties) and takes the sum of weights off the winner, as nginx does. Rings
    are kept (they only change with weights and multipliers): with fairness multipliers a
    ring has a few hundred slots per rep, ~5 ms to build for ten reps.
    """
    return _ring(tuple(weights))


@lru_cache(maxsize=256)
def _ring(weights: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    total = sum(weight for _, weight in weights)
    current = [0] * len(weights)
    ring: list[str] = []
    for _ in range(total):
        for i, (_, weight) in enumerate(weights):
            current[i] += weight
        best = max(range(len(weights)), key=lambda i: (current[i], -i))
        current[best] -= total
        ring.append(weights[best][0])
    return tuple(ring)


def choose_rep(
    queue: Queue,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursor: int,
    now: datetime,
    facts: Mapping[str, Any],
    exclude: frozenset[str] = frozenset(),
) -> Choice:
    """Pick a rep in the queue by its strategy, skipping reps who cannot take the lead.

    The cursor says where the rotation starts; ``Choice.next_cursor`` is where the next
    lead for this queue should start. Nobody eligible leaves the cursor unchanged.
    """
    require_aware(now)
    if queue.strategy == "weighted_round_robin":
        slots = weighted_ring(shares(routing, loads, queue.members))
    else:
        slots = queue.members
    if not slots:
        return Choice(None, cursor, queue.strategy, (), f"{queue.name}: queue has no members")
    start = cursor % len(slots)
    rotation = [(start + i) % len(slots) for i in range(len(slots))]
    if queue.strategy == "least_loaded":
        return _least_loaded(queue, routing, loads, cursor, slots, rotation, now, facts, exclude)
    candidates: list[Candidate] = []
    for slot in rotation:
        rep_id = slots[slot]
        if any(c.rep_id == rep_id for c in candidates):
            continue
        ok, why = _check(routing, queue, loads, rep_id, now, facts, exclude)
        if not ok:
            candidates.append(Candidate(rep_id, False, why))
            continue
        multiplier = None
        if queue.strategy == "weighted_round_robin":
            share = f"weight {_weight(routing, rep_id)}"
            if (m := _load(loads, rep_id).multiplier) != 1.0:
                multiplier = m
                share += f" x multiplier {m:.2f}"
            reason = f"next in weighted rotation (slot {slot + 1} of {len(slots)}, {share})"
        else:
            reason = f"next in rotation (position {slot + 1} of {len(slots)})"
        candidates.append(Candidate(rep_id, True, reason, multiplier))
        choice = _picked(queue, rep_id, slot + 1, candidates, reason)
        return replace(choice, pool=_pool(queue, routing, loads, candidates, now, facts, exclude))
    return _nobody(queue, cursor, candidates)


def _pool(
    queue: Queue,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    looked_at: Sequence[Candidate],
    now: datetime,
    facts: Mapping[str, Any],
    exclude: frozenset[str],
) -> tuple[Candidate, ...]:
    """Every member as the rotation would have found them: those it looked at, then the
    ones after the pick, checked the same way (the rotation stops at the first eligible, so
    the trace's candidates alone cannot tell who else could have taken the lead)."""
    seen = {c.rep_id: c for c in looked_at}
    pool = []
    for rep_id in dict.fromkeys(queue.members):
        if rep_id in seen:
            pool.append(seen[rep_id])
            continue
        ok, why = _check(routing, queue, loads, rep_id, now, facts, exclude)
        multiplier = _load(loads, rep_id).multiplier
        applied = ok and queue.strategy == "weighted_round_robin" and multiplier != 1.0
        pool.append(Candidate(rep_id, ok, why if not ok else "eligible, not reached",
                              multiplier if applied else None))  # fmt: skip
    return tuple(pool)


def _least_loaded(
    queue: Queue,
    routing: Routing,
    loads: Mapping[str, RepLoad],
    cursor: int,
    slots: Sequence[str],
    rotation: Sequence[int],
    now: datetime,
    facts: Mapping[str, Any],
    exclude: frozenset[str],
) -> Choice:
    """The eligible rep with the lightest load per share wins: open leads (weighed by bucket
    with ``load_weights``) divided by the rep's fairness multiplier, so a rep at 0.5 counts
    as twice as busy; ties go to the earliest in rotation."""
    checked = [
        (slot, slots[slot], *_check(routing, queue, loads, slots[slot], now, facts, exclude))
        for slot in rotation
    ]
    eligible = [(slot, rep_id) for slot, rep_id, ok, _ in checked if ok]
    if not eligible:
        return _nobody(queue, cursor, [Candidate(r, False, why) for _, r, _, why in checked])
    best_slot, best = min(eligible, key=lambda e: _per_share(_load(loads, e[1])))
    lightest = _per_share(_load(loads, best))
    ties = sum(1 for _, rep_id in eligible if _per_share(_load(loads, rep_id)) == lightest)
    best_load = _load(loads, best)
    looked_at = [_load(loads, rep_id) for _, rep_id in eligible]
    if any(load.multiplier != 1.0 for load in looked_at):
        picked_reason = f"lightest load per share ({_load_text(best_load)})"
    elif any(load.open_weight is not None for load in looked_at):
        picked_reason = f"lightest load ({_load_text(best_load)})"
    else:
        picked_reason = f"fewest open leads ({best_load.open_leads})"
    if ties > 1:
        picked_reason += f", first in rotation of {ties} tied"
    candidates = []
    for _, rep_id, ok, why in checked:
        load = _load(loads, rep_id)
        multiplier = load.multiplier if load.multiplier != 1.0 else None
        if rep_id == best:
            candidates.append(Candidate(rep_id, True, picked_reason, multiplier))
        elif ok:
            text = _load_text(load)
            candidates.append(Candidate(rep_id, True, f"eligible, {text}", multiplier))
        else:
            candidates.append(Candidate(rep_id, False, why))
    choice = _picked(queue, best, best_slot + 1, candidates, picked_reason)
    return replace(choice, pool=tuple(candidates))  # every member was looked at


def shares(
    routing: Routing, loads: Mapping[str, RepLoad], members: Sequence[str]
) -> list[tuple[str, int]]:
    """Each member's share in weighted rotation: the configured weight, times the fairness
    multiplier when any member has one (in hundredths of a weight, reduced by their common
    divisor, so equal multipliers give back the plain weights)."""
    weights = [(m, _weight(routing, m)) for m in members]
    if all(_load(loads, m).multiplier == 1.0 for m in members):
        return weights
    units = [(m, share_units(w, _load(loads, m).multiplier)) for m, w in weights]
    common = gcd(*(u for _, u in units))
    return [(m, u // common) for m, u in units]


def _per_share(load: RepLoad) -> float:
    return load.effort / load.multiplier if load.multiplier > 0 else float("inf")


def _load_text(load: RepLoad) -> str:
    """``3 open leads``; weighted ``2 open leads weighing 6``; with a multiplier ``...,
    multiplier 0.80: 7.50 per share``."""
    text = f"{load.open_leads} open leads"
    if load.open_weight is not None:
        text += f" weighing {load.open_weight}"
    if load.multiplier != 1.0:
        text += f", multiplier {load.multiplier:.2f}: {_per_share(load):.2f} per share"
    return text


def _picked(
    queue: Queue, rep_id: str, next_cursor: int, candidates: list[Candidate], reason: str
) -> Choice:
    skipped = [c for c in candidates if not c.eligible]
    explanation = f"{queue.strategy} picked {rep_id} in {queue.name}: {reason}"
    if skipped:
        explanation += f"; skipped {_list(skipped)}"
    return Choice(rep_id, next_cursor, queue.strategy, tuple(candidates), explanation)


def _nobody(queue: Queue, cursor: int, candidates: list[Candidate]) -> Choice:
    explanation = f"{queue.strategy}: nobody eligible in {queue.name} ({_list(candidates)})"
    return Choice(None, cursor, queue.strategy, tuple(candidates), explanation)


def _list(candidates: Sequence[Candidate]) -> str:
    return "; ".join(f"{c.rep_id}: {c.reason}" for c in candidates)


def _check(
    routing: Routing,
    queue: Queue,
    loads: Mapping[str, RepLoad],
    rep_id: str,
    now: datetime,
    facts: Mapping[str, Any],
    exclude: frozenset[str],
) -> tuple[bool, str]:
    rep = routing.reps.get(rep_id)
    if rep is None:
        return False, "not a configured rep"
    load = _load(loads, rep_id)
    return check_rep(rep, queue, load, now, facts, exclude, incoming_weight(routing, facts))


def incoming_weight(routing: Routing, facts: Mapping[str, Any]) -> int:
    """What the lead being routed weighs on its rep: its bucket's ``load_weights`` weight."""
    bucket = facts.get("bucket")
    return routing.lead_weight(bucket if isinstance(bucket, str) else None)


def _load(loads: Mapping[str, RepLoad], rep_id: str) -> RepLoad:
    return loads.get(rep_id) or RepLoad(rep_id)


def _weight(routing: Routing, rep_id: str) -> int:
    rep = routing.reps.get(rep_id)
    return rep.weight if rep is not None else 1
