"""Each queue strategy picks reps fairly and skips those who cannot take the lead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.router.domain.model import (
    Candidate,
    Choice,
    Queue,
    Rep,
    RepLoad,
    Routing,
    Strategy,
    WorkingHours,
)
from services.router.domain.strategies import choose_rep, weighted_ring

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 1, 13, 10, 0, tzinfo=UTC)  # Tuesday 10:00 in London
OFF_HOURS = WorkingHours(frozenset(range(5)), 12 * 60, 17 * 60)  # starts at noon


def setup(*reps: Rep, strategy: Strategy = "round_robin", **queue: Any) -> tuple[Queue, Routing]:
    q = Queue("q", "sales", "uk", tuple(r.id for r in reps), strategy, **queue)
    return q, Routing({r.id: r for r in reps}, {"q": q}, (), "q")


def reps(*ids: str, **kwargs: Any) -> tuple[Rep, ...]:
    return tuple(Rep(i, i.title(), LONDON, **kwargs) for i in ids)


def pick(
    queue: Queue,
    routing: Routing,
    cursor: int = 0,
    loads: Mapping[str, RepLoad] | None = None,
    facts: Mapping[str, Any] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Choice:
    return choose_rep(queue, routing, loads or {}, cursor, NOW, facts or {}, exclude)


def sequence(queue: Queue, routing: Routing, leads: int, cursor: int = 0) -> list[str]:
    """Route ``leads`` leads one after another, carrying the cursor and the loads along."""
    picked: list[str] = []
    loads: dict[str, RepLoad] = {}
    for _ in range(leads):
        choice = pick(queue, routing, cursor, loads)
        assert choice.rep_id is not None
        picked.append(choice.rep_id)
        loads[choice.rep_id] = loads.get(choice.rep_id, RepLoad(choice.rep_id)).plus_one()
        cursor = choice.next_cursor
    return picked


def test_round_robin_takes_members_in_config_order() -> None:
    queue, routing = setup(*reps("ana", "ben", "cara"))
    assert sequence(queue, routing, 7) == ["ana", "ben", "cara", "ana", "ben", "cara", "ana"]


@pytest.mark.parametrize("leads", [1, 2, 5, 10, 31, 100])
@pytest.mark.parametrize("start", [0, 2, 7])
def test_round_robin_counts_differ_by_at_most_one(leads: int, start: int) -> None:
    queue, routing = setup(*reps("ana", "ben", "cara", "dan"))
    counts = Counter(sequence(queue, routing, leads, cursor=start))
    assert sum(counts.values()) == leads
    assert max(counts.values()) - min(counts.get(r, 0) for r in queue.members) <= 1


@pytest.mark.parametrize(
    ("cursor", "picked", "next_cursor"),
    [(0, "ana", 1), (1, "ben", 2), (2, "cara", 3), (4, "ben", 2)],
)
def test_round_robin_starts_at_cursor_modulo_members(
    cursor: int, picked: str, next_cursor: int
) -> None:
    queue, routing = setup(*reps("ana", "ben", "cara"))
    choice = pick(queue, routing, cursor)
    assert (choice.rep_id, choice.next_cursor, choice.strategy) == (
        picked,
        next_cursor,
        "round_robin",
    )


def test_round_robin_skips_unavailable_rep_and_moves_cursor_past_the_pick() -> None:
    ana, ben, cara = reps("ana", "ben", "cara")
    ben = Rep("ben", "Ben", LONDON, online=False)
    queue, routing = setup(ana, ben, cara)
    choice = pick(queue, routing, cursor=1)
    assert choice.rep_id == "cara"
    assert choice.next_cursor == 3
    assert choice.candidates == (
        Candidate("ben", False, "unavailable: offline"),
        Candidate("cara", True, "next in rotation (position 3 of 3)"),
    )
    assert choice.explanation == (
        "round_robin picked cara in q: next in rotation (position 3 of 3); "
        "skipped ben: unavailable: offline"
    )


@pytest.mark.parametrize(
    ("weights", "ring"),
    [
        ({"a": 1}, "a"),
        ({"a": 1, "b": 1}, "ab"),
        ({"a": 3, "b": 1}, "aaba"),
        ({"a": 2, "b": 1, "c": 1}, "abca"),
        ({"a": 5, "b": 1}, "aaabaa"),
        ({"a": 3, "b": 3}, "ababab"),
        ({"a": 1, "b": 2}, "bab"),
    ],
)
def test_weighted_ring_spreads_each_rep_by_weight(weights: dict[str, int], ring: str) -> None:
    assert "".join(weighted_ring(list(weights.items()))) == ring


@pytest.mark.parametrize("rounds", [1, 2, 5])
def test_weighted_round_robin_proportions_are_exact_over_full_rings(rounds: int) -> None:
    team = (
        Rep("ana", "Ana", LONDON, weight=3),
        Rep("ben", "Ben", LONDON, weight=2),
        Rep("cara", "Cara", LONDON, weight=1),
    )
    queue, routing = setup(*team, strategy="weighted_round_robin")
    counts = Counter(sequence(queue, routing, 6 * rounds, cursor=4))
    assert counts == {"ana": 3 * rounds, "ben": 2 * rounds, "cara": rounds}


def test_weighted_round_robin_follows_the_ring_lead_after_lead() -> None:
    team = (Rep("ana", "Ana", LONDON, weight=3), Rep("ben", "Ben", LONDON))
    queue, routing = setup(*team, strategy="weighted_round_robin")
    picks = "".join(r[0] for r in sequence(queue, routing, 12))
    assert picks == "aaba" * 3


def test_weighted_round_robin_lists_each_skipped_rep_once() -> None:
    team = (Rep("ana", "Ana", LONDON, weight=3, online=False), Rep("ben", "Ben", LONDON))
    queue, routing = setup(*team, strategy="weighted_round_robin")
    choice = pick(queue, routing, cursor=0)  # ring: ana ana ben ana
    assert choice.rep_id == "ben"
    assert choice.next_cursor == 3
    assert [c.rep_id for c in choice.candidates] == ["ana", "ben"]
    assert choice.candidates[1].reason == "next in weighted rotation (slot 3 of 4, weight 1)"


def test_least_loaded_picks_the_rep_with_fewest_open_leads() -> None:
    queue, routing = setup(*reps("ana", "ben", "cara"), strategy="least_loaded")
    loads = {"ana": RepLoad("ana", 4), "ben": RepLoad("ben", 1), "cara": RepLoad("cara", 2)}
    choice = pick(queue, routing, cursor=0, loads=loads)
    assert (choice.rep_id, choice.next_cursor) == ("ben", 2)
    assert choice.candidates == (
        Candidate("ana", True, "eligible, 4 open leads"),
        Candidate("ben", True, "fewest open leads (1)"),
        Candidate("cara", True, "eligible, 2 open leads"),
    )


@pytest.mark.parametrize(
    ("cursor", "picked", "next_cursor", "order"),
    [
        (0, "ben", 2, ["ana", "ben", "cara"]),
        (2, "cara", 3, ["cara", "ana", "ben"]),
        (5, "cara", 3, ["cara", "ana", "ben"]),
    ],
)
def test_least_loaded_breaks_ties_by_rotation_from_the_cursor(
    cursor: int, picked: str, next_cursor: int, order: list[str]
) -> None:
    queue, routing = setup(*reps("ana", "ben", "cara"), strategy="least_loaded")
    loads = {"ana": RepLoad("ana", 3), "ben": RepLoad("ben", 1), "cara": RepLoad("cara", 1)}
    choice = pick(queue, routing, cursor, loads)
    assert (choice.rep_id, choice.next_cursor) == (picked, next_cursor)
    assert [c.rep_id for c in choice.candidates] == order
    assert choice.explanation.startswith(
        f"least_loaded picked {picked} in q: fewest open leads (1), first in rotation of 2 tied"
    )


def test_least_loaded_spreads_leads_evenly_from_empty() -> None:
    queue, routing = setup(*reps("ana", "ben", "cara"), strategy="least_loaded")
    assert sequence(queue, routing, 6) == ["ana", "ben", "cara", "ana", "ben", "cara"]


@pytest.mark.parametrize(
    ("rep_kwargs", "load", "eligible", "reason"),
    [
        ({"max_open": 5}, RepLoad("ana", 5, 0), False, "at capacity: max_open 5 reached (5 open)"),
        ({"max_open": 5}, RepLoad("ana", 4, 0), True, "next in rotation (position 1 of 2)"),
        (
            {"max_per_day": 10},
            RepLoad("ana", 0, 10),
            False,
            "at capacity: max_per_day 10 reached (10 assigned today)",
        ),
        ({"max_per_day": 10}, RepLoad("ana", 50, 9), True, "next in rotation (position 1 of 2)"),
        ({}, RepLoad("ana", 500, 500), True, "next in rotation (position 1 of 2)"),
    ],
)
def test_capacity_caps_skip_a_full_rep(
    rep_kwargs: dict[str, Any], load: RepLoad, eligible: bool, reason: str
) -> None:
    queue, routing = setup(Rep("ana", "Ana", LONDON, **rep_kwargs), *reps("ben"))
    choice = pick(queue, routing, loads={"ana": load})
    assert choice.candidates[0] == Candidate("ana", eligible, reason)
    assert choice.rep_id == ("ana" if eligible else "ben")


@pytest.mark.parametrize(
    ("ana", "queue_kwargs", "facts", "reason"),
    [
        (
            Rep("ana", "Ana", LONDON),
            {"required_skills": frozenset({"enterprise"})},
            {},
            "missing skill enterprise",
        ),
        (
            Rep("ana", "Ana", LONDON, skills=frozenset({"retail"})),
            {"required_skills": frozenset({"enterprise", "saas"})},
            {},
            "missing skills enterprise, saas",
        ),
        (
            Rep("ana", "Ana", LONDON, languages=frozenset({"en", "fr"})),
            {"match_language": True},
            {"language": "de"},
            "language mismatch (lead speaks de, rep speaks en, fr)",
        ),
        (
            Rep("ana", "Ana", LONDON),
            {"match_language": True},
            {"language": "DE"},
            "language mismatch (lead speaks de, rep speaks no languages listed)",
        ),
        (
            Rep("ana", "Ana", LONDON, working_hours=OFF_HOURS),
            {},
            {},
            "unavailable: off hours (10:00 Europe/London, works 12:00-17:00)",
        ),
    ],
)
def test_skills_language_and_availability_skip_a_rep(
    ana: Rep, queue_kwargs: dict[str, Any], facts: dict[str, Any], reason: str
) -> None:
    ben = Rep(
        "ben", "Ben", LONDON, skills=frozenset({"enterprise", "saas"}), languages=frozenset({"de"})
    )
    queue, routing = setup(ana, ben, **queue_kwargs)
    choice = pick(queue, routing, facts=facts)
    assert choice.candidates[0] == Candidate("ana", False, reason)
    assert choice.rep_id == "ben"


@pytest.mark.parametrize(
    ("match_language", "facts"),
    [(False, {"language": "de"}), (True, {}), (True, {"language": ""}), (True, {"language": "EN"})],
)
def test_language_only_restricts_when_the_queue_matches_and_the_lead_has_one(
    match_language: bool, facts: dict[str, Any]
) -> None:
    queue, routing = setup(
        Rep("ana", "Ana", LONDON, languages=frozenset({"en"})), match_language=match_language
    )
    assert pick(queue, routing, facts=facts).rep_id == "ana"


def test_excluded_rep_is_skipped_before_anything_else() -> None:
    ana = Rep("ana", "Ana", LONDON, online=False)
    queue, routing = setup(ana, *reps("ben"))
    choice = pick(queue, routing, exclude=frozenset({"ana"}))
    assert choice.candidates[0] == Candidate("ana", False, "excluded (already had this lead)")
    assert choice.rep_id == "ben"


@pytest.mark.parametrize("strategy", ["round_robin", "weighted_round_robin", "least_loaded"])
def test_nobody_eligible_leaves_the_cursor_and_explains_every_skip(strategy: Strategy) -> None:
    team = (Rep("ana", "Ana", LONDON, online=False), Rep("ben", "Ben", LONDON, max_open=1))
    queue, routing = setup(*team, strategy=strategy)
    choice = pick(queue, routing, cursor=7, loads={"ben": RepLoad("ben", 1, 1)})
    assert choice.rep_id is None
    assert choice.next_cursor == 7
    assert {c.rep_id: c.eligible for c in choice.candidates} == {"ana": False, "ben": False}
    assert choice.explanation.startswith(f"{strategy}: nobody eligible in q (")
    assert "ana: unavailable: offline" in choice.explanation
    assert "ben: at capacity: max_open 1 reached (1 open)" in choice.explanation


def test_naive_now_is_refused() -> None:
    queue, routing = setup(*reps("ana"))
    with pytest.raises(ValueError, match="timezone-aware"):
        choose_rep(queue, routing, {}, 0, datetime(2026, 1, 13, 10), {})


def test_a_share_strategy_records_every_member_in_its_pool() -> None:
    """Candidates stop at the pick; the pool lists every member as it was at the decision,
    so distribution fairness knows who else could have taken the lead."""
    team = (Rep("ana", "Ana", LONDON, weight=2), Rep("ben", "Ben", LONDON, online=False),
            Rep("cy", "Cy", LONDON, weight=3))  # fmt: skip
    queue, routing = setup(*team, strategy="weighted_round_robin")
    loads = {"cy": RepLoad("cy", multiplier=0.5)}
    choice = pick(queue, routing, cursor=0, loads=loads)
    assert choice.rep_id == "ana"
    assert [c.rep_id for c in choice.candidates] == ["ana"]
    assert [(c.rep_id, c.eligible, c.multiplier) for c in choice.pool] == [
        ("ana", True, None), ("ben", False, None), ("cy", True, 0.5),
    ]  # fmt: skip
    assert choice.pool[2].reason == "eligible, not reached"
    plain, routing = setup(*team, strategy="round_robin")
    assert [(c.rep_id, c.eligible, c.multiplier) for c in pick(plain, routing, loads=loads).pool] \
        == [("ana", True, None), ("ben", False, None), ("cy", True, None)]  # fmt: skip
    least, routing = setup(*team, strategy="least_loaded")
    assert [c.rep_id for c in pick(least, routing, loads=loads).pool] == ["ana", "ben", "cy"]


def test_the_trace_pool_carries_weights_from_the_picking_attempt() -> None:
    from services.router.domain.routing import QueueAttempt
    from services.router.handlers.routing import candidate_traces, pool_trace

    team = (Rep("ana", "Ana", LONDON, weight=2), Rep("cy", "Cy", LONDON, weight=3))
    queue, routing = setup(*team, strategy="weighted_round_robin")
    empty = QueueAttempt("first", Choice(None, 0, "round_robin", (), "nobody"))
    attempts = (empty, QueueAttempt("q", pick(queue, routing)))
    pool = pool_trace(routing, attempts, "cy")  # the ring starts cy ana cy ...
    assert pool is not None
    assert [(c.rep_id, c.weight, c.reason) for c in pool] == [
        ("ana", 2, "q: eligible, not reached"),
        ("cy", 3, "q: next in weighted rotation (slot 1 of 5, weight 3)"),
    ]
    assert [c.weight for c in candidate_traces(attempts, routing)] == [3]
    assert pool_trace(routing, (empty,), "cy") is None
