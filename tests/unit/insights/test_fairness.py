"""Distribution fairness on hand-counted decisions."""

from __future__ import annotations

from services.insights.domain.fairness import Decision, Member, decision_of, expected, fairness

WRR = "weighted_round_robin"


def pool(*members: tuple[str, bool, int, float | None]) -> tuple[Member, ...]:
    return tuple(Member(*m) for m in members)


def test_expected_probability_is_weight_times_multiplier_among_the_eligible() -> None:
    d = Decision("uk", "ana", WRR, pool(("ana", True, 2, None), ("ben", True, 1, 0.5),
                                        ("cy", False, 5, None)))  # fmt: skip
    got = expected(d)
    assert {rep: float(p) for rep, p in got.items()} == {"ana": 0.8, "ben": 0.2}
    least = Decision("uk", "ana", "least_loaded", d.pool)
    assert {r: float(p) for r, p in expected(least).items()} == {"ana": 2 / 3, "ben": 1 / 3}
    rr = Decision("uk", "ana", "round_robin", d.pool)
    assert {r: float(p) for r, p in expected(rr).items()} == {"ana": 0.5, "ben": 0.5}


def test_per_rep_and_per_queue_assigned_expected_and_ratio() -> None:
    both = pool(("ana", True, 3, None), ("ben", True, 1, None))  # ana 0.75, ben 0.25
    decisions = [
        Decision("uk", "ana", WRR, both),
        Decision("uk", "ana", WRR, both),
        Decision("uk", "ben", WRR, both),
        Decision("uk", "ben", WRR, both),
        Decision("us", "cy", WRR, pool(("cy", True, 1, None), ("ana", False, 3, None))),
        Decision("uk", "ana", "owner_match", None),  # no pool: not measured
    ]
    got = fairness(decisions)
    assert got["decisions"] == 5 and got["unmeasured"] == 1
    assert got["by_rep"] == {
        "ana": {"assigned": 2, "expected": 3.0, "ratio": 0.666667},
        "ben": {"assigned": 2, "expected": 1.0, "ratio": 2.0},
        "cy": {"assigned": 1, "expected": 1.0, "ratio": 1.0},
    }
    assert got["by_queue"]["uk"]["decisions"] == 4
    assert got["by_queue"]["us"]["by_rep"] == {"cy": {"assigned": 1, "expected": 1.0, "ratio": 1.0}}
    assert list(fairness(decisions, shown={"ben"})["by_rep"]) == ["ben"]


def test_a_rep_never_picked_shows_with_a_ratio_of_zero() -> None:
    both = pool(("ana", True, 1, None), ("ben", True, 1, None))
    got = fairness([Decision("uk", "ana", WRR, both)])["by_rep"]
    assert got["ben"] == {"assigned": 0, "expected": 0.5, "ratio": 0.0}


def test_a_decision_is_read_from_the_assigned_observation() -> None:
    data = {"queue": "uk", "rep_id": "ana", "strategy": WRR,
            "pool": [["ana", True, 2, 1.25], ["ben", False, None, None]]}  # fmt: skip
    assert decision_of(data) == Decision(
        "uk", "ana", WRR, (Member("ana", True, 2, 1.25), Member("ben", False, None, None))
    )
    assert decision_of({"queue": "uk", "rep_id": "ana", "strategy": "owner_match"}).pool is None
