"""Reward and punishment in routing: over 1,000 leads, a rep who breaches SLAs gets a
measurably smaller share of a queue than an otherwise equal rep who contacts fast, in the
ratio of their multipliers and within the policy's bounds; the trace shows the multiplier."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.fairness import (
    EventKind,
    FairnessPolicy,
    LedgerEntry,
    multipliers,
    record,
)
from services.router.domain.model import Queue, Rep, RepLoad, Routing, Strategy
from services.router.domain.routing import Assigned, apply_assignment, route_lead
from services.router.domain.strategies import choose_rep, shares

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
POLICY = FairnessPolicy()
LEADS = 1000


def org(strategy: Strategy) -> Routing:
    reps = {r: Rep(r, r.title(), LONDON) for r in ("ana", "ben")}
    queue = Queue("inbound", "sales", "uk", ("ana", "ben"), strategy)
    return Routing(reps, {"inbound": queue}, (), "inbound", fairness=POLICY)


def history(rep_id: str, kind: EventKind, count: int) -> list[LedgerEntry]:
    """``count`` events of ``kind`` over the ten days before the simulation."""
    entries: list[LedgerEntry] = []
    for i in range(count):
        at = START - DAY * 10 + DAY * i * 10 / count
        entry = record(entries, rep_id, kind, at, f"{kind} on lead {i}", POLICY, f"ev-{rep_id}-{i}")
        assert entry is not None
        entries.append(entry)
    return entries


def simulate(
    strategy: Strategy, ledger: list[LedgerEntry]
) -> tuple[Counter[str], list[dict[str, float]], list[Assigned]]:
    """Route LEADS leads over one working day, each batch reading the multipliers in force."""
    routing = org(strategy)
    policy = routing.fairness
    assert policy is not None
    loads = {r: RepLoad(r) for r in routing.reps}
    cursors: dict[str, int] = {}
    picked: Counter[str] = Counter()
    seen: list[dict[str, float]] = []
    decisions: list[Assigned] = []
    for i in range(LEADS):
        now = START + timedelta(seconds=30 * i)
        standing = multipliers(ledger, routing.reps, now, policy)
        seen.append(standing)
        loads = {r: replace(load, multiplier=standing[r]) for r, load in loads.items()}
        decision = route_lead({}, "warm", routing, loads, cursors, now)
        assert isinstance(decision, Assigned)
        decisions.append(decision)
        picked[decision.rep_id] += 1
        loads, cursors = apply_assignment(decision, loads, cursors)
    return picked, seen, decisions


@pytest.mark.parametrize("strategy", ["weighted_round_robin", "least_loaded"])
@pytest.mark.parametrize(
    ("breaches", "fast_contacts"),
    [(3, 5), (4, 10), (9, 0), (10, 40)],  # the last two reach the floor, then the ceiling too
)
def test_a_rep_who_breaches_gets_a_smaller_share_in_the_ratio_of_the_multipliers(
    strategy: Strategy, breaches: int, fast_contacts: int
) -> None:
    ledger = [
        *history("ana", "sla_breach", breaches),
        *history("ben", "fast_first_contact", fast_contacts),
    ]
    picked, seen, _ = simulate(strategy, ledger)
    ana = sum(s["ana"] for s in seen) / LEADS
    ben = sum(s["ben"] for s in seen) / LEADS
    assert POLICY.floor <= ana < 1.0 <= ben <= POLICY.ceiling
    assert picked["ana"] + picked["ben"] == LEADS
    assert picked["ana"] < picked["ben"] * 0.9  # measurably smaller
    # shares follow the multipliers (weighted rotation rounds them to hundredths)
    assert picked["ana"] / picked["ben"] == pytest.approx(ana / ben, rel=0.02)


def test_at_the_bounds_the_share_is_one_to_three() -> None:
    ledger = [*history("ana", "sla_breach", 9), *history("ben", "won", 8)]
    picked, seen, _ = simulate("weighted_round_robin", ledger)
    assert seen[0] == {"ana": 0.5, "ben": 1.5}
    assert (picked["ana"], picked["ben"]) == (250, 750)


def test_equal_records_keep_equal_shares() -> None:
    ledger = [*history("ana", "sla_breach", 3), *history("ben", "sla_breach", 3)]
    picked, _, _ = simulate("weighted_round_robin", ledger)
    assert picked == Counter({"ana": 500, "ben": 500})


def test_the_decision_trace_shows_the_multiplier() -> None:
    ledger = [*history("ana", "sla_breach", 3), *history("ben", "fast_first_contact", 5)]
    _, _, decisions = simulate("weighted_round_robin", ledger)
    first = decisions[0]
    chosen = next(c for c in first.choice.candidates if c.rep_id == first.rep_id)
    assert chosen.multiplier is not None
    assert f"x multiplier {chosen.multiplier:.2f}" in chosen.reason
    assert f"x multiplier {chosen.multiplier:.2f}" in first.trace
    _, _, by_load = simulate("least_loaded", ledger)
    assert all(c.multiplier is not None for c in by_load[5].choice.candidates)
    assert "per share" in by_load[5].trace


def test_neutral_multipliers_leave_weighted_rotation_as_configured() -> None:
    routing = org("weighted_round_robin")
    routing = Routing(
        {
            "ana": Rep("ana", "Ana", LONDON, weight=2),
            "ben": Rep("ben", "Ben", LONDON, weight=1),
        },
        routing.queues,
        (),
        "inbound",
    )
    assert shares(routing, {}, ("ana", "ben")) == [("ana", 2), ("ben", 1)]
    neutral = {"ana": RepLoad("ana"), "ben": RepLoad("ben")}
    assert shares(routing, neutral, ("ana", "ben")) == [("ana", 2), ("ben", 1)]
    choice = choose_rep(routing.queues["inbound"], routing, neutral, 0, START, {})
    assert choice.candidates[0].multiplier is None
    assert choice.candidates[0].reason == "next in weighted rotation (slot 1 of 3, weight 2)"


def test_the_multiplier_scales_the_configured_weight() -> None:
    routing = Routing(
        {
            "ana": Rep("ana", "Ana", LONDON, weight=2),
            "ben": Rep("ben", "Ben", LONDON, weight=1),
        },
        {},
        (),
        "inbound",
    )
    loads = {"ana": RepLoad("ana", multiplier=0.5), "ben": RepLoad("ben", multiplier=1.5)}
    # 2 x 0.5 = 1 against 1 x 1.5: 100 and 150 hundredths, reduced to 2 : 3
    assert shares(routing, loads, ("ana", "ben")) == [("ana", 2), ("ben", 3)]


def test_least_loaded_says_it_compared_load_per_share_when_any_multiplier_differs() -> None:
    routing = org("least_loaded")
    loads = {"ana": RepLoad("ana", 3), "ben": RepLoad("ben", 2, multiplier=0.5)}
    choice = choose_rep(routing.queues["inbound"], routing, loads, 0, START, {})
    assert choice.rep_id == "ana"
    assert [(c.reason, c.multiplier) for c in choice.candidates] == [
        ("lightest load per share (3 open leads)", None),
        ("eligible, 2 open leads, multiplier 0.50: 4.00 per share", 0.5),
    ]
